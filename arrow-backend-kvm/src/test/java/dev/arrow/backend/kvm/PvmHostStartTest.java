package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.NoHardwareVirtualizationException;
import dev.arrow.kvm.HostKvm;
import dev.arrow.testing.KvmTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tier 2: on a host whose KVM cannot boot Linux (PVM), {@code start()} of a valid arrow fails at
 * once with the error a user can act on, instead of hanging in a guest that never reaches user
 * space, and leaves no thread behind.
 */
@KvmTest
class PvmHostStartTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang would be the bug
    void startOnAPvmHostFailsClearlyAndAtOnce() throws IOException {
        HostKvm host = HostKvm.detect();
        assumeTrue(host == HostKvm.PVM, "this test is for PVM hosts; this host's KVM is: " + host.description());
        assumeTrue(Files.isRegularFile(BUSYBOX), "/bin/busybox missing: install busybox-static (scripts/setup.sh)");
        Path kernel = KvmLauncherHostCheckTest.elfKernelHeader(tmp.resolve("vmlinux")); // the host check comes first
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        assertThatThrownBy(() -> Arrow.of(BUSYBOX).args("true").kernel(kernel).start())
                .isInstanceOf(NoHardwareVirtualizationException.class)
                .hasMessageContaining("PVM, no hardware virtualization", "cannot boot a Linux guest", "VT-x or AMD-V");
        assertThat(Thread.getAllStackTraces().keySet()).as("threads after the failed start")
                .allMatch(t -> before.contains(t) || !t.getName().startsWith("arrow"));
    }
}
