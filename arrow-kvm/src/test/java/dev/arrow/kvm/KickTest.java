package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.testing.KvmTest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Tier 2: stopping a vCPU from another thread (immediate_exit + the kick signal). */
@KvmTest
class KickTest {
    static final long MiB = 1L << 20;

    private static byte[] spinForever() {
        return Asm.real().spin().bytes();
    }

    @Test
    void kickFromAnotherThreadStopsAGuestThatLoopsForever() throws Exception {
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(spinForever(), 0x1000)) {
            CompletableFuture<VcpuExit> exit = CompletableFuture.supplyAsync(g.vcpu::run);
            waitUntilRunning(g.vcpu);
            Thread.sleep(100);
            assertThat(exit).isNotDone();
            long kicked = System.nanoTime();
            g.vcpu.kick();
            assertThat(exit.get(5, TimeUnit.SECONDS)).isInstanceOf(VcpuExit.Intr.class);
            assertThat(System.nanoTime() - kicked).isLessThan(TimeUnit.SECONDS.toNanos(2));
            assertThat(g.vcpu.getRegs().rip()).as("guest still at its loop").isEqualTo(0x1000);
        }
    }

    @Test
    void kickBeforeRunIsNotLostAndIsConsumedOnce() throws Exception {
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(spinForever(), 0x1000)) {
            g.vcpu.kick();
            assertThat(g.vcpu.run()).isInstanceOf(VcpuExit.Intr.class);
            // the next run enters the guest again, until kicked again
            CompletableFuture<VcpuExit> exit = CompletableFuture.supplyAsync(g.vcpu::run);
            waitUntilRunning(g.vcpu);
            Thread.sleep(50);
            assertThat(exit).isNotDone();
            g.vcpu.kick();
            assertThat(exit.get(5, TimeUnit.SECONDS)).isInstanceOf(VcpuExit.Intr.class);
        }
    }

    @Test
    void repeatedKicksOnTheSameThreadEachStopTheGuest() throws Exception {
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(spinForever(), 0x1000)) {
            java.util.concurrent.ExecutorService runner = java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                for (int i = 0; i < 20; i++) {
                    var exit = runner.submit(g.vcpu::run);
                    waitUntilRunning(g.vcpu);
                    g.vcpu.kick();
                    assertThat(exit.get(5, TimeUnit.SECONDS)).as("round %d", i).isInstanceOf(VcpuExit.Intr.class);
                }
            } finally {
                runner.shutdownNow();
            }
        }
    }

    @Test
    void closeStopsARunningVcpu() throws Exception {
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(spinForever(), 0x1000)) {
            CompletableFuture<VcpuExit> exit = CompletableFuture.supplyAsync(g.vcpu::run);
            waitUntilRunning(g.vcpu);
            long start = System.nanoTime();
            g.vcpu.close();
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(4));
            assertThat(exit.get(5, TimeUnit.SECONDS)).isInstanceOf(VcpuExit.Intr.class);
            assertThat(g.vcpu.isClosed()).isTrue();
        }
    }

    private static void waitUntilRunning(Vcpu vcpu) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!vcpu.isRunning()) {
            assertThat(System.nanoTime()).as("vCPU started running").isLessThan(deadline);
            Thread.sleep(1);
        }
    }
}
