package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class HostKvmMemoTest {
    /** Answers {@code answers} in order, the last one from then on, counting the calls. */
    private static final class Detector implements Supplier<HostKvm> {
        final Deque<HostKvm> answers;
        final AtomicInteger calls = new AtomicInteger();

        Detector(HostKvm... answers) {
            this.answers = new ArrayDeque<>(List.of(answers));
        }

        @Override
        public synchronized HostKvm get() {
            calls.incrementAndGet();
            return answers.size() > 1 ? answers.poll() : answers.peek();
        }
    }

    @Test
    void aUsableAnswerIsDetectedOnceAndKept() {
        Detector detector = new Detector(HostKvm.HARDWARE_AMD, HostKvm.NONE);
        HostKvmMemo memo = new HostKvmMemo(detector);
        for (int i = 0; i < 5; i++) {
            assertThat(memo.get()).isEqualTo(HostKvm.HARDWARE_AMD);
        }
        assertThat(detector.calls).hasValue(1);
    }

    @Test
    void aMissingOrForbiddenDeviceIsDetectedAgainUntilItIsUsable() {
        Detector detector = new Detector(HostKvm.NONE, HostKvm.NO_PERMISSION, HostKvm.HARDWARE_INTEL);
        HostKvmMemo memo = new HostKvmMemo(detector);
        assertThat(memo.get()).isEqualTo(HostKvm.NONE);
        assertThat(memo.get()).isEqualTo(HostKvm.NO_PERMISSION);
        assertThat(memo.get()).isEqualTo(HostKvm.HARDWARE_INTEL);
        assertThat(memo.get()).isEqualTo(HostKvm.HARDWARE_INTEL);
        assertThat(detector.calls).hasValue(3);
    }

    @Test
    void pvmIsUsableSoItIsKeptToo() {
        Detector detector = new Detector(HostKvm.PVM, HostKvm.HARDWARE_AMD);
        HostKvmMemo memo = new HostKvmMemo(detector);
        assertThat(memo.get()).isEqualTo(HostKvm.PVM);
        assertThat(memo.get()).isEqualTo(HostKvm.PVM);
        assertThat(detector.calls).hasValue(1);
    }

    @Test
    void concurrentFirstCallsAllGetTheAnswerAndLaterCallsDoNotDetect() throws Exception {
        Detector detector = new Detector(HostKvm.HARDWARE_INTEL);
        HostKvmMemo memo = new HostKvmMemo(detector);
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            Callable<HostKvm> call = () -> {
                go.await();
                return memo.get();
            };
            List<Future<HostKvm>> results = new java.util.ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(call));
            }
            go.countDown();
            for (Future<HostKvm> r : results) {
                assertThat(r.get()).isEqualTo(HostKvm.HARDWARE_INTEL);
            }
        } finally {
            pool.shutdownNow();
        }
        int afterFirst = detector.calls.get();
        assertThat(afterFirst).isBetween(1, threads);
        memo.get();
        assertThat(detector.calls).hasValue(afterFirst);
    }
}
