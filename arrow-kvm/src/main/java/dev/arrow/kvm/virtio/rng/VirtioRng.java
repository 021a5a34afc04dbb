package dev.arrow.kvm.virtio.rng;

import dev.arrow.kvm.device.TokenBucket;
import dev.arrow.kvm.virtio.DescriptorChain;
import dev.arrow.kvm.virtio.SplitQueue;
import dev.arrow.kvm.virtio.VirtioContext;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.VirtioGuestException;
import java.security.SecureRandom;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtio entropy device (device type 4, virtio 1.x section 5.4): one request queue whose
 * device-writable buffers are filled from a {@link SecureRandom}, at most
 * {@link #MAX_BYTES_PER_REQUEST} bytes per request (the used length says how many). With it,
 * Linux's hw_random core feeds the guest's entropy pool at boot, so getrandom() in the
 * application does not wait. No features, no configuration space, no threads.
 *
 * <p>Rate-limited: the bytes come out of a {@link TokenBucket} ({@link #BYTES_PER_SECOND} with a
 * burst of {@link #BURST_BYTES} by default), so a guest that reads {@code /dev/hwrng} in a loop
 * costs the host no more than that. A request that finds the bucket short is served with what it
 * holds (a shorter used length, which the driver accepts), and one that finds fewer than
 * {@link #MIN_GRANT} bytes (or fewer than it asked for, if less) is kept until that many have
 * accrued: a {@link Timer} then hands the device back to its transport's executor
 * ({@link VirtioContext#submit}). So a guest asking faster is served slower, never dropped and
 * never left waiting for good, and nothing polls.
 *
 * <p>State: the only guest-visible state is a request taken from the queue and not yet answered
 * ({@link State}); {@link #restore} builds a device that answers it after {@link #resume}. The
 * bucket's tokens are not state: the limit is the host's policy, not something the guest can
 * see, and a device built from a state starts with the full burst of the bucket it is given,
 * as a freshly booted one does. Nothing waits on the host side, so a state can be captured at
 * any time.
 */
public final class VirtioRng implements VirtioDevice {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioRng.class);

    public static final int DEVICE_TYPE = 4;
    public static final int QUEUE_SIZE = 64;
    /** Cap on random bytes written per request. */
    public static final int MAX_BYTES_PER_REQUEST = 4096;
    /** Default sustained rate: far above what a booting Linux asks for. */
    public static final long BYTES_PER_SECOND = 64 * 1024;
    /** Default burst. */
    public static final long BURST_BYTES = 256 * 1024;
    /** The least a short bucket hands out at once (unless the request is smaller): no trickle of 1-byte answers. */
    public static final int MIN_GRANT = 64;

    /** Runs a task after a delay, off the caller's thread. */
    @FunctionalInterface
    public interface Timer {
        void schedule(long delayNanos, Runnable task);

        /**
         * The JDK's shared delay scheduler ({@link CompletableFuture#delayedExecutor}), which runs the
         * task itself (it only hands work on): no thread of ours.
         */
        Timer SHARED = (delayNanos, task) ->
                CompletableFuture.delayedExecutor(delayNanos, TimeUnit.NANOSECONDS, Runnable::run).execute(task);
    }

    private final SecureRandom random;
    private final TokenBucket bucket;
    private final Timer timer;
    // all below guarded by the transport's lock
    private VirtioContext context;
    /** A request taken from the queue and not yet answered (the bucket was short). */
    private DescriptorChain pending;
    /** Whether {@link #pending} is counted in {@link #postponedRequests()} already. */
    private boolean pendingCounted;
    /** The context a wake-up is scheduled for, if any (a stale one never runs). */
    private VirtioContext wakeUpFor;
    /** A pending request's head from {@link #restore}, walked again on {@link #resume}; else {@link State#NONE}. */
    private int restoredPending = State.NONE;
    private volatile long servedBytes;
    private volatile long postponed;
    private boolean throttleLogged;

    /** Uses a fresh {@code new SecureRandom()} (on Linux: non-blocking, from /dev/urandom) and the default rate. */
    public VirtioRng() {
        this(new SecureRandom());
    }

    public VirtioRng(SecureRandom random) {
        this(random, new TokenBucket(BYTES_PER_SECOND, BURST_BYTES), Timer.SHARED);
    }

    /**
     * @param bucket where the bytes come from (its rate and burst are the device's limit); owned by this device
     * @param timer  schedules the wake-up of a postponed request
     */
    public VirtioRng(SecureRandom random, TokenBucket bucket, Timer timer) {
        this.random = Objects.requireNonNull(random, "random");
        this.bucket = Objects.requireNonNull(bucket, "bucket");
        this.timer = Objects.requireNonNull(timer, "timer");
    }

    /**
     * The guest-visible state of an entropy device.
     *
     * @param pendingRequest head of the request taken from the queue and not yet answered (the
     *                       bucket was short), or {@link #NONE}
     */
    public record State(int pendingRequest) implements VirtioDeviceState {
        public static final int NONE = -1;

        /** @throws IllegalArgumentException for a head outside the queue */
        public State {
            if (pendingRequest < NONE || pendingRequest >= QUEUE_SIZE) {
                throw new IllegalArgumentException("virtio-rng state: pending request head " + pendingRequest
                        + " outside the queue of " + QUEUE_SIZE);
            }
        }
    }

    /**
     * A device that continues from {@code state} once its transport {@link #resume}s it; the
     * other parameters are those of {@link #VirtioRng(SecureRandom, TokenBucket, Timer)}.
     */
    public static VirtioRng restore(State state, SecureRandom random, TokenBucket bucket, Timer timer) {
        return continuing(state, new VirtioRng(random, bucket, timer));
    }

    /**
     * {@link #restore(State, SecureRandom, TokenBucket, Timer)} drawing from {@code random} (thread-safe, so one
     * source may serve many devices: a template's clones share their template's instead of each making one), with
     * the rate and timer of {@link #VirtioRng(SecureRandom)}.
     */
    public static VirtioRng restore(State state, SecureRandom random) {
        return continuing(state, new VirtioRng(random));
    }

    /** {@link #restore(State, SecureRandom, TokenBucket, Timer)} with what {@link #VirtioRng()} uses. */
    public static VirtioRng restore(State state) {
        return continuing(state, new VirtioRng());
    }

    private static VirtioRng continuing(State state, VirtioRng rng) {
        rng.restoredPending = state.pendingRequest();
        return rng;
    }


    @Override
    public State state() {
        return new State(pending != null ? pending.headIndex() : restoredPending);
    }

    /** Walks the pending request again and schedules its answer as the bucket allows. */
    @Override
    public void resume(VirtioContext newContext) {
        context = newContext;
        if (restoredPending == State.NONE) {
            return;
        }
        SplitQueue queue = newContext.queue(0);
        if (queue == null) {
            throw new IllegalArgumentException("virtio-rng: the state holds a request but the queue is not ready");
        }
        pending = checkRequest(queue.reopen(restoredPending));
        restoredPending = State.NONE;
        pendingCounted = true; // counted by the device it was captured from
        scheduleWakeUp(newContext, least(pending));
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public int queueMaxSize(int index) {
        return QUEUE_SIZE;
    }

    /** Requests come when the guest's pool wants entropy (at boot, then rarely) and are answered at once. */
    @Override
    public boolean notifiesOften(int index) {
        return false;
    }

    @Override
    public int configSize() {
        return 0;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        // no configuration space: the transport never calls this
    }

    @Override
    public void writeConfig(int offset, byte[] data) {
        // no configuration space
    }

    @Override
    public void activate(VirtioContext newContext) {
        context = newContext;
        pending = null;
        pendingCounted = false;
        restoredPending = State.NONE;
    }

    @Override
    public void queueNotify(int index) {
        if (index == 0) {
            serve();
        }
    }

    /** Answers requests while the bucket allows; postpones the first it cannot answer yet. */
    private void serve() {
        VirtioContext c = context;
        SplitQueue queue = c == null ? null : c.queue(0);
        if (queue == null) {
            return;
        }
        boolean returned = false;
        while (true) {
            if (pending == null) {
                DescriptorChain chain = queue.pop();
                if (chain == null) {
                    break;
                }
                pending = checkRequest(chain);
            }
            long wanted = Math.min(pending.writableLength(), MAX_BYTES_PER_REQUEST);
            long least = least(pending);
            if (bucket.available() < least) {
                postpone(c, least);
                break;
            }
            byte[] bytes = new byte[(int) bucket.takeUpTo(wanted)];
            random.nextBytes(bytes);
            pending.write(bytes, 0, bytes.length);
            queue.addUsed(pending);
            pending = null;
            pendingCounted = false;
            servedBytes += bytes.length;
            returned = true;
        }
        if (returned && queue.needsNotification()) {
            c.signalUsed();
        }
    }

    private static DescriptorChain checkRequest(DescriptorChain chain) {
        if (chain.readableCount() > 0 || chain.writableLength() == 0) {
            throw new VirtioGuestException(String.format(
                    "virtio-rng: request at head %d must be device-writable only and not empty", chain.headIndex()));
        }
        return chain;
    }

    /** The fewest bytes worth answering {@code request} with. */
    private static long least(DescriptorChain request) {
        return Math.min(Math.min(request.writableLength(), MAX_BYTES_PER_REQUEST), MIN_GRANT);
    }

    private void postpone(VirtioContext c, long least) {
        if (!pendingCounted) {
            pendingCounted = true;
            postponed++;
        }
        if (!throttleLogged) {
            throttleLogged = true;
            LOG.info("virtio-rng: the guest asks for random bytes faster than {} bytes/s (bursts of {}); serving it at that rate",
                    bucket.ratePerSecond(), bucket.burst());
        }
        scheduleWakeUp(c, least);
    }

    private void scheduleWakeUp(VirtioContext c, long least) {
        if (wakeUpFor == c) {
            return; // one wake-up at a time
        }
        wakeUpFor = c;
        timer.schedule(bucket.nanosUntil(least), () -> {
            try {
                c.submit(() -> {
                    if (wakeUpFor == c) {
                        wakeUpFor = null;
                        serve();
                    }
                });
            } catch (RuntimeException e) {
                LOG.debug("virtio-rng: waking a postponed request failed: {}", e.toString());
            }
        });
    }

    /** Random bytes handed to the guest so far. */
    public long servedBytes() {
        return servedBytes;
    }

    /** How many requests had to wait for the rate limit. */
    public long postponedRequests() {
        return postponed;
    }

    @Override
    public void reset() {
        context = null;
        pending = null;
        pendingCounted = false;
        wakeUpFor = null;
        restoredPending = State.NONE;
    }
}
