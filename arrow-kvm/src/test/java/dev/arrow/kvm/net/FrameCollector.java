package dev.arrow.kvm.net;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Plays the device for backend tests: empties the inbox whenever told and keeps copies of the frames. */
final class FrameCollector implements NetworkBackend.Listener {
    private final NetworkBackend backend;
    private final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
    final CountDownLatch failed = new CountDownLatch(1);
    volatile String failure;

    FrameCollector(NetworkBackend backend) {
        this.backend = backend;
    }

    @Override
    public void framesAvailable() {
        ByteBuffer f;
        while ((f = backend.inbox().peek()) != null) {
            byte[] copy = new byte[f.remaining()];
            f.get(copy);
            frames.add(copy);
            backend.inbox().release();
        }
    }

    @Override
    public void failed(String reason) {
        failure = reason;
        failed.countDown();
    }

    /** The first frame matching {@code wanted} among those received so far (all are taken), or null. */
    byte[] poll(Predicate<byte[]> wanted) {
        byte[] f;
        while ((f = frames.poll()) != null) {
            if (wanted.test(f)) {
                return f;
            }
        }
        return null;
    }

    /** The first frame matching {@code wanted} within {@code timeout}; frames before it are skipped. */
    byte[] await(Predicate<byte[]> wanted, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> skipped = new ArrayList<>();
        while (true) {
            long left = deadline - System.nanoTime();
            byte[] f = left <= 0 ? null : frames.poll(left, TimeUnit.NANOSECONDS);
            if (f == null) {
                throw new AssertionError("no " + what + " within " + timeout + "; other frames: " + skipped);
            }
            if (wanted.test(f)) {
                return f;
            }
            skipped.add("type 0x" + Integer.toHexString(TestFrames.etherType(f)) + " (" + f.length + " bytes)");
        }
    }
}
