package dev.arrow.image.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/package-kernel.sh (arrow-kernel's build) against {@link KernelArtifact}, the reader of what it
 * writes: a fake cached kernel packaged by the script is found, checked and extracted byte for byte; with no
 * cached kernel the build fails naming scripts/setup.sh.
 */
class PackageKernelScriptTest {
    private static Path root;

    @TempDir
    Path tmp;

    @BeforeAll
    static void findScript() {
        assumeTrue(Files.exists(Path.of("/usr/src/linux-source-6.1.tar.xz")),
                "linux-source-6.1 is not installed (run scripts/setup.sh): the script's cache key needs it");
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("scripts/package-kernel.sh"))) {
                root = dir;
                return;
            }
        }
        throw new AssertionError("scripts/package-kernel.sh not found above " + Path.of("").toAbsolutePath());
    }

    private record Result(int status, String output) {
    }

    private Result packageInto(Path out, Path cache) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(root.resolve("scripts/package-kernel.sh").toString(), out.toString())
                .redirectErrorStream(true);
        pb.environment().put("ARROW_CACHE", cache.toString());
        pb.environment().remove("ARROW_KERNEL_FRAGMENTS");
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), output);
    }

    private static String key() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(root.resolve("scripts/build-kernel.sh").toString(), "--key", "guest").start();
        String key = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor()).isZero();
        return key;
    }

    @Test
    void whatTheScriptPackagesIsWhatTheLocatorExtracts() throws Exception {
        Path cache = tmp.resolve("cache");
        Path build = Files.createDirectories(cache.resolve("kernel/guest-" + key()));
        byte[] vmlinux = new byte[200_000];
        new Random(7).nextBytes(vmlinux);
        Files.write(build.resolve("vmlinux"), vmlinux);
        Files.writeString(build.resolve(".config"), "CONFIG_TEST=y\n");
        Files.writeString(build.resolve("build-info"), "flavour=guest\nsource=linux-source-6.1 6.1.0-test\n");
        Path src = cache.resolve("src/linux-source-6.1-6.1.0-test");
        for (String f : List.of("COPYING", "LICENSES/preferred/GPL-2.0", "LICENSES/exceptions/Linux-syscall-note")) {
            Files.createDirectories(src.resolve(f).getParent());
            Files.writeString(src.resolve(f), "licence text " + f);
        }
        Path classes = tmp.resolve("classes");
        Result r = packageInto(classes.resolve(KernelArtifact.INDEX).getParent(), cache);
        assertThat(r.status()).as(r.output()).isZero();

        KernelArtifact artifact = KernelArtifact.read(classes.resolve(KernelArtifact.INDEX).toUri().toURL());
        assertThat(artifact.source()).isEqualTo("linux-source-6.1 6.1.0-test");
        assertThat(artifact.key()).isEqualTo(key());
        Path extracted = new KernelExtractor(List.of(tmp.resolve("extracted"))).extract(artifact);
        assertThat(Files.readAllBytes(extracted)).isEqualTo(vmlinux);
        Path dir = classes.resolve(KernelArtifact.INDEX).getParent();
        assertThat(Files.readString(dir.resolve("config"))).isEqualTo("CONFIG_TEST=y\n");
        assertThat(Files.readString(dir.resolve("SOURCE.md")))
                .contains("GNU General Public License version 2", "linux-source-6.1 6.1.0-test", "apt-get source linux=6.1.0-test");
        assertThat(dir.resolve("licenses/GPL-2.0")).hasContent("licence text LICENSES/preferred/GPL-2.0");
    }

    @Test
    void withoutTheCachedKernelTheBuildFailsNamingSetup() throws Exception {
        Result r = packageInto(tmp.resolve("classes"), tmp.resolve("empty-cache"));
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.output()).contains("the guest kernel of this checkout (key " + key() + ") is not built",
                "run scripts/setup.sh as root");
        assertThat(tmp.resolve("classes")).doesNotExist();
    }
}
