package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.Arrow;
import dev.arrow.HostSupport;
import dev.arrow.image.kernel.KernelExtractor;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.net.NetworkBackendException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: what the KVM backend says about a host ({@link Arrow#hostSupport()}), on this host and on made-up ones. */
class KvmHostProbeTest {
    private static final Supplier<Path> PASST_INSTALLED = () -> Path.of("/usr/bin/passt");

    @TempDir
    Path tmp;

    @Test
    void onThisHostTheAnswerAgreesWithHostKvm() {
        HostKvm host = HostKvm.detect();
        HostSupport support = Arrow.hostSupport();
        assertThat(support.backend()).contains(KvmLauncher.class.getName());
        assertThat(support.kvmPresent()).isEqualTo(host != HostKvm.NONE);
        assertThat(support.kvmPermitted()).isEqualTo(host.usable());
        assertThat(support.canBootLinux()).isEqualTo(host.canBootLinux());
        assertThat(support.kvm()).isEqualTo(KvmHostProbe.kvmOf(HostKvm.detectKind()));
        if (!host.canBootLinux()) {
            assertThat(support.isReady()).isFalse();
        }
        if (host == HostKvm.NONE) {
            assertThat(support.kvm()).isEqualTo(HostSupport.Kvm.NONE);
            assertThat(support.problems().get(0)).startsWith("/dev/kvm does not exist, so this host offers no KVM");
        }
        assertThat(support.isReady()).isEqualTo(host.canBootLinux() && support.kernel().isPresent());
    }

    @Test
    void aHardwareHostWithAKernelIsReadyAndSaysWhereTheKernelIs() throws Exception {
        Path kernel = KvmLauncherHostCheckTest.elfKernelHeader(tmp.resolve("vmlinux"));
        HostSupport support = KvmHostProbe.probe(HostKvm.HARDWARE_AMD, HostKvm.HARDWARE_AMD, kernelAt(kernel), PASST_INSTALLED);
        assertThat(support.isReady()).isTrue();
        assertThat(support.canBootLinux()).isTrue();
        assertThat(support.kvm()).isEqualTo(HostSupport.Kvm.HARDWARE_AMD);
        assertThat(support.kernel()).contains(kernel);
        assertThat(support.passt()).contains(Path.of("/usr/bin/passt"));
        assertThat(support.problems()).isEmpty();
        assertThat(support.limitations()).isEmpty();
    }

    @Test
    void aPvmHostThisUserMayNotOpenListsBothProblemsBeforeTheMissingKernel() {
        HostSupport support = KvmHostProbe.probe(HostKvm.NO_PERMISSION, HostKvm.PVM, noKernel(), PASST_INSTALLED);
        assertThat(support.kvm()).isEqualTo(HostSupport.Kvm.PVM);
        assertThat(support.kvmPresent()).isTrue();
        assertThat(support.kvmPermitted()).isFalse();
        assertThat(support.kernel()).isEmpty();
        assertThat(support.problems()).hasSize(3);
        assertThat(support.problems().get(0)).startsWith("this host's KVM (PVM, no hardware virtualization) cannot boot");
        assertThat(support.problems().get(1)).startsWith("permission denied opening /dev/kvm (EACCES)");
        assertThat(support.problems().get(2)).startsWith("no Arrow guest kernel found");
    }

    @Test
    void aKernelFileThatIsNoKernelIsAProblem() throws Exception {
        Path notes = java.nio.file.Files.writeString(tmp.resolve("notes.txt"), "not a kernel\n");
        HostSupport support = KvmHostProbe.probe(HostKvm.HARDWARE_INTEL, HostKvm.HARDWARE_INTEL, kernelAt(notes), PASST_INSTALLED);
        assertThat(support.isReady()).isFalse();
        assertThat(support.kernel()).isEmpty();
        assertThat(support.problems()).singleElement().asString().contains(notes + " is not a Linux kernel image");
    }

    @Test
    void missingPasstLimitsNetworkingButLeavesTheHostReady() throws Exception {
        Path kernel = KvmLauncherHostCheckTest.elfKernelHeader(tmp.resolve("vmlinux"));
        Supplier<Path> missing = () -> {
            throw new NetworkBackendException(NetworkBackendException.Reason.PASST_MISSING, "passt not found: install it");
        };
        HostSupport support = KvmHostProbe.probe(HostKvm.HARDWARE_INTEL, HostKvm.HARDWARE_INTEL, kernelAt(kernel), missing);
        assertThat(support.isReady()).isTrue();
        assertThat(support.passt()).isEmpty();
        assertThat(support.limitations()).containsExactly("passt not found: install it");
    }

    @Test
    void noDevKvmIsOneProblem() {
        HostSupport support = KvmHostProbe.probe(HostKvm.NONE, HostKvm.NONE, noKernel(), PASST_INSTALLED);
        assertThat(support.kvmPresent()).isFalse();
        assertThat(support.problems()).hasSize(2);
        assertThat(support.problems().get(0)).startsWith("/dev/kvm does not exist");
    }

    private KernelLocator kernelAt(Path kernel) {
        return new KernelLocator(Map.of(KernelLocator.PROPERTY, kernel.toString())::get, name -> null, tmp.resolve("cache"),
                Optional::empty, new KernelExtractor(List.of(tmp.resolve("extracted"))));
    }

    private KernelLocator noKernel() {
        return new KernelLocator(name -> null, name -> null, tmp.resolve("empty-cache"), Optional::empty,
                new KernelExtractor(List.of(tmp.resolve("extracted"))));
    }
}
