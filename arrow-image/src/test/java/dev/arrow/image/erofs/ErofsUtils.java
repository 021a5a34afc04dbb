package dev.arrow.image.erofs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.image.HostCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Test helper: Debian's erofs-utils (1.5 in Debian 12), the reference reader images are checked against. Missing
 * tools fail the test: they are part of the set-up, not optional.
 */
public final class ErofsUtils {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private ErofsUtils() {
    }

    /** Fails unless fsck.erofs and dump.erofs are installed. */
    public static void requireInstalled() {
        for (String tool : List.of("fsck.erofs", "dump.erofs")) {
            assertThat(HostCommand.available(tool))
                    .as(tool + " is not installed: run scripts/setup.sh (it installs Debian's erofs-utils), or apt-get install erofs-utils")
                    .isTrue();
        }
    }

    /** Runs fsck.erofs on {@code image}, which must pass. */
    public static void fsck(Path image) {
        passed(run(List.of("fsck.erofs", image.toString())), "fsck.erofs " + image);
    }

    /** Extracts {@code image} into the new directory {@code into} with fsck.erofs, which must pass, keeping modes. */
    public static void extract(Path image, Path into) throws IOException {
        Files.createDirectories(into.getParent());
        passed(run(List.of("fsck.erofs", "--extract=" + into, "--preserve-perms", image.toString())), "fsck.erofs --extract " + image);
    }

    /** Exit code 0 and no error line: fsck.erofs 1.5 reports a bad superblock checksum as "<E>" yet exits with 0. */
    private static void passed(HostCommand.Result r, String what) {
        assertThat(r.exitCode()).as("%s: %s%s", what, r.stdoutText(), r.stderr()).isZero();
        assertThat(r.stdoutText() + r.stderr()).as(what).doesNotContain("<E>");
    }

    /** What dump.erofs says of {@code path} in {@code image} (for example "Layout: 0", FLAT_PLAIN). */
    public static String dump(Path image, String path) {
        HostCommand.Result r = run(List.of("dump.erofs", "--path=" + path, image.toString()));
        assertThat(r.exitCode()).as("dump.erofs --path=%s %s: %s%s", path, image, r.stdoutText(), r.stderr()).isZero();
        return r.stdoutText();
    }

    /** What dump.erofs says of the superblock of {@code image}. */
    public static String superblock(Path image) {
        HostCommand.Result r = run(List.of("dump.erofs", "-s", image.toString()));
        assertThat(r.exitCode()).as("dump.erofs -s %s: %s%s", image, r.stdoutText(), r.stderr()).isZero();
        return r.stdoutText();
    }

    private static HostCommand.Result run(List<String> command) {
        return HostCommand.run(command, null, null, TIMEOUT);
    }
}
