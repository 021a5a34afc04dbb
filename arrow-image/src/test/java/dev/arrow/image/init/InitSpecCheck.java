package dev.arrow.image.init;

import dev.arrow.image.HostCommand;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

/**
 * Init's own parser of the spec file, run on the host: {@code arrow-init --check-spec FILE} parses
 * FILE as init would at boot and prints what it read (or why it refused). The tests of the spec
 * file's encoding check Java's side against it.
 */
final class InitSpecCheck {
    private final Path dir;
    private final Path init;

    private InitSpecCheck(Path dir, Path init) {
        this.dir = dir;
        this.init = init;
    }

    /** Extracts the init binary into {@code dir}, where the spec files will be written too. */
    static InitSpecCheck extractTo(Path dir) throws IOException {
        Path init = dir.resolve("arrow-init");
        Files.write(init, ArrowInit.load());
        Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwx------"));
        return new InitSpecCheck(dir, init);
    }

    /** Runs {@code arrow-init --check-spec} on {@code spec} written to a file. */
    HostCommand.Result check(byte[] spec) throws IOException {
        Path file = Files.createTempFile(dir, "spec", "");
        Files.write(file, spec);
        return HostCommand.run(List.of(init.toString(), "--check-spec", file.toString()), dir, null, Duration.ofSeconds(30));
    }

    /** A spec file written out by hand: the magic, then each part NUL-terminated. */
    static byte[] raw(String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(SpecFile.MAGIC.getBytes(StandardCharsets.US_ASCII));
        for (String p : parts) {
            out.writeBytes(p.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }
}
