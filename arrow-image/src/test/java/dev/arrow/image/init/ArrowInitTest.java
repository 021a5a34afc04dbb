package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.image.HostCommand;
import dev.arrow.image.elf.StaticBinary;
import dev.arrow.image.elf.StaticBinaryCheck;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArrowInitTest {
    @TempDir
    Path tmp;

    @Test
    void bundledInitIsAStaticX8664Program() throws IOException {
        Path init = tmp.resolve("init");
        Files.write(init, ArrowInit.load());
        assertThat(StaticBinaryCheck.check(init).kind()).isIn(StaticBinary.Kind.STATIC_EXECUTABLE, StaticBinary.Kind.STATIC_PIE);
    }

    @Test
    void initRefusesToRunOutsideAGuest() throws IOException {
        Path init = tmp.resolve("init");
        Files.write(init, ArrowInit.load());
        Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwx------"));
        HostCommand.Result r = HostCommand.run(List.of(init.toString()), tmp, null, Duration.ofSeconds(30));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr()).contains("only as PID 1");
    }
}
