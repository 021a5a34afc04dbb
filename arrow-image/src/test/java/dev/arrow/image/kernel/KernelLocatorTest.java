package dev.arrow.image.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelLocatorTest {
    @TempDir
    Path tmp;
    final Map<String, String> props = new HashMap<>();
    final Map<String, String> env = new HashMap<>();
    Optional<KernelArtifact> packaged = Optional.empty();

    private KernelLocator locator() {
        return new KernelLocator(props::get, env::get, tmp.resolve("cache"), () -> packaged,
                new KernelExtractor(List.of(tmp.resolve("extracted"))));
    }

    private Path cached(String name, String date, Instant mtime) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("cache/kernel").resolve(name));
        Path vmlinux = Files.writeString(dir.resolve("vmlinux"), "kernel " + name);
        if (date != null) Files.writeString(dir.resolve("build-info"), "flavour=guest\ndate=" + date + "\n");
        Files.setLastModifiedTime(vmlinux, FileTime.from(mtime));
        return vmlinux;
    }

    @Test
    void nothingConfiguredOrCachedGivesTheSetupHint() {
        assertThatThrownBy(() -> locator().locate())
                .isInstanceOf(KernelLookupException.class)
                .hasMessageStartingWith("no Arrow guest kernel found: add the dependency dev.arrow:arrow-kernel (arrow-backend-kvm brings it),"
                        + " run scripts/setup.sh (builds it into ~/.cache/arrow/kernel) or pass .kernel(path)")
                .hasMessageContaining(tmp.resolve("cache/kernel").toString());
    }

    @Test
    void newestCachedBuildWinsByBuildInfoDate() throws IOException {
        cached("guest-aaaa", "2026-01-02T10:00:00+00:00", Instant.parse("2026-05-01T00:00:00Z"));
        Path newer = cached("guest-bbbb", "2026-03-01T10:00:00+01:00", Instant.parse("2026-01-01T00:00:00Z"));
        cached("lab-cccc", "2027-01-01T00:00:00+00:00", Instant.parse("2027-01-01T00:00:00Z"));
        GuestKernel k = locator().locate();
        assertThat(k.path()).isEqualTo(newer);
        assertThat(k.source()).isEqualTo(GuestKernel.Source.CACHE);
    }

    @Test
    void fileTimeDecidesWithoutBuildInfo() throws IOException {
        cached("guest-old", null, Instant.parse("2025-01-01T00:00:00Z"));
        Path recent = cached("guest-new", "not a date", Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(locator().locate().path()).isEqualTo(recent);
    }

    @Test
    void cacheDirectoryWithoutVmlinuxIsIgnored() throws IOException {
        Files.createDirectories(tmp.resolve("cache/kernel/guest-empty"));
        assertThatThrownBy(() -> locator().locate()).isInstanceOf(KernelLookupException.class);
    }

    @Test
    void systemPropertyBeatsEnvironmentBeatsCache() throws IOException {
        cached("guest-x", "2026-01-01T00:00:00Z", Instant.now());
        Path a = Files.writeString(tmp.resolve("a"), "a");
        Path b = Files.writeString(tmp.resolve("b"), "b");
        env.put(KernelLocator.ENV, b.toString());
        assertThat(locator().locate()).isEqualTo(new GuestKernel(b, GuestKernel.Source.ENVIRONMENT));
        props.put(KernelLocator.PROPERTY, a.toString());
        assertThat(locator().locate()).isEqualTo(new GuestKernel(a, GuestKernel.Source.SYSTEM_PROPERTY));
    }

    @Test
    void thePackagedKernelComesAfterTheOverridesAndBeforeTheCache() throws IOException {
        cached("guest-x", "2026-01-01T00:00:00Z", Instant.now());
        FakeKernelArtifact fake = FakeKernelArtifact.create(tmp.resolve("classes"), 4096);
        packaged = Optional.of(fake.artifact());
        GuestKernel k = locator().locate();
        assertThat(k.source()).isEqualTo(GuestKernel.Source.PACKAGED);
        assertThat(k.path().getParent()).isEqualTo(tmp.resolve("extracted"));
        assertThat(Files.readAllBytes(k.path())).isEqualTo(fake.vmlinux);
        Path b = Files.writeString(tmp.resolve("b"), "b");
        env.put(KernelLocator.ENV, b.toString());
        assertThat(locator().locate()).isEqualTo(new GuestKernel(b, GuestKernel.Source.ENVIRONMENT));
    }

    @Test
    void aCorruptPackagedKernelIsAnErrorNotAFallThroughToTheCache() throws IOException {
        cached("guest-x", "2026-01-01T00:00:00Z", Instant.now());
        FakeKernelArtifact fake = FakeKernelArtifact.create(tmp.resolve("classes"), 4096);
        fake.writeIndex(FakeKernelArtifact.sha256(new byte[0]), 4096);
        packaged = Optional.of(fake.artifact());
        assertThatThrownBy(() -> locator().locate()).isInstanceOf(KernelLookupException.class).hasMessageContaining("is corrupt");
    }

    @Test
    void configuredButMissingKernelIsAnErrorNotAFallThrough() throws IOException {
        cached("guest-x", "2026-01-01T00:00:00Z", Instant.now());
        props.put(KernelLocator.PROPERTY, tmp.resolve("gone").toString());
        assertThatThrownBy(() -> locator().locate()).isInstanceOf(KernelLookupException.class)
                .hasMessageContaining("system property arrow.kernel").hasMessageContaining("does not exist");
        props.clear();
        env.put(KernelLocator.ENV, tmp.toString());
        assertThatThrownBy(() -> locator().locate()).hasMessageContaining("ARROW_KERNEL").hasMessageContaining("not a regular file");
    }

    @Test
    void userSuppliedKernelMustExist() throws IOException {
        Path k = Files.writeString(tmp.resolve("vmlinux"), "k");
        assertThat(KernelLocator.userSupplied(k)).isEqualTo(new GuestKernel(k, GuestKernel.Source.USER));
        assertThatThrownBy(() -> KernelLocator.userSupplied(tmp.resolve("none")))
                .isInstanceOf(KernelLookupException.class).hasMessageContaining(".kernel(path)").hasMessageContaining("does not exist");
    }
}
