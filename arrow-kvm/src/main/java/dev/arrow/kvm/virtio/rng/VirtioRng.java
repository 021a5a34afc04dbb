package dev.arrow.kvm.virtio.rng;

import dev.arrow.kvm.virtio.DescriptorChain;
import dev.arrow.kvm.virtio.SplitQueue;
import dev.arrow.kvm.virtio.VirtioContext;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioGuestException;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * A virtio entropy device (device type 4, virtio 1.x section 5.4): one request queue whose
 * device-writable buffers are filled from a {@link SecureRandom}, at most
 * {@link #MAX_BYTES_PER_REQUEST} bytes per request (the used length says how many). With it,
 * Linux's hw_random core feeds the guest's entropy pool at boot, so getrandom() in the
 * application does not wait. No features, no configuration space, no threads.
 */
public final class VirtioRng implements VirtioDevice {

    public static final int DEVICE_TYPE = 4;
    public static final int QUEUE_SIZE = 64;
    /** Cap on random bytes written per request. */
    public static final int MAX_BYTES_PER_REQUEST = 4096;

    private final SecureRandom random;
    private VirtioContext context; // guarded by the transport's lock

    /** Uses a fresh {@code new SecureRandom()} (on Linux: non-blocking, from /dev/urandom). */
    public VirtioRng() {
        this(new SecureRandom());
    }

    public VirtioRng(SecureRandom random) {
        this.random = Objects.requireNonNull(random, "random");
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
    }

    @Override
    public void queueNotify(int index) {
        VirtioContext c = context;
        SplitQueue queue = c == null || index != 0 ? null : c.queue(0);
        if (queue == null) {
            return;
        }
        boolean returned = false;
        DescriptorChain chain;
        while ((chain = queue.pop()) != null) {
            if (chain.readableCount() > 0 || chain.writableLength() == 0) {
                throw new VirtioGuestException(String.format(
                        "virtio-rng: request at head %d must be device-writable only and not empty", chain.headIndex()));
            }
            byte[] bytes = new byte[(int) Math.min(chain.writableLength(), MAX_BYTES_PER_REQUEST)];
            random.nextBytes(bytes);
            chain.write(bytes, 0, bytes.length);
            queue.addUsed(chain);
            returned = true;
        }
        if (returned && queue.needsNotification()) {
            c.signalUsed();
        }
    }

    @Override
    public void reset() {
        context = null;
    }
}
