package dev.arrow.backend.kvm;

import dev.arrow.InvalidBinaryException;
import dev.arrow.InvalidKernelException;
import dev.arrow.KernelNotFoundException;
import dev.arrow.KvmPermissionException;
import dev.arrow.KvmUnavailableException;
import dev.arrow.NoHardwareVirtualizationException;
import dev.arrow.config.ArrowSpec;
import dev.arrow.kvm.HostKvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Tier 1: the KVM backend's checks of the host and of the user's inputs, and their messages. */
class KvmLauncherHostCheckTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final Path LS = Path.of("/bin/ls");

    @TempDir
    Path tmp;

    @Test
    void aHostWithoutDevKvmNamesTheModulesToLoad() {
        assertThatThrownBy(() -> KvmLauncher.checkHost(HostKvm.NONE))
                .isInstanceOf(KvmUnavailableException.class)
                .hasMessageStartingWith("/dev/kvm does not exist, so this host offers no KVM")
                .hasMessageContaining("load the kvm_intel or kvm_amd module");
    }

    @Test
    void noPermissionOnDevKvmNamesTheGroupToJoin() {
        String user = System.getProperty("user.name");
        assertThatThrownBy(() -> KvmLauncher.checkHost(HostKvm.NO_PERMISSION))
                .isInstanceOf(KvmPermissionException.class)
                .hasMessage("permission denied opening /dev/kvm (EACCES) as user " + user
                        + "; add the user to group kvm (sudo usermod -aG kvm " + user + ") and log in again");
    }

    @Test
    void aPvmHostSaysItCannotBootLinuxAndWhatWould() {
        assertThatThrownBy(() -> KvmLauncher.checkHost(HostKvm.PVM))
                .isInstanceOf(NoHardwareVirtualizationException.class)
                .hasMessage("this host's KVM (PVM, no hardware virtualization) cannot boot a Linux guest;"
                        + " run on a host with Intel VT-x or AMD-V (kvm_intel or kvm_amd loaded)");
    }

    @Test
    void hostsWithHardwareVirtualizationPass() {
        assertThatCode(() -> KvmLauncher.checkHost(HostKvm.HARDWARE_INTEL)).doesNotThrowAnyException();
        assertThatCode(() -> KvmLauncher.checkHost(HostKvm.HARDWARE_AMD)).doesNotThrowAnyException();
    }

    @Test
    void aDynamicBinaryIsRejectedBeforeTheHostIsLookedAt() throws IOException {
        assumeTrue(Files.isRegularFile(LS), "/bin/ls missing: no dynamic program to check");
        Path kernel = Files.write(tmp.resolve("vmlinux"), new byte[]{1});
        ArrowSpec spec = ArrowSpec.builder(LS).kernel(kernel).build();
        // launch() itself, on whatever host runs this: the binary's error comes first everywhere
        assertThatThrownBy(() -> new KvmLauncher().launch(spec, (b, o, l) -> { }, (b, o, l) -> { }))
                .isInstanceOf(InvalidBinaryException.class)
                .hasMessageContaining("/bin/ls", "dynamically linked", "/lib64/ld-linux-x86-64.so.2", "-static");
    }

    @Test
    void aMissingUserKernelIsNamedWithTheFix() {
        assumeTrue(Files.isRegularFile(BUSYBOX), "/bin/busybox missing: install busybox-static (scripts/setup.sh)");
        Path missing = tmp.resolve("no-such-vmlinux");
        ArrowSpec spec = ArrowSpec.builder(BUSYBOX).kernel(missing).build();
        assertThatThrownBy(() -> KvmLauncher.checkInputs(spec))
                .isInstanceOf(KernelNotFoundException.class)
                .hasMessageContaining(missing.toString(), "not found");
    }

    @Test
    void withoutAKernelInTheSpecTheInputChecksLookUpNoKernel() {
        assumeTrue(Files.isRegularFile(BUSYBOX), "/bin/busybox missing: install busybox-static (scripts/setup.sh)");
        withMissingDefaultKernel(() -> assertThat(KvmLauncher.checkInputs(ArrowSpec.builder(BUSYBOX).build()).kernel()).isEmpty());
    }

    @Test
    void onAHostThatCannotBootLinuxTheHostIsNamedBeforeTheMissingDefaultKernel() {
        assumeTrue(Files.isRegularFile(BUSYBOX), "/bin/busybox missing: install busybox-static (scripts/setup.sh)");
        HostKvm host = HostKvm.detect();
        assumeTrue(!host.canBootLinux(), "this host's KVM boots Linux, so the kernel lookup comes next: " + host.description());
        withMissingDefaultKernel(() -> assertThatThrownBy(
                () -> new KvmLauncher().launch(ArrowSpec.builder(BUSYBOX).build(), (b, o, l) -> { }, (b, o, l) -> { }))
                .isInstanceOfAny(KvmUnavailableException.class, KvmPermissionException.class, NoHardwareVirtualizationException.class));
    }

    /** Runs {@code check} with -Darrow.kernel naming a missing file: any lookup of the default kernel would fail. */
    private void withMissingDefaultKernel(Runnable check) {
        String before = System.getProperty("arrow.kernel");
        System.setProperty("arrow.kernel", tmp.resolve("no-default-kernel").toString());
        try {
            check.run();
        } finally {
            if (before == null) System.clearProperty("arrow.kernel");
            else System.setProperty("arrow.kernel", before);
        }
    }

    /** The first 64 bytes of an x86-64 ELF file: enough for the kernel's format check (nothing boots it). */
    static Path elfKernelHeader(Path file) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}).putShort(16, (short) 2).putShort(18, (short) 62);
        return Files.write(file, b.array());
    }

    @Test
    void aStaticBinaryAndAnExistingKernelPassTheInputChecks() throws IOException {
        assumeTrue(Files.isRegularFile(BUSYBOX), "/bin/busybox missing: install busybox-static (scripts/setup.sh)");
        Path kernel = elfKernelHeader(tmp.resolve("vmlinux"));
        assertThat(KvmLauncher.checkInputs(ArrowSpec.builder(BUSYBOX).kernel(kernel).build()).kernel().orElseThrow().path()).isEqualTo(kernel);
    }

    @Test
    void aKernelFileThatIsNoKernelIsAnInvalidKernelNamingTheFix() throws IOException {
        assumeTrue(Files.isRegularFile(BUSYBOX), "/bin/busybox missing: install busybox-static (scripts/setup.sh)");
        Path notes = Files.writeString(tmp.resolve("notes.txt"), "not a kernel\n");
        assertThatThrownBy(() -> KvmLauncher.checkInputs(ArrowSpec.builder(BUSYBOX).kernel(notes).build()))
                .isInstanceOf(InvalidKernelException.class)
                .hasMessageContaining(notes + " is not a Linux kernel image")
                .hasMessageContaining("give an uncompressed vmlinux or a bzImage");
        // the busybox binary as a kernel: an ELF, but a program, not a kernel, found when it is loaded
        assertThat(KvmLauncher.checkInputs(ArrowSpec.builder(BUSYBOX).kernel(BUSYBOX).build()).kernel().orElseThrow().path()).isEqualTo(BUSYBOX);
    }
}
