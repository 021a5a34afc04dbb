package dev.arrow.image.kernel;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernel cache key of scripts/build-kernel.sh: the same fragment gives the same key (no
 * rebuild), any change to a fragment gives a new key (exactly one rebuild, of that flavour).
 */
class KernelBuildKeyTest {
    private static Path script;

    @BeforeAll
    static void findScript() {
        assumeTrue(Files.exists(Path.of("/usr/src/linux-source-6.1.tar.xz")),
                "linux-source-6.1 is not installed (run scripts/setup.sh)");
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("scripts/build-kernel.sh"))) {
                script = dir.resolve("scripts/build-kernel.sh");
                return;
            }
        }
        throw new AssertionError("scripts/build-kernel.sh not found above " + Path.of("").toAbsolutePath());
    }

    private static String key(String flavour, Path fragments) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(script.toString(), "--key", flavour).redirectErrorStream(true);
        pb.environment().put("ARROW_KERNEL_FRAGMENTS", fragments.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).matches("[0-9a-f]{16}");
        return out;
    }

    private static Path copyOfFragments(Path dir) throws IOException {
        Path real = script.getParent().getParent().resolve("kernel");
        for (String f : new String[] {"guest.config", "lab.config"}) {
            Files.copy(real.resolve(f), dir.resolve(f));
        }
        for (String flavour : new String[] {"guest", "lab"}) {
            Path patches = real.resolve(flavour + ".patches");
            if (Files.isDirectory(patches)) {
                Files.createDirectories(dir.resolve(flavour + ".patches"));
                try (var files = Files.list(patches)) {
                    for (Path p : (Iterable<Path>) files::iterator) {
                        Files.copy(p, dir.resolve(flavour + ".patches").resolve(p.getFileName()));
                    }
                }
            }
        }
        return dir;
    }

    @Test
    void unchangedFragmentKeepsItsKey(@TempDir Path dir) throws Exception {
        Path fragments = copyOfFragments(dir);
        assertThat(key("guest", fragments)).isEqualTo(key("guest", fragments));
        assertThat(key("guest", fragments)).isEqualTo(key("guest", script.getParent().getParent().resolve("kernel")));
    }

    @Test
    void changedFragmentChangesOnlyItsOwnKey(@TempDir Path dir) throws Exception {
        Path fragments = copyOfFragments(dir);
        String guest = key("guest", fragments);
        String lab = key("lab", fragments);
        Files.writeString(fragments.resolve("guest.config"), "CONFIG_IPV6=y\n", StandardOpenOption.APPEND);
        assertThat(key("guest", fragments)).isNotEqualTo(guest);
        assertThat(key("lab", fragments)).isEqualTo(lab);
    }

    @Test
    void aChangedOrAddedPatchChangesOnlyItsFlavoursKey(@TempDir Path dir) throws Exception {
        Path fragments = copyOfFragments(dir);
        String guest = key("guest", fragments);
        String lab = key("lab", fragments);
        Path patches = Files.createDirectories(fragments.resolve("guest.patches"));
        Files.writeString(patches.resolve("zz-extra.patch"), "--- a/Makefile\n+++ b/Makefile\n");
        String withExtra = key("guest", fragments);
        assertThat(withExtra).isNotEqualTo(guest);
        Files.writeString(patches.resolve("zz-extra.patch"), "--- a/Kconfig\n+++ b/Kconfig\n");
        assertThat(key("guest", fragments)).isNotEqualTo(withExtra).isNotEqualTo(guest);
        assertThat(key("lab", fragments)).isEqualTo(lab);
    }

    @Test
    void flavoursHaveDifferentKeys(@TempDir Path dir) throws Exception {
        Path fragments = copyOfFragments(dir);
        assertThat(key("guest", fragments)).isNotEqualTo(key("lab", fragments));
    }
}
