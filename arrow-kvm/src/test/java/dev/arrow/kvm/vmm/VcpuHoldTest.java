package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The order of a hold: every vCPU held, then the action, then they go on (fake vCPU threads, tier 1). */
class VcpuHoldTest {
    /** A vCPU thread that loops "running the guest" (logging each step) and takes a hold between two steps. */
    private static final class FakeVcpu implements VcpuHold.Holdable {
        final String name;
        final ConcurrentLinkedQueue<String> log;
        final AtomicReference<VcpuHold> request = new AtomicReference<>();
        volatile boolean stop;
        volatile boolean ended;
        /** Whether it takes holds; fixed before its thread starts, so that no hold slips in before it is read. */
        final boolean answers;
        final Thread thread;

        FakeVcpu(String name, ConcurrentLinkedQueue<String> log) {
            this(name, log, true);
        }

        FakeVcpu(String name, ConcurrentLinkedQueue<String> log, boolean answers) {
            this.name = name;
            this.log = log;
            this.answers = answers;
            this.thread = new Thread(this::loop, name);
            thread.setDaemon(true);
            thread.start();
        }

        private void loop() {
            while (!stop) {
                VcpuHold h = answers ? request.getAndSet(null) : null;
                if (h != null) {
                    log.add(name + " held");
                    h.await();
                    log.add(name + " goes on");
                    continue;
                }
                Thread.onSpinWait();
            }
            ended = true;
        }

        @Override
        public void requestHold(VcpuHold hold) {
            request.set(hold);
        }

        @Override
        public boolean hasEnded() {
            return ended;
        }

        void end() throws InterruptedException {
            stop = true;
            thread.join(5000);
        }
    }

    @Test
    void theActionRunsOnlyOnceEveryVcpuIsHeldAndTheyGoOnOnlyAfterIt() throws InterruptedException {
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        List<FakeVcpu> vcpus = List.of(new FakeVcpu("a", log), new FakeVcpu("b", log), new FakeVcpu("c", log));
        try {
            boolean ran = VcpuHold.runHeld(vcpus, Duration.ofSeconds(5), () -> log.add("action"));
            assertThat(ran).isTrue();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (log.size() < 7 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            List<String> order = new ArrayList<>(log);
            assertThat(order).hasSize(7);
            int action = order.indexOf("action");
            assertThat(order.subList(0, action)).containsExactlyInAnyOrder("a held", "b held", "c held");
            assertThat(order.subList(action + 1, order.size())).containsExactlyInAnyOrder("a goes on", "b goes on",
                    "c goes on");
        } finally {
            for (FakeVcpu v : vcpus) {
                v.end();
            }
        }
    }

    @Test
    void aVcpuThatEndedCountsAsHeld() throws InterruptedException {
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        FakeVcpu gone = new FakeVcpu("gone", log, false);
        gone.end();
        FakeVcpu live = new FakeVcpu("live", log);
        try {
            assertThat(VcpuHold.runHeld(List.of(gone, live), Duration.ofSeconds(5), () -> log.add("action"))).isTrue();
            assertThat(log).contains("live held", "action");
        } finally {
            live.end();
        }
    }

    @Test
    void aVcpuThatIsNotHeldInTimeCancelsTheActionAndReleasesTheOthers() throws InterruptedException {
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        FakeVcpu held = new FakeVcpu("held", log);
        FakeVcpu stuck = new FakeVcpu("stuck", log, false); // blocked somewhere: never takes the hold
        try {
            long start = System.nanoTime();
            boolean ran = VcpuHold.runHeld(List.of(held, stuck), Duration.ofMillis(200), () -> log.add("action"));
            assertThat(ran).isFalse();
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(200_000_000L);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!log.contains("held goes on") && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(log).containsExactly("held held", "held goes on");
        } finally {
            held.end();
            stuck.end();
        }
    }
}
