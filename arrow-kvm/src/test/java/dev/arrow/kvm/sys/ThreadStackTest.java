package dev.arrow.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ThreadStackTest {
    private static final long KIB = 1024;
    /** Deep enough for more than 256 KiB of stack, interpreted or compiled (the thread has 4 MiB). */
    private static final int DEPTH = 8000;
    private static final long PAGE = 4096;
    /** HotSpot's stack shadow zone on x86-64 Linux: 20 pages, and one more for the frame that touches it. */
    private static final long SHADOW_ZONE = 21 * PAGE;

    /** Recurses {@code depth} times with a 1 KiB frame each, written, so that every page on the way is touched. */
    private static long deep(int depth) {
        byte[] pad = new byte[0];
        long[] frame = {depth, depth * 3L, depth * 7L, depth * 11L};
        long below = depth == 0 ? 0 : deep(depth - 1);
        return below + frame[0] + frame[1] + frame[2] + frame[3] + pad.length;
    }

    private static long residentBytes(long start, long end) {
        byte[] vector = new byte[(int) ((end - start) / PAGE)];
        assertThat(LibC.mincore(start, end - start, vector)).isZero();
        long pages = 0;
        for (byte b : vector) {
            pages += b & 1;
        }
        return pages * PAGE;
    }

    /** What a thread saw: the unused range, resident bytes in it before and after, what it computed afterwards. */
    private record Seen(long[] range, long before, long released, long after, long deepAgain) {
    }

    @Test
    void theStackPagesBelowTheCurrentFrameAreGivenBackAndTheThreadGoesDeepAgainUnharmed() throws Exception {
        AtomicReference<Seen> seen = new AtomicReference<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                long first = deep(DEPTH);
                long[] range = ThreadStack.unusedRange();
                long before = range == null ? 0 : residentBytes(range[0], range[1]);
                long released = ThreadStack.releaseBelowCurrentFrame();
                long after = range == null ? 0 : residentBytes(range[0], range[1]);
                long again = deep(DEPTH);
                seen.set(new Seen(range, before, released, after, again == first ? again : -1));
            } catch (Throwable e) {
                failed.set(e);
            }
        }, "stack-release-test", 4L << 20);
        t.start();
        t.join();
        assertThat(failed.get()).isNull();
        Seen s = seen.get();
        assertThat(s.range()).as("this thread's unused stack range").isNotNull();
        assertThat(s.before()).as("the deep calls left pages resident below the frame").isGreaterThan(256 * KIB);
        assertThat(s.released()).isEqualTo(s.range()[1] - s.range()[0]);
        // the mincore call after the release is itself a call: HotSpot's interpreter touches the 20 pages of its
        // stack shadow zone below it again, and nothing deeper
        assertThat(s.after()).as("resident below the frame after the release").isLessThanOrEqualTo(SHADOW_ZONE)
                .isLessThan(s.before() - 192 * KIB);
        assertThat(s.deepAgain()).as("the same deep calls compute the same again").isEqualTo(deep(0) + sumOfFrames(DEPTH));
    }

    private static long sumOfFrames(int depth) {
        long sum = 0;
        for (long d = 1; d <= depth; d++) {
            sum += d + 3 * d + 7 * d + 11 * d;
        }
        return sum;
    }
}
