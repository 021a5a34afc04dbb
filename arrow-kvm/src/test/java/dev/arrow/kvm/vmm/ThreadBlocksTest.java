package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Tier 1: a thread asleep in its first blocking since a count is told from one that woke and slept again. */
class ThreadBlocksTest {
    private static final String STATUS = "Name:\tjava\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\n"
            + "voluntary_ctxt_switches:\t17\nnonvoluntary_ctxt_switches:\t3\n";

    @Test
    void readsTheStateAndTheVoluntarySwitchesOfAStatusText() {
        ThreadBlocks.Status status = ThreadBlocks.Status.of(STATUS);
        assertThat(status.voluntarySwitches()).isEqualTo(17);
        assertThat(status.state()).isEqualTo('S');
        assertThat(status.asleepInFirstBlockSince(16)).isTrue();
        assertThat(status.asleepInFirstBlockSince(15)).as("blocked twice since").isFalse();
        assertThat(status.asleepInFirstBlockSince(17)).as("not blocked since").isFalse();
        assertThat(ThreadBlocks.Status.of(STATUS.replace("S (sleeping)", "R (running)")).asleepInFirstBlockSince(16))
                .as("running now").isFalse();
        assertThat(status.asleepInFirstBlockSince(ThreadBlocks.UNKNOWN)).isFalse();
        assertThat(ThreadBlocks.Status.of("Name:\tjava\n").voluntarySwitches()).isEqualTo(ThreadBlocks.UNKNOWN);
        assertThat(ThreadBlocks.Status.of("Name:\tjava\n").state()).isEqualTo((char) 0);
        assertThat(ThreadBlocks.Status.of("Name:\tjava\nvoluntary_ctxt_switches:\t").voluntarySwitches())
                .as("no digits").isEqualTo(ThreadBlocks.UNKNOWN);
        assertThat(ThreadBlocks.Status.of("Name:\tjava\nvoluntary_ctxt_switches:").voluntarySwitches())
                .as("cut at the name").isEqualTo(ThreadBlocks.UNKNOWN);
        assertThat(ThreadBlocks.Status.of("Name:\tjava\nState:").state()).as("cut at the name").isEqualTo((char) 0);
        assertThat(ThreadBlocks.Status.of("Name:\tvoluntary_ctxt_switches:\t5\n").voluntarySwitches())
                .as("a name is found only at a line's start").isEqualTo(ThreadBlocks.UNKNOWN);
        assertThat(ThreadBlocks.asleepInFirstBlockSince(ThreadBlocks.statusPath(Integer.MAX_VALUE), 3))
                .as("no such thread").isFalse();
        assertThat(ThreadBlocks.cpuTimeNanos(Integer.MAX_VALUE)).as("no such thread").isEqualTo(ThreadBlocks.UNKNOWN);
        assertThat(ThreadBlocks.cpuTimeNanos(1)).as("not a thread of this process").isEqualTo(ThreadBlocks.UNKNOWN);
    }

    @Test
    void readsTheCallingThreadsOwnCountFromProc() throws Exception {
        long before = ThreadBlocks.voluntarySwitchesOfCurrentThread();
        assertThat(before).isNotEqualTo(ThreadBlocks.UNKNOWN);
        String status = Files.readString(Path.of("/proc/thread-self/status"));
        long between = ThreadBlocks.Status.of(status).voluntarySwitches();
        Thread.sleep(20); // blocks: one voluntary switch at least
        assertThat(ThreadBlocks.voluntarySwitchesOfCurrentThread()).isGreaterThanOrEqualTo(between)
                .isGreaterThan(before);
        assertThat(between).isGreaterThanOrEqualTo(before);
    }

    @Test
    void aThreadStillInItsFirstBlockIsToldFromOneThatWokeAndBlockedAgain() throws Exception {
        AtomicInteger tid = new AtomicInteger();
        AtomicLong before = new AtomicLong();
        Semaphore counted = new Semaphore(0);
        Semaphore wake = new Semaphore(0);
        Thread t = new Thread(() -> {
            tid.set(Integer.parseInt(ownTid()));
            before.set(ThreadBlocks.voluntarySwitchesOfCurrentThread());
            counted.release();
            wake.acquireUninterruptibly(); // the first blocking since the count
            wake.acquireUninterruptibly(); // woken, then blocked again
        }, "thread-blocks-test");
        t.setDaemon(true);
        t.start();
        counted.acquire();
        awaitSleeping(tid.get());
        long cpu = ThreadBlocks.cpuTimeNanos(tid.get());
        assertThat(ThreadBlocks.asleepInFirstBlockSince(ThreadBlocks.statusPath(tid.get()), before.get())).as("still in its first block").isTrue();
        Thread.sleep(100);
        assertThat(ThreadBlocks.asleepInFirstBlockSince(ThreadBlocks.statusPath(tid.get()), before.get())).as("still").isTrue();
        assertThat(cpu).isPositive();
        assertThat(ThreadBlocks.cpuTimeNanos(tid.get())).as("not run since: the same CPU time").isEqualTo(cpu);
        wake.release();
        Thread.sleep(100);
        awaitSleeping(tid.get());
        assertThat(ThreadBlocks.asleepInFirstBlockSince(ThreadBlocks.statusPath(tid.get()), before.get())).as("woke and blocked again").isFalse();
        assertThat(ThreadBlocks.cpuTimeNanos(tid.get())).as("ran: more CPU time").isGreaterThan(cpu);
        wake.release();
        t.join(5_000);
    }

    private static void awaitSleeping(int tid) throws Exception {
        Path status = Path.of("/proc/self/task", Integer.toString(tid), "status");
        for (int i = 0; i < 500 && !Files.readString(status).contains("State:\tS"); i++) {
            Thread.sleep(10);
        }
    }

    private static String ownTid() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
