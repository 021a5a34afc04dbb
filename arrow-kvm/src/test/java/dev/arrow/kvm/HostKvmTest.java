package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostKvmTest {
    @TempDir
    Path root;

    private void devKvm() throws IOException {
        Files.createDirectories(root.resolve("dev"));
        Files.createFile(root.resolve("dev/kvm"));
    }

    private void module(String name) throws IOException {
        Files.createDirectories(root.resolve("sys/module").resolve(name));
    }

    private void cpuFlags(String flags) throws IOException {
        Files.createDirectories(root.resolve("proc"));
        Files.writeString(root.resolve("proc/cpuinfo"), "processor\t: 0\nflags\t\t: " + flags + "\n");
    }

    @Test
    void noDeviceMeansNone() {
        assertThat(HostKvm.detect(root)).isEqualTo(HostKvm.NONE);
        assertThat(HostKvm.NONE.description()).contains("no /dev/kvm").contains("kvm_intel");
    }

    @Test
    void pvmModuleWinsAndCannotBootLinux() throws IOException {
        devKvm();
        module("kvm");
        module("kvm_pvm");
        cpuFlags("fpu vme hypervisor");
        HostKvm h = HostKvm.detect(root);
        assertThat(h).isEqualTo(HostKvm.PVM);
        assertThat(h.canBootLinux()).isFalse();
        assertThat(h.usable()).isTrue();
        assertThat(h.description()).isEqualTo("this host's KVM (PVM, no hardware virtualization) cannot boot a Linux guest");
    }

    @Test
    void hardwareModulesAreRecognised() throws IOException {
        devKvm();
        module("kvm_amd");
        assertThat(HostKvm.detect(root)).isEqualTo(HostKvm.HARDWARE_AMD);
        module("kvm_intel");
        assertThat(HostKvm.detect(root)).isEqualTo(HostKvm.HARDWARE_INTEL);
        assertThat(HostKvm.HARDWARE_INTEL.canBootLinux()).isTrue();
    }

    @Test
    void cpuFlagsDecideWhenNoModuleIsListed() throws IOException {
        devKvm();
        cpuFlags("fpu svm lm");
        assertThat(HostKvm.detect(root)).isEqualTo(HostKvm.HARDWARE_AMD);
        cpuFlags("fpu vmx lm");
        assertThat(HostKvm.detect(root)).isEqualTo(HostKvm.HARDWARE_INTEL);
        cpuFlags("fpu lm");
        assertThat(HostKvm.detect(root)).isEqualTo(HostKvm.UNKNOWN);
    }

    @Test
    void aDeviceThisProcessMayNotOpenMeansNoPermission() throws IOException {
        devKvm();
        // Root passes every permission check, so the access decision is given instead of read off the file.
        assertThat(HostKvm.detect(root, dev -> false)).isEqualTo(HostKvm.NO_PERMISSION);
        assertThat(HostKvm.detect(root, dev -> true)).isNotEqualTo(HostKvm.NO_PERMISSION);
    }
}
