package dev.arrow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.spi.ArrowLauncher;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Tier 1: {@link Arrow#hostSupport()} without a backend, the SPI's default answer, and what the value derives. */
class HostSupportTest {

    @Test
    void withoutABackendOnTheClassPathTheHostIsNotReadyAndTheProblemNamesTheArtifact() {
        // arrow-core's tests have no backend registered through ServiceLoader
        HostSupport support = Arrow.hostSupport();
        assertThat(support.backend()).isEmpty();
        assertThat(support.kvm()).isEqualTo(HostSupport.Kvm.NOT_PROBED);
        assertThat(support.isReady()).isFalse();
        assertThat(support.canBootLinux()).isFalse();
        assertThat(support.problems()).singleElement().asString()
                .startsWith("no Arrow backend is available").contains("dev.arrow:arrow-backend-kvm");
    }

    @Test
    void aBackendThatDoesNotProbeTheHostSaysSoWithoutAProblem() {
        ArrowLauncher silent = (spec, out, err) -> {
            throw new AssertionError("hostSupport() must not launch");
        };
        HostSupport support = silent.hostSupport();
        assertThat(support.backend()).contains(silent.getClass().getName());
        assertThat(support.kvm()).isEqualTo(HostSupport.Kvm.NOT_PROBED);
        assertThat(support.isReady()).isTrue();
        assertThat(support.limitations()).singleElement().asString().contains("does not report what this host supports");
    }

    @Test
    void onlyAPermittedKvmOfAKindThatBootsLinuxCanBootLinux() {
        for (HostSupport.Kvm kvm : HostSupport.Kvm.values()) {
            assertThat(support(kvm, true).canBootLinux()).as("%s, permitted", kvm).isEqualTo(kvm.canBootLinux());
            assertThat(support(kvm, false).canBootLinux()).as("%s, not permitted", kvm).isFalse();
        }
        assertThat(HostSupport.Kvm.HARDWARE_AMD.canBootLinux()).isTrue();
        assertThat(HostSupport.Kvm.PVM.canBootLinux()).isFalse();
        assertThat(support(HostSupport.Kvm.NONE, false).kvmPresent()).isFalse();
        assertThat(support(HostSupport.Kvm.PVM, false).kvmPresent()).isTrue();
    }

    @Test
    void readyMeansNoProblemLimitationsAside() {
        HostSupport ready = new HostSupport(Optional.of("b"), HostSupport.Kvm.HARDWARE_INTEL, true,
                Optional.of(Path.of("/k")), Optional.empty(), List.of(), List.of("passt not found"));
        assertThat(ready.isReady()).isTrue();
        HostSupport notReady = new HostSupport(Optional.of("b"), HostSupport.Kvm.HARDWARE_INTEL, true,
                Optional.empty(), Optional.empty(), List.of("no kernel"), List.of());
        assertThat(notReady.isReady()).isFalse();
    }

    private static HostSupport support(HostSupport.Kvm kvm, boolean permitted) {
        return new HostSupport(Optional.of("b"), kvm, permitted, Optional.empty(), Optional.empty(), List.of(), List.of());
    }
}
