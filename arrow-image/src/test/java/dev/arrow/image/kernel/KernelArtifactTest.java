package dev.arrow.image.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: finding the packaged kernel's index on a class path and reading it. */
class KernelArtifactTest {
    @TempDir
    Path tmp;

    @Test
    void theIndexOnTheClassPathIsFoundAndRead() throws IOException {
        FakeKernelArtifact fake = FakeKernelArtifact.create(tmp.resolve("classes"), 1000);
        try (URLClassLoader loader = new URLClassLoader(new URL[] {fake.root.toUri().toURL()}, null)) {
            KernelArtifact a = KernelArtifact.find(loader).orElseThrow();
            assertThat(a.sha256()).isEqualTo(FakeKernelArtifact.sha256(fake.vmlinux));
            assertThat(a.size()).isEqualTo(1000);
            assertThat(a.key()).isEqualTo("0123456789abcdef");
            assertThat(a.source()).isEqualTo("linux-source-6.1 6.1.0-test");
            assertThat(a.image()).isEqualTo(fake.image().toUri().toURL());
        }
    }

    @Test
    void withoutTheJarThereIsNoPackagedKernel() throws IOException {
        try (URLClassLoader loader = new URLClassLoader(new URL[] {Files.createDirectories(tmp.resolve("empty")).toUri().toURL()}, null)) {
            assertThat(KernelArtifact.find(loader)).isEmpty();
        }
    }

    @Test
    void aDamagedIndexNamesTheEntryAndTheFix() throws IOException {
        FakeKernelArtifact fake = FakeKernelArtifact.create(tmp.resolve("classes"), 1000);
        Files.writeString(fake.index(), "image=vmlinux.gz\nsize=1000\nkey=k\nsource=s\n");
        assertThatThrownBy(fake::artifact).isInstanceOf(KernelLookupException.class)
                .hasMessageContaining("has no sha256= entry", "the dev.arrow:arrow-kernel jar is damaged");
        fake.writeIndex("ABC", 1000);
        assertThatThrownBy(fake::artifact).hasMessageContaining("has no valid sha256 (64 lower-case hex digits)");
        fake.writeIndex(FakeKernelArtifact.sha256(fake.vmlinux), KernelArtifact.MAX_SIZE + 1);
        assertThatThrownBy(fake::artifact).hasMessageContaining("gives size " + (KernelArtifact.MAX_SIZE + 1));
        Files.writeString(fake.index(), "image=../../../etc/passwd\nsha256=" + FakeKernelArtifact.sha256(fake.vmlinux)
                + "\nsize=1000\nkey=k\nsource=s\n");
        assertThatThrownBy(fake::artifact).hasMessageContaining("not a file beside it");
    }
}
