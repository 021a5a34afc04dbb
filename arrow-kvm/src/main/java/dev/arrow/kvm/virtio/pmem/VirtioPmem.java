package dev.arrow.kvm.virtio.pmem;

import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.virtio.DescriptorChain;
import dev.arrow.kvm.virtio.SplitQueue;
import dev.arrow.kvm.virtio.VirtioContext;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.VirtioGuestException;
import dev.arrow.kvm.x86.Layout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A virtio persistent-memory device (device type 27, virtio 1.x "PMEM device"; Linux's
 * {@code drivers/nvdimm/virtio_pmem.c}) in front of a read-only image: its configuration space
 * tells the driver where the image sits in guest-physical memory ({@code le64 start; le64 size}),
 * and the guest maps that range itself (as {@code /dev/pmemN}, mountable with DAX). The VMM maps
 * the image there as a read-only memory slot; this device only knows the range.
 *
 * <p>One request queue. A request is a device-readable {@code le32 type} followed by a
 * device-writable {@code le32 ret}. The image cannot change, so a FLUSH ({@link #REQUEST_FLUSH}) has
 * nothing to make durable and is answered {@link #RESPONSE_OK} at once; any other type is answered
 * {@link #RESPONSE_EIO} (Linux turns a non-zero answer into EIO). A chain without four readable bytes
 * followed by four writable ones is a guest error ({@link VirtioGuestException}): the device fails
 * until the driver resets it.
 *
 * <p>State: every request is answered as soon as it is taken from the queue, so the device holds
 * no chain; its {@link State} is the range it announces. The queue's state is its transport's.
 */
public final class VirtioPmem implements VirtioDevice {

    public static final int DEVICE_TYPE = 27;
    /** Linux sends one flush at a time per device (its flush_lock), so a small ring is plenty. */
    public static final int QUEUE_SIZE = 32;
    /** {@code struct virtio_pmem_config}: {@code le64 start; le64 size}. */
    public static final int CONFIG_SIZE = 16;
    /** {@code VIRTIO_PMEM_REQ_TYPE_FLUSH}. */
    public static final int REQUEST_FLUSH = 0;
    /** The answer to a request served. */
    public static final int RESPONSE_OK = 0;
    /** The answer to a request the device cannot serve ({@code VIRTIO_PMEM_RESP_TYPE_EIO}). */
    public static final int RESPONSE_EIO = 1;
    /** Bytes of {@code struct virtio_pmem_req} and of {@code struct virtio_pmem_resp}. */
    static final int REQUEST_BYTES = 4;
    static final int RESPONSE_BYTES = 4;

    private final MemoryRegion region;
    private final byte[] config;
    // guarded by the transport's lock
    private VirtioContext context;
    private volatile long answeredRequests;

    /**
     * A device announcing {@code region}.
     *
     * @throws IllegalArgumentException if the region's start or size is not a multiple of
     *     {@link Layout#PMEM_ALIGNMENT}, which Linux needs to map it
     */
    public VirtioPmem(MemoryRegion region) {
        this.region = checkRegion(Objects.requireNonNull(region, "region"));
        ByteBuffer b = ByteBuffer.allocate(CONFIG_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(region.start().value()).putLong(region.size());
        this.config = b.array();
    }

    private static MemoryRegion checkRegion(MemoryRegion region) {
        if (((region.start().value() | region.size()) & (Layout.PMEM_ALIGNMENT - 1)) != 0) {
            throw new IllegalArgumentException("virtio-pmem range " + region + " is not aligned to "
                    + Layout.PMEM_ALIGNMENT / Layout.MiB + " MiB in start and size: Linux could not map it");
        }
        return region;
    }

    /**
     * The guest-visible state of a pmem device: the range it announces.
     *
     * @param start guest-physical address of the image
     * @param size  its length in bytes
     */
    public record State(long start, long size) implements VirtioDeviceState {
        /** @throws IllegalArgumentException for an empty, wrapping or unaligned range */
        public State {
            checkRegion(MemoryRegion.of(start, size));
        }

        public MemoryRegion region() {
            return MemoryRegion.of(start, size);
        }
    }

    /** A device that continues from {@code state} once its transport {@link #resume}s it. */
    public static VirtioPmem restore(State state) {
        return new VirtioPmem(state.region());
    }

    /** The guest-physical range this device announces. */
    public MemoryRegion region() {
        return region;
    }

    @Override
    public State state() {
        return new State(region.start().value(), region.size());
    }

    @Override
    public void resume(VirtioContext newContext) {
        context = newContext; // nothing was held: requests left in the ring are served on the next notification
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

    /** Flushes are rare (the image is read-only) and answered at once. */
    @Override
    public boolean notifiesOften(int index) {
        return false;
    }

    @Override
    public int configSize() {
        return CONFIG_SIZE;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        System.arraycopy(config, offset, data, 0, data.length);
    }

    @Override
    public void writeConfig(int offset, byte[] data) {
        // read-only configuration
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
        boolean answered = false;
        DescriptorChain request;
        while ((request = queue.pop()) != null) {
            answer(request);
            queue.addUsed(request);
            answeredRequests++;
            answered = true;
        }
        if (answered && queue.needsNotification()) {
            c.signalUsed();
        }
    }

    /** Reads the request's type and writes the answer. */
    private static void answer(DescriptorChain request) {
        if (request.readableLength() < REQUEST_BYTES || request.writableLength() < RESPONSE_BYTES) {
            throw new VirtioGuestException(String.format("virtio-pmem: request at head %d needs %d device-readable bytes "
                    + "then %d device-writable ones, has %d and %d", request.headIndex(), REQUEST_BYTES, RESPONSE_BYTES,
                    request.readableLength(), request.writableLength()));
        }
        byte[] type = new byte[REQUEST_BYTES];
        request.read(type, 0, REQUEST_BYTES);
        int ret = ByteBuffer.wrap(type).order(ByteOrder.LITTLE_ENDIAN).getInt() == REQUEST_FLUSH ? RESPONSE_OK : RESPONSE_EIO;
        byte[] response = ByteBuffer.allocate(RESPONSE_BYTES).order(ByteOrder.LITTLE_ENDIAN).putInt(ret).array();
        request.write(response, 0, RESPONSE_BYTES);
    }

    /** Requests answered so far, flushes and refused types alike. */
    public long answeredRequests() {
        return answeredRequests;
    }

    @Override
    public void reset() {
        context = null;
    }

    @Override
    public String toString() {
        return "virtio-pmem " + region;
    }
}
