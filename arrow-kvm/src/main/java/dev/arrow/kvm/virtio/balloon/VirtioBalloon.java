package dev.arrow.kvm.virtio.balloon;

import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.GuestMemoryException;
import dev.arrow.kvm.virtio.DescriptorChain;
import dev.arrow.kvm.virtio.SplitQueue;
import dev.arrow.kvm.virtio.VirtioContext;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioGuestException;
import dev.arrow.kvm.x86.Layout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtio memory balloon (device type 5, virtio 1.x "Memory Balloon Device"; Linux's
 * {@code drivers/virtio/virtio_balloon.c}) used for one thing only: <em>free page reporting</em>. The guest's page
 * allocator hands blocks it has free to the device on the reporting queue, the device gives their host pages back
 * ({@link GuestMemory#discardPages}: {@code madvise(MADV_DONTNEED)} on guest RAM) and returns each report as used.
 * It offers {@link #F_REPORTING} alone and never asks for memory ({@code num_pages} stays 0), so the guest never
 * inflates the balloon; should a driver put pages in the inflate or deflate queue anyway, they are acknowledged and
 * left alone.
 *
 * <p>Queues: the inflate ({@link #INFLATE_QUEUE}) and deflate ({@link #DEFLATE_QUEUE}) queues always exist. The
 * specification lists statsq as 2, free_page_vq as 3 and reporting_vq as 4, but each of those exists only with its
 * feature, and Linux numbers only the queues that exist ({@code vm_find_vqs} in {@code virtio_mmio.c} gives the next
 * index to each queue it sets up and skips absent ones), so without STATS_VQ and FREE_PAGE_HINT, which this device
 * does not offer, the reporting queue is {@link #REPORTING_QUEUE}, 2. Linux refuses a reporting queue shorter than
 * its 32-entry report (PAGE_REPORTING_CAPACITY, without indirect descriptors, which the driver turns off): hence
 * {@link #QUEUE_SIZE}.
 *
 * <p>A report is a chain of device-writable buffers, one per free block (page aligned, {@code 4 KiB << order}).
 * Everything in it is checked before any page is given back: a readable buffer, an empty one, one not aligned to
 * 4 KiB (or outside guest RAM, or wrapping, which the queue refuses already) is a guest error
 * ({@link VirtioGuestException}) and the device stops until the driver resets it; nothing of that report is
 * discarded. The guest's reporting then waits for good (Linux waits for each report's return), the rest of the
 * guest runs on.
 *
 * <p>Content of reported pages: Linux may reuse a reported page at any time and expects nothing of its content; it
 * asks the device to keep a value in free pages only through VIRTIO_BALLOON_F_PAGE_POISON, which this device does
 * not offer (and with page poisoning or {@code init_on_free} on, the driver then turns reporting off itself). So a
 * discarded page may read as zero (anonymous RAM), as the file behind it (a page of the kernel image mapped
 * copy-on-write, or of a template's RAM in a clone: the private copy is dropped and the page is the file's again), or
 * unchanged (a template's own RAM, a shared memory file, gives nothing back): each is a content the guest had or
 * zero, never another guest's.
 *
 * <p>The guest reports only free blocks of order {@link #REPORTING_ORDER} or more, and only while its zone has
 * {@code 32 << order} pages free above its low watermark: the device asks for that order on the kernel command line
 * ({@link #kernelParameters()}; Arrow's guest kernel is patched so that the value is kept, see
 * {@code kernel/guest.patches}).
 *
 * <p>State: each report is answered as soon as it is taken from the queue, so the device holds no chain; its
 * {@link State} is the {@code actual} field the driver writes into the configuration space. The queues' state is
 * the transport's. Counters ({@link #reports()}, {@link #reportedBytes()}) are not state.
 */
public final class VirtioBalloon implements VirtioDevice {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioBalloon.class);

    public static final int DEVICE_TYPE = 5;
    /** VIRTIO_BALLOON_F_REPORTING (bit 5): the reporting queue exists. */
    public static final long F_REPORTING = 1L << 5;
    public static final int INFLATE_QUEUE = 0;
    public static final int DEFLATE_QUEUE = 1;
    /** The reporting queue's index when neither STATS_VQ nor FREE_PAGE_HINT is negotiated (see the class comment). */
    public static final int REPORTING_QUEUE = 2;
    /** Every queue's QueueNumMax: the 32 entries of one Linux report (PAGE_REPORTING_CAPACITY), Linux's minimum. */
    public static final int QUEUE_SIZE = 32;
    /**
     * The smallest free block the guest reports: order 5, 128 KiB. Linux's default is its pageblock order, which is
     * MAX_ORDER - 1 (4 MiB) in a guest kernel without huge pages; a zone must then have 128 MiB free above its low
     * watermark before anything is reported, so no guest of 128 MiB or less would ever report. At order 5 a
     * report needs 4 MiB free above the watermark (fine for the smallest guest, 32 MiB), a freed block of 128 KiB
     * or more is given back, and reports stay coarse: at most 32 blocks per exit, 4 MiB at least, and a free list
     * whose blocks come and go in smaller pieces (the slab allocator's pages, the page cache's churn) is left
     * alone. Smaller orders report more often and cost a guest page fault for every page it later takes again.
     */
    public static final int REPORTING_ORDER = 5;
    /** The largest order Linux 6.1 has on x86-64 (MAX_ORDER - 1): a 4 MiB block. */
    public static final int MAX_REPORTING_ORDER = 10;
    /** Linux's kernel parameter for the order ({@code mm/page_reporting.c}, built in, so prefixed with its file). */
    public static final String REPORTING_ORDER_PARAMETER = "page_reporting.page_reporting_order";
    /**
     * The longest report: 32 blocks of the largest order Linux has (MAX_ORDER - 1 = 10, 4 MiB). The queue's
     * default chain limit (16 MiB) would refuse a report of large blocks.
     */
    public static final long MAX_REPORT_BYTES = 32 * (4 * Layout.MiB);
    /** {@code struct virtio_balloon_config} up to {@code actual}: {@code le32 num_pages; le32 actual}. The fields after it exist with FREE_PAGE_HINT and PAGE_POISON only. */
    public static final int CONFIG_SIZE = 8;
    private static final int ACTUAL_OFFSET = 4;

    private final int reportingOrder;
    // guarded by the transport's lock
    private VirtioContext context;
    /** The {@code actual} field as the driver last wrote it (pages it says are in the balloon). */
    private int actual;
    private boolean ignoredLogged;
    private volatile long reports;
    private volatile long reportedBytes;

    /**
     * The guest-visible state of the balloon.
     *
     * @param actualPages the configuration's {@code actual} field, as the driver last wrote it (any 32-bit value)
     */
    public record State(int actualPages) implements VirtioDeviceState {
    }

    /** A balloon that asks the guest to report free blocks of {@link #REPORTING_ORDER} or more. */
    public VirtioBalloon() {
        this(REPORTING_ORDER);
    }

    /**
     * A balloon that asks the guest to report free blocks of {@code reportingOrder} ({@code 4 KiB << order}) or more.
     *
     * @throws IllegalArgumentException if the order is outside 0..{@value #MAX_REPORTING_ORDER}
     */
    public VirtioBalloon(int reportingOrder) {
        if (reportingOrder < 0 || reportingOrder > MAX_REPORTING_ORDER) {
            throw new IllegalArgumentException("free page reporting order " + reportingOrder + " is outside 0.."
                    + MAX_REPORTING_ORDER + " (blocks of 4 KiB to 4 MiB)");
        }
        this.reportingOrder = reportingOrder;
    }

    /** The smallest free block the guest is asked to report: {@code 4 KiB << order}. */
    public int reportingOrder() {
        return reportingOrder;
    }

    /** A device that continues from {@code state} once its transport {@link #resume}s it. */
    public static VirtioBalloon restore(State state) {
        VirtioBalloon balloon = new VirtioBalloon();
        balloon.actual = state.actualPages();
        return balloon;
    }

    @Override
    public State state() {
        return new State(actual);
    }

    @Override
    public void resume(VirtioContext newContext) {
        context = newContext; // nothing was held: reports left in the ring are served on the next notification
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long deviceFeatures() {
        return F_REPORTING;
    }

    @Override
    public int queueCount() {
        return 3;
    }

    @Override
    public int queueMaxSize(int index) {
        return QUEUE_SIZE;
    }

    /**
     * No queue is busy: the guest reports free blocks in batches, at most one pass every 2 s (Linux's
     * {@code page_reporting_delay}) and only after enough memory was freed, and never uses the inflate or deflate
     * queue. So every notification is an MMIO exit served on the vCPU thread that wrote it (the guest's reporting
     * worker waits for the report's return anyway), and the interrupt is a KVM_IRQ_LINE: the balloon adds no fd
     * and no thread to an arrow.
     */
    @Override
    public boolean notifiesOften(int index) {
        return false;
    }

    @Override
    public long maxChainBytes(int index) {
        return index == REPORTING_QUEUE ? MAX_REPORT_BYTES : SplitQueue.DEFAULT_MAX_CHAIN_BYTES;
    }

    /** {@code page_reporting.page_reporting_order=}{@link #reportingOrder()}. */
    @Override
    public List<String> kernelParameters() {
        return List.of(REPORTING_ORDER_PARAMETER + "=" + reportingOrder);
    }

    @Override
    public int configSize() {
        return CONFIG_SIZE;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        byte[] config = ByteBuffer.allocate(CONFIG_SIZE).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(actual).array();
        System.arraycopy(config, offset, data, 0, data.length);
    }

    /** Takes the bytes that fall on {@code actual}; {@code num_pages} is the device's and stays 0. */
    @Override
    public void writeConfig(int offset, byte[] data) {
        byte[] config = ByteBuffer.allocate(CONFIG_SIZE).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(actual).array();
        for (int i = 0; i < data.length; i++) {
            if (offset + i >= ACTUAL_OFFSET) {
                config[offset + i] = data[i];
            }
        }
        actual = ByteBuffer.wrap(config).order(ByteOrder.LITTLE_ENDIAN).getInt(ACTUAL_OFFSET);
    }

    @Override
    public void activate(VirtioContext newContext) {
        context = newContext;
    }

    @Override
    public void queueNotify(int index) {
        VirtioContext c = context;
        SplitQueue queue = c == null ? null : c.queue(index);
        if (queue == null) {
            return;
        }
        if (index == REPORTING_QUEUE && !VirtioFeatures.has(c.features(), F_REPORTING)) {
            throw new VirtioGuestException("virtio-balloon: queue 2 is the reporting queue, which exists only with "
                    + "VIRTIO_BALLOON_F_REPORTING, and the driver did not accept it");
        }
        boolean returned = false;
        DescriptorChain chain;
        while ((chain = queue.pop()) != null) {
            if (index == REPORTING_QUEUE) {
                discard(c.memory(), chain);
            } else {
                ignore(index, chain);
            }
            queue.addUsed(chain);
            returned = true;
        }
        if (returned && queue.needsNotification()) {
            c.signalUsed();
        }
    }

    /** Checks every buffer of {@code report}, then gives their pages back. */
    private void discard(GuestMemory memory, DescriptorChain report) {
        if (report.readableCount() > 0) {
            throw new VirtioGuestException(String.format("virtio-balloon: report at head %d has %d device-readable "
                    + "buffer(s); reported pages come in device-writable buffers only", report.headIndex(),
                    report.readableCount()));
        }
        for (int i = 0; i < report.descriptorCount(); i++) {
            long address = report.address(i).value();
            long length = report.length(i);
            if (length == 0 || ((address | length) & (Layout.PAGE_SIZE - 1)) != 0) {
                throw new VirtioGuestException(String.format("virtio-balloon: report at head %d, buffer %d: "
                        + "[0x%x, +0x%x) is not a non-empty range of whole 4 KiB pages", report.headIndex(), i,
                        address, length));
            }
        }
        try {
            for (int i = 0; i < report.descriptorCount(); i++) {
                memory.discardPages(report.address(i), report.length(i));
            }
        } catch (GuestMemoryException e) {
            throw new VirtioGuestException("virtio-balloon: report at head " + report.headIndex() + ": "
                    + e.getMessage(), e);
        }
        reports++;
        reportedBytes += report.writableLength();
    }

    private void ignore(int index, DescriptorChain chain) {
        if (!ignoredLogged) {
            ignoredLogged = true;
            LOG.info("virtio-balloon: the driver put pages in the {} queue although the device asks for none; "
                    + "acknowledged, nothing given back or taken ({})", index == INFLATE_QUEUE ? "inflate" : "deflate",
                    chain);
        }
    }

    /** Reports answered so far (each gave back its blocks). */
    public long reports() {
        return reports;
    }

    /** Bytes of guest RAM reported free and given back so far (a page reported twice counts twice). */
    public long reportedBytes() {
        return reportedBytes;
    }

    @Override
    public void reset() {
        context = null;
        actual = 0;
    }

    @Override
    public String toString() {
        return "virtio-balloon (free page reporting, order " + reportingOrder + ")";
    }
}
