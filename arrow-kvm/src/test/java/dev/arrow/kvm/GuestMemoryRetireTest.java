package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.sys.Errno;
import dev.arrow.testing.KvmTest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Tier 2: what KVM does with a memory slot whose host range was retired (made PROT_NONE) while
 * the guest runs. The slot still names the same host addresses, so KVM resolves guest pages
 * through them again, and the retired range gives it nothing: KVM_RUN fails with EFAULT rather
 * than let the guest reach any other memory.
 */
@KvmTest
class GuestMemoryRetireTest {
    static final long MiB = 1L << 20;

    @Test
    void aGuestStillRunningWhenItsMemoryIsRetiredLeavesKvmRunWithEfault() throws Exception {
        Asm code = Asm.longMode().movRbx(0x180000);
        int loop = code.here();
        code.movToRbxPtrRax().jmp(loop); // writes guest RAM and fetches its code from it, forever
        try (TinyGuest g = new TinyGuest(2 * MiB, false).longMode(code.bytes(), 0x100000)) {
            CompletableFuture<Object> result = CompletableFuture.supplyAsync(() -> {
                try {
                    VcpuExit exit;
                    do {
                        exit = g.vcpu.run();
                    } while (exit instanceof VcpuExit.Intr);
                    return exit;
                } catch (RuntimeException e) {
                    return e;
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!g.vcpu.isRunning() && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            Thread.sleep(100);
            assertThat(result).as("the guest loops until its memory goes").isNotDone();

            g.memory.retire();

            Object r = result.get(10, TimeUnit.SECONDS);
            assertThat(r).as("what KVM_RUN did after the retire").isInstanceOf(KvmApiException.class);
            KvmApiException e = (KvmApiException) r;
            assertThat(e.call()).isEqualTo("KVM_RUN");
            assertThat(e.errno()).as(e.getMessage()).isEqualTo(Errno.EFAULT);
            assertThat(g.memory.isRetired()).isTrue();
        }
    }
}
