package dev.arrow.kvm.virtio;

import static dev.arrow.kvm.virtio.VirtioMmioRegisters.*;

import dev.arrow.kvm.device.BusDevice;
import dev.arrow.kvm.device.InterruptTrigger;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.GuestMemoryException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio-mmio transport (version 2, virtio 1.x section 4.2) in front of one
 * {@link VirtioDevice}: the register file a guest driver sees in the device's 4 KiB window, feature
 * negotiation, queue setup, status and interrupt bookkeeping. Register it on the MMIO bus at the
 * window's base; announce it to Linux with {@code virtio_mmio.device=4K@<base>:<irq>}.
 *
 * <p>Guest input is hostile: control registers accept only aligned 32-bit accesses and the
 * configuration space only 1, 2, 4 or 8-byte accesses inside the device's configuration size;
 * anything else is ignored (reads return zeros) and logged, never thrown. A queue is validated
 * when the driver sets QueueReady. Protocol violations and every {@link VirtioGuestException} a
 * device throws put the device into the failed state: DEVICE_NEEDS_RESET is set, a
 * configuration-change interrupt is raised, the device is reset and stays silent until the driver
 * writes 0 to Status, and the error goes to the {@link GuestErrorListener}.
 *
 * <p>Notifications arrive through a QueueNotify write (an MMIO exit on a vCPU thread) or through
 * {@link #notifyQueue(int)} and {@link #pollQueue(int)} (the VMM's ioeventfd loop). Interrupts leave through the injected
 * {@link InterruptTrigger} (irqfd or KVM_IRQ_LINE). Host-initiated device work runs on the
 * injected executor ({@link VirtioContext#submit}).
 *
 * <p>State: {@link #state()} captures the registers, each queue and the device's own state as a
 * {@link State}; {@link #restore} builds a transport that continues from one over a copy of the
 * guest memory it was captured with. A device that failed keeps only that fact (DEVICE_NEEDS_RESET),
 * not the error.
 *
 * <p>Thread-safe: every entry point holds this object's lock, and so does all device code.
 * {@link #close()} guarantees that no device code touches guest memory afterwards.
 */
public final class VirtioMmioTransport implements BusDevice, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(VirtioMmioTransport.class);
    /** Guest-caused warnings (ignored accesses, refused features, guest errors) logged at WARN before the rest go to DEBUG. */
    private static final int WARN_LIMIT = 16;

    private final String name;
    private final VirtioDevice device;
    private final GuestMemory memory;
    private final InterruptTrigger interrupt;
    private final GuestErrorListener errorListener;
    private final Executor hostTasks;
    private final long offeredFeatures;
    private final QueueRegisters[] queues;

    private int status;
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private boolean driverFeaturesBeyond64;
    private int queueSel;
    private int interruptStatus;
    private int configGeneration;
    private Context context;
    private VirtioGuestException failure;
    private boolean closed;
    private int guestWarnings;

    /** The registers of one queue as the driver programs them. */
    private static final class QueueRegisters {
        final int maxSize;
        int size;
        boolean ready;
        long descriptorTable;
        long availableRing;
        long usedRing;
        QueueLayout layout;
        SplitQueue queue;

        QueueRegisters(int maxSize) {
            this.maxSize = maxSize;
            this.size = maxSize;
        }

        void clear() {
            if (queue != null) {
                queue.disable();
            }
            queue = null;
            layout = null;
            ready = false;
            size = maxSize;
            descriptorTable = 0;
            availableRing = 0;
            usedRing = 0;
        }
    }

    /**
     * A transport whose host-initiated device work runs on the calling thread and whose guest
     * errors are only logged.
     */
    public VirtioMmioTransport(String name, VirtioDevice device, GuestMemory memory, InterruptTrigger interrupt) {
        this(name, device, memory, interrupt, GuestErrorListener.NONE, Runnable::run);
    }

    /**
     * @param name          for logs and error reports, e.g. "virtio-console@0xd0000000"
     * @param interrupt     raises the device's interrupt line (edge)
     * @param errorListener told when the guest breaks the rules
     * @param hostTasks     runs device work that host threads start ({@code Runnable::run} runs it
     *                      on the host thread itself)
     */
    public VirtioMmioTransport(String name, VirtioDevice device, GuestMemory memory, InterruptTrigger interrupt,
                               GuestErrorListener errorListener, Executor hostTasks) {
        this.name = Objects.requireNonNull(name, "name");
        this.device = Objects.requireNonNull(device, "device");
        this.memory = Objects.requireNonNull(memory, "memory");
        this.interrupt = Objects.requireNonNull(interrupt, "interrupt");
        this.errorListener = Objects.requireNonNull(errorListener, "errorListener");
        this.hostTasks = Objects.requireNonNull(hostTasks, "hostTasks");
        int count = device.queueCount();
        if (count < 0 || count > 0xffff) {
            throw new IllegalArgumentException(name + ": queue count " + count + " out of range");
        }
        queues = new QueueRegisters[count];
        for (int i = 0; i < count; i++) {
            int max = device.queueMaxSize(i);
            if (max <= 0 || max > QueueLayout.MAX_SIZE || Integer.bitCount(max) != 1) {
                throw new IllegalArgumentException(name + ": queue " + i + " maximum size " + max
                        + " is not a power of two in 1.." + QueueLayout.MAX_SIZE);
            }
            queues[i] = new QueueRegisters(max);
        }
        long deviceBits = device.deviceFeatures();
        if ((deviceBits & ~0xFF_FFFFL) != 0) {
            throw new IllegalArgumentException(name + ": device features must use bits 0..23 only, got 0x"
                    + Long.toHexString(deviceBits));
        }
        this.offeredFeatures = deviceBits | VirtioFeatures.VERSION_1 | VirtioFeatures.INDIRECT_DESC
                | VirtioFeatures.EVENT_IDX;
    }

    /** Every status bit a device can have: those of {@link DeviceStatus}. */
    private static final int KNOWN_STATUS = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.DRIVER_OK
            | DeviceStatus.FEATURES_OK | DeviceStatus.DEVICE_NEEDS_RESET | DeviceStatus.FAILED;

    /**
     * The guest-visible state of a transport and its device: the registers the driver wrote,
     * InterruptStatus (interrupts raised and not yet acknowledged), ConfigGeneration, each queue,
     * and the device's own state. Host collaborators (memory, interrupt line, executor) are not
     * part of it.
     *
     * @param queues one entry per queue of the device, in index order
     */
    public record State(int status, int deviceFeaturesSel, int driverFeaturesSel, long driverFeatures,
                        boolean driverFeaturesBeyond64, int queueSel, int interruptStatus, int configGeneration,
                        List<QueueState> queues, VirtioDeviceState device) {
        /** @throws IllegalArgumentException naming the field that no transport could have produced */
        public State {
            if ((status & ~KNOWN_STATUS) != 0) {
                throw new IllegalArgumentException(String.format("transport state: unknown status bits 0x%x in %s",
                        status & ~KNOWN_STATUS, DeviceStatus.describe(status)));
            }
            if ((status & DeviceStatus.DRIVER_OK) != 0 && (status & DeviceStatus.FEATURES_OK) == 0) {
                throw new IllegalArgumentException("transport state: DRIVER_OK without FEATURES_OK");
            }
            int interrupts = INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG_CHANGE;
            if ((interruptStatus & ~interrupts) != 0) {
                throw new IllegalArgumentException(String.format(
                        "transport state: unknown interrupt status bits 0x%x", interruptStatus & ~interrupts));
            }
            if (queues == null || device == null) {
                throw new IllegalArgumentException("transport state: queues and device state are required");
            }
            queues = List.copyOf(queues);
            boolean active = isActive(status);
            for (int i = 0; i < queues.size(); i++) {
                QueueState q = queues.get(i);
                if (active && q.ready() && q.queue() == null) {
                    throw new IllegalArgumentException("transport state: queue " + i
                            + " is ready in an active device but has no queue state");
                }
                if (!active && q.queue() != null) {
                    throw new IllegalArgumentException("transport state: queue " + i
                            + " has queue state but the device is not active (status " + DeviceStatus.describe(status) + ")");
                }
            }
        }

        /** DRIVER_OK and not failed: the device runs and its ready queues carry indices. */
        static boolean isActive(int status) {
            return (status & DeviceStatus.DRIVER_OK) != 0 && (status & DeviceStatus.DEVICE_NEEDS_RESET) == 0;
        }
    }

    /**
     * One queue's registers as the driver wrote them and, while the device is active and the
     * queue ready, the device side of the queue ({@code queue}, else null).
     */
    public record QueueState(int size, boolean ready, long descriptorTable, long availableRing, long usedRing,
                             SplitQueue.State queue) {
        /** @throws IllegalArgumentException for a ready queue with an impossible layout, or queue state that contradicts the registers */
        public QueueState {
            QueueLayout layout = layoutOf(size, descriptorTable, availableRing, usedRing);
            if (ready) {
                try {
                    layout.checkShape(QueueLayout.MAX_SIZE, "queue state");
                } catch (VirtioGuestException e) {
                    throw new IllegalArgumentException(e.getMessage(), e);
                }
            }
            if (queue != null && (!ready || !queue.layout().equals(layout))) {
                throw new IllegalArgumentException("queue state: the queue's layout " + queue.layout()
                        + " is not the one its registers describe (ready " + ready + ", " + layout + ")");
            }
        }

        QueueLayout layout() {
            return layoutOf(size, descriptorTable, availableRing, usedRing);
        }

        private static QueueLayout layoutOf(int size, long descriptorTable, long availableRing, long usedRing) {
            return new QueueLayout(size, GuestAddress.of(descriptorTable), GuestAddress.of(availableRing),
                    GuestAddress.of(usedRing));
        }
    }

    /**
     * The transport's and its device's state as they stand.
     *
     * @throws IllegalStateException if the transport is closed, or the device refuses (see its
     *     {@link VirtioDevice#state()})
     */
    public synchronized State state() {
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
        List<QueueState> queueStates = new ArrayList<>(queues.length);
        for (QueueRegisters q : queues) {
            queueStates.add(new QueueState(q.size, q.ready, q.descriptorTable, q.availableRing, q.usedRing,
                    q.queue == null ? null : q.queue.state()));
        }
        return new State(status, deviceFeaturesSel, driverFeaturesSel, driverFeatures, driverFeaturesBeyond64,
                queueSel, interruptStatus, configGeneration, queueStates, device.state());
    }

    /**
     * A transport that continues from {@code state} in front of {@code device}, which was built
     * from {@code state.device()} by its class's {@code restore} factory; {@code memory} holds the
     * guest RAM the state was captured with (or a copy of it). An active device gets
     * {@link VirtioDevice#resume} instead of {@link VirtioDevice#activate}. Raises no interrupt:
     * pending interrupt status is restored as bits, the interrupt controller's state is the VMM's.
     * The other parameters are those of the constructor.
     *
     * @throws IllegalArgumentException if the state does not fit the device or the memory
     */
    public static VirtioMmioTransport restore(State state, String name, VirtioDevice device, GuestMemory memory,
                                              InterruptTrigger interrupt, GuestErrorListener errorListener,
                                              Executor hostTasks) {
        VirtioMmioTransport transport = new VirtioMmioTransport(name, device, memory, interrupt, errorListener, hostTasks);
        synchronized (transport) {
            transport.load(state);
        }
        return transport;
    }

    private void load(State state) {
        if (!state.device().equals(device.state())) {
            throw new IllegalArgumentException(name + ": the device was not built from the state's device state");
        }
        if (state.queues().size() != queues.length) {
            throw new IllegalArgumentException(name + ": state has " + state.queues().size() + " queues, the device "
                    + queues.length);
        }
        for (int i = 0; i < queues.length; i++) {
            QueueState saved = state.queues().get(i);
            QueueRegisters q = queues[i];
            q.size = saved.size();
            q.descriptorTable = saved.descriptorTable();
            q.availableRing = saved.availableRing();
            q.usedRing = saved.usedRing();
            if (saved.ready()) {
                QueueLayout layout = saved.layout();
                try {
                    layout.validate(memory, q.maxSize, name + " queue " + i);
                } catch (VirtioGuestException e) {
                    throw new IllegalArgumentException("cannot restore " + e.getMessage(), e);
                }
                q.layout = layout;
                q.ready = true;
            }
        }
        status = state.status();
        deviceFeaturesSel = state.deviceFeaturesSel();
        driverFeaturesSel = state.driverFeaturesSel();
        driverFeatures = state.driverFeatures();
        driverFeaturesBeyond64 = state.driverFeaturesBeyond64();
        queueSel = state.queueSel();
        interruptStatus = state.interruptStatus();
        configGeneration = state.configGeneration();
        if ((status & DeviceStatus.DEVICE_NEEDS_RESET) != 0) {
            failure = new VirtioGuestException(name + ": failed before its state was captured; waiting for a driver reset");
        }
        if (State.isActive(status)) {
            if ((driverFeatures & ~offeredFeatures) != 0) {
                throw new IllegalArgumentException(String.format("%s: state's driver features 0x%x include some the device does not offer (0x%x)",
                        name, driverFeatures, offeredFeatures));
            }
            for (int i = 0; i < queues.length; i++) {
                if (queues[i].ready) {
                    long limit = Math.min(device.maxChainBytes(i), SplitQueue.MAX_CHAIN_BYTES);
                    queues[i].queue = SplitQueue.restore(memory, state.queues().get(i).queue(), limit, name + " queue " + i);
                }
            }
            Context restored = new Context(driverFeatures);
            context = restored;
            try {
                device.resume(restored);
            } catch (VirtioGuestException e) {
                throw new IllegalArgumentException("cannot restore " + name + ": " + e.getMessage(), e);
            }
        }
    }

    public String name() {
        return name;
    }

    public VirtioDevice device() {
        return device;
    }

    /** Features offered to the driver. */
    public long offeredFeatures() {
        return offeredFeatures;
    }

    /** The Status register. */
    public synchronized int status() {
        return status;
    }

    public synchronized int interruptStatus() {
        return interruptStatus;
    }

    /** The features the driver wrote (final once FEATURES_OK is set). */
    public synchronized long driverFeatures() {
        return driverFeatures;
    }

    /** True between DRIVER_OK and the next reset, guest error or close. */
    public synchronized boolean isActive() {
        return context != null;
    }

    /** The guest error that failed the device, or null. Cleared by a driver reset. */
    public synchronized VirtioGuestException failure() {
        return failure;
    }

    // ---- BusDevice ----

    @Override
    public synchronized void read(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
        if (closed) {
            return;
        }
        if (offset >= CONFIG) {
            long configOffset = offset - CONFIG;
            if (!configAccessOk(configOffset, data.length)) {
                ignored("read", offset, data.length);
                return;
            }
            device.readConfig((int) configOffset, data);
            return;
        }
        if (data.length != 4 || offset < 0 || (offset & 3) != 0) {
            ignored("read", offset, data.length);
            return;
        }
        int value = readRegister((int) offset);
        data[0] = (byte) value;
        data[1] = (byte) (value >>> 8);
        data[2] = (byte) (value >>> 16);
        data[3] = (byte) (value >>> 24);
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        if (closed) {
            return;
        }
        if (offset >= CONFIG) {
            long configOffset = offset - CONFIG;
            if (!configAccessOk(configOffset, data.length)) {
                ignored("write", offset, data.length);
                return;
            }
            device.writeConfig((int) configOffset, data.clone());
            return;
        }
        if (data.length != 4 || offset < 0 || (offset & 3) != 0) {
            ignored("write", offset, data.length);
            return;
        }
        int value = (data[0] & 0xff) | (data[1] & 0xff) << 8 | (data[2] & 0xff) << 16 | (data[3] & 0xff) << 24;
        writeRegister((int) offset, value);
    }

    /**
     * An available-buffer notification for queue {@code index}, as from a QueueNotify write: the
     * entry point for the VMM's ioeventfd loop. Ignored unless the device is active and the queue
     * enabled.
     */
    public synchronized void notifyQueue(int index) {
        if (closed || context == null || index < 0 || index >= queues.length || queues[index].queue == null) {
            return;
        }
        runDevice(() -> device.queueNotify(index));
    }

    /**
     * A notification queue {@code index} may have been given: the VMM's event loop was woken for
     * one of several queues and does not know which. As {@link #notifyQueue}, but the device is
     * called only if the queue holds buffers it has not taken yet (a driver notifies only after
     * making buffers available, so a queue without any was not the one notified).
     */
    public synchronized void pollQueue(int index) {
        if (closed || context == null || index < 0 || index >= queues.length || queues[index].queue == null) {
            return;
        }
        SplitQueue queue = queues[index].queue;
        runDevice(() -> {
            if (queue.hasAvailable()) {
                device.queueNotify(index);
            }
        });
    }

    /**
     * The guest stopped for good; guest memory is still mapped. Lets the device finish what the
     * guest left in its queues (see {@link VirtioDevice#guestStopped()}).
     */
    public synchronized void guestStopped() {
        if (closed) {
            return;
        }
        runDevice(device::guestStopped);
    }

    /**
     * Stops the device for good: after this returns, no device code touches guest memory, so
     * the VMM may unmap it. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        if (log.isDebugEnabled()) {
            log.debug("{} closing: {}", name, describeState());
        }
        deactivate();
        closed = true;
        device.close();
    }

    /**
     * For diagnostics (a stalled device shows which side stopped): whether the driver runs the
     * device, InterruptStatus (a bit still set is an interrupt the driver has not acknowledged) and
     * each enabled queue's indices.
     */
    String describeState() {
        StringBuilder text = new StringBuilder(context != null ? "active" : failure != null ? "failed" : "not active");
        text.append(", interrupt status 0x").append(Integer.toHexString(interruptStatus));
        for (QueueRegisters q : queues) {
            if (q.queue != null) {
                text.append("; ").append(q.queue.describeState());
            }
        }
        return text.toString();
    }

    // ---- registers ----

    private int readRegister(int offset) {
        switch (offset) {
            case MAGIC_VALUE:
                return MAGIC;
            case VERSION_REG:
                return VERSION;
            case DEVICE_ID:
                return device.deviceType();
            case VENDOR_ID_REG:
                return VENDOR_ID;
            case DEVICE_FEATURES:
                return switch (deviceFeaturesSel) {
                    case 0 -> (int) offeredFeatures;
                    case 1 -> (int) (offeredFeatures >>> 32);
                    default -> 0;
                };
            case QUEUE_NUM_MAX: {
                QueueRegisters q = selectedQueue();
                return q == null ? 0 : q.maxSize;
            }
            case QUEUE_READY: {
                QueueRegisters q = selectedQueue();
                return q != null && q.ready ? 1 : 0;
            }
            case INTERRUPT_STATUS:
                return interruptStatus;
            case STATUS:
                return status;
            case SHM_LEN_LOW:
            case SHM_LEN_HIGH:
            case SHM_BASE_LOW:
            case SHM_BASE_HIGH:
                return -1; // no shared memory regions: length and base read as all ones
            case QUEUE_RESET:
                return 0;
            case CONFIG_GENERATION:
                return configGeneration;
            default:
                ignored("read", offset, 4); // write-only or unknown register
                return 0;
        }
    }

    private void writeRegister(int offset, int value) {
        switch (offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = value;
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = value;
            case DRIVER_FEATURES -> writeDriverFeatures(value);
            case QUEUE_SEL -> queueSel = value;
            case QUEUE_NUM -> {
                QueueRegisters q = writableQueue("QueueNum");
                if (q != null) {
                    q.size = value;
                }
            }
            case QUEUE_READY -> writeQueueReady(value);
            case QUEUE_NOTIFY -> notifyQueue(value & 0xffff);
            case INTERRUPT_ACK -> interruptStatus &= ~value;
            case STATUS -> writeStatus(value);
            case QUEUE_DESC_LOW -> setQueueAddress(0, false, value);
            case QUEUE_DESC_HIGH -> setQueueAddress(0, true, value);
            case QUEUE_DRIVER_LOW -> setQueueAddress(1, false, value);
            case QUEUE_DRIVER_HIGH -> setQueueAddress(1, true, value);
            case QUEUE_DEVICE_LOW -> setQueueAddress(2, false, value);
            case QUEUE_DEVICE_HIGH -> setQueueAddress(2, true, value);
            case SHM_SEL -> { } // no shared memory regions to select
            default -> ignored("write", offset, 4); // read-only, QueueReset (not offered) or unknown
        }
    }

    private void writeDriverFeatures(int value) {
        if ((status & DeviceStatus.FEATURES_OK) != 0 || failure != null) {
            ignored("DriverFeatures write after FEATURES_OK", DRIVER_FEATURES, 4);
            return;
        }
        long bits = Integer.toUnsignedLong(value);
        switch (driverFeaturesSel) {
            case 0 -> driverFeatures = (driverFeatures & 0xFFFF_FFFF_0000_0000L) | bits;
            case 1 -> driverFeatures = (driverFeatures & 0xFFFF_FFFFL) | (bits << 32);
            default -> driverFeaturesBeyond64 |= value != 0;
        }
    }

    private QueueRegisters selectedQueue() {
        return queueSel >= 0 && queueSel < queues.length ? queues[queueSel] : null;
    }

    /** The selected queue if its configuration may be written (it exists and is not ready). */
    private QueueRegisters writableQueue(String register) {
        QueueRegisters q = selectedQueue();
        if (q == null || q.ready || failure != null) {
            ignored(register + " write for queue " + Integer.toUnsignedString(queueSel)
                    + (q == null ? " (no such queue)" : q.ready ? " (queue is ready)" : " (device failed)"), -1, 4);
            return null;
        }
        return q;
    }

    private void setQueueAddress(int which, boolean high, int value) {
        QueueRegisters q = writableQueue(switch (which) {
            case 0 -> "QueueDesc";
            case 1 -> "QueueDriver";
            default -> "QueueDevice";
        });
        if (q == null) {
            return;
        }
        long current = switch (which) {
            case 0 -> q.descriptorTable;
            case 1 -> q.availableRing;
            default -> q.usedRing;
        };
        long bits = Integer.toUnsignedLong(value);
        long updated = high ? (current & 0xFFFF_FFFFL) | (bits << 32) : (current & 0xFFFF_FFFF_0000_0000L) | bits;
        switch (which) {
            case 0 -> q.descriptorTable = updated;
            case 1 -> q.availableRing = updated;
            default -> q.usedRing = updated;
        }
    }

    private void writeQueueReady(int value) {
        QueueRegisters q = selectedQueue();
        if (q == null || failure != null) {
            ignored("QueueReady write for queue " + Integer.toUnsignedString(queueSel), QUEUE_READY, 4);
            return;
        }
        int index = queueSel;
        if (value == 0) {
            if (q.queue != null) {
                q.queue.disable();
            }
            q.queue = null;
            q.layout = null;
            q.ready = false;
            return;
        }
        if (q.ready) {
            return;
        }
        QueueLayout layout = new QueueLayout(q.size, GuestAddress.of(q.descriptorTable),
                GuestAddress.of(q.availableRing), GuestAddress.of(q.usedRing));
        try {
            layout.validate(memory, q.maxSize, "queue " + index);
        } catch (VirtioGuestException e) {
            fail(e);
            return;
        }
        q.layout = layout;
        q.ready = true;
        if (context != null) {
            long features = context.features;
            runDevice(() -> createQueue(index, features));
        }
    }

    private void createQueue(int index, long features) {
        QueueRegisters q = queues[index];
        long limit = Math.min(device.maxChainBytes(index), SplitQueue.MAX_CHAIN_BYTES);
        q.queue = new SplitQueue(memory, q.layout, features, limit, name + " queue " + index);
    }

    private void writeStatus(int value) {
        if (value == 0) {
            reset();
            return;
        }
        if (failure != null) {
            ignored("Status write 0x" + Integer.toHexString(value) + " while the device needs a reset", STATUS, 4);
            return;
        }
        int requested = value & 0xff & ~DeviceStatus.DEVICE_NEEDS_RESET;
        if ((value & ~0xff) != 0) {
            ignored("Status bits 0x" + Integer.toHexString(value & ~0xff), STATUS, 4);
        }
        int cleared = status & ~requested;
        if (cleared != 0) {
            fail(new VirtioGuestException(String.format("%s: the driver cleared status bits %s (status %s -> %s)",
                    name, DeviceStatus.describe(cleared), DeviceStatus.describe(status), DeviceStatus.describe(requested))));
            return;
        }
        int added = requested & ~status;
        if ((added & DeviceStatus.FEATURES_OK) != 0 && !featuresAcceptable()) {
            requested &= ~DeviceStatus.FEATURES_OK;
            added &= ~DeviceStatus.FEATURES_OK;
        }
        if ((added & DeviceStatus.DRIVER_OK) != 0 && (requested & DeviceStatus.FEATURES_OK) == 0) {
            fail(new VirtioGuestException(name + ": the driver set DRIVER_OK without FEATURES_OK"));
            return;
        }
        if ((added & DeviceStatus.FAILED) != 0) {
            warn("{}: the guest driver gave up on the device (status FAILED)", name);
        }
        status = requested;
        if ((added & DeviceStatus.DRIVER_OK) != 0) {
            activate();
        }
    }

    private boolean featuresAcceptable() {
        long unsupported = driverFeatures & ~offeredFeatures;
        if (unsupported != 0 || driverFeaturesBeyond64) {
            warn("{}: refusing FEATURES_OK: the driver accepted features the device does not offer (0x{})",
                    name, Long.toHexString(unsupported));
            return false;
        }
        if (!VirtioFeatures.has(driverFeatures, VirtioFeatures.VERSION_1)) {
            warn("{}: refusing FEATURES_OK: the driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not supported)",
                    name);
            return false;
        }
        return true;
    }

    private void activate() {
        Context created = new Context(driverFeatures);
        try {
            for (int i = 0; i < queues.length; i++) {
                if (queues[i].ready) {
                    createQueue(i, driverFeatures);
                }
            }
        } catch (VirtioGuestException e) {
            fail(e);
            return;
        }
        context = created;
        runDevice(() -> device.activate(created));
    }

    /** Driver reset (Status = 0): back to the power-on state. */
    private void reset() {
        if (context != null) {
            runDevice(device::driverResetting);
        }
        deactivate();
        for (QueueRegisters q : queues) {
            q.clear();
        }
        status = 0;
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        driverFeatures = 0;
        driverFeaturesBeyond64 = false;
        queueSel = 0;
        interruptStatus = 0;
        failure = null;
    }

    /** Ends the current activation: the context goes stale, the queues stop, the device forgets. */
    private void deactivate() {
        if (context != null) {
            context.live = false;
            context = null;
        }
        for (QueueRegisters q : queues) {
            if (q.queue != null) {
                q.queue.disable();
                q.queue = null;
            }
        }
        device.reset();
    }

    /** Runs device code, turning guest errors into the failed state. */
    private void runDevice(Runnable action) {
        try {
            action.run();
        } catch (VirtioGuestException e) {
            fail(e);
        } catch (GuestMemoryException e) {
            fail(new VirtioGuestException(name + ": " + e.getMessage(), e));
        }
    }

    private void fail(VirtioGuestException error) {
        if (failure != null || closed) {
            return;
        }
        failure = error;
        warn("{}: guest error, device stopped until the driver resets it: {}", name, error.getMessage());
        boolean wasActive = context != null;
        deactivate(); // the registers the driver wrote stay, but nothing runs until a reset
        status |= DeviceStatus.DEVICE_NEEDS_RESET;
        if (wasActive || (status & DeviceStatus.DRIVER_OK) != 0) {
            interruptStatus |= INTERRUPT_CONFIG_CHANGE;
            configGeneration++;
            interrupt.trigger();
        }
        try {
            errorListener.guestError(name, error);
        } catch (RuntimeException e) {
            log.error("{}: guest error listener failed", name, e);
        }
    }

    private boolean configAccessOk(long configOffset, int length) {
        return (length == 1 || length == 2 || length == 4 || length == 8)
                && configOffset >= 0 && configOffset + length <= device.configSize();
    }

    private void ignored(String what, long offset, int length) {
        if (offset >= 0) {
            warn("{}: ignored guest {} at offset 0x{}, width {}", name, what, Long.toHexString(offset), length);
        } else {
            warn("{}: ignored guest {}", name, what);
        }
    }

    /** Logs something the guest caused: WARN for the first {@link #WARN_LIMIT}, then DEBUG. */
    private void warn(String format, Object... args) {
        if (guestWarnings < WARN_LIMIT) {
            guestWarnings++;
            log.warn(format, args);
            if (guestWarnings == WARN_LIMIT) {
                log.warn("{}: further guest-caused warnings are logged at DEBUG", name);
            }
        } else {
            log.debug(format, args);
        }
    }

    @Override
    public String toString() {
        return "virtio-mmio " + name;
    }

    /** One activation's view of the transport. */
    private final class Context implements VirtioContext {
        final long features;
        boolean live = true; // guarded by the transport's lock

        Context(long features) {
            this.features = features;
        }

        @Override
        public GuestMemory memory() {
            return memory;
        }

        @Override
        public long features() {
            return features;
        }

        @Override
        public SplitQueue queue(int index) {
            synchronized (VirtioMmioTransport.this) {
                if (!live || index < 0 || index >= queues.length) {
                    return null;
                }
                return queues[index].queue;
            }
        }

        @Override
        public void signalUsed() {
            synchronized (VirtioMmioTransport.this) {
                if (live && !closed) {
                    interruptStatus |= INTERRUPT_USED_BUFFER;
                    interrupt.trigger();
                }
            }
        }

        @Override
        public void signalConfigChange() {
            synchronized (VirtioMmioTransport.this) {
                if (live && !closed) {
                    interruptStatus |= INTERRUPT_CONFIG_CHANGE;
                    configGeneration++;
                    interrupt.trigger();
                }
            }
        }

        @Override
        public void submit(Runnable task) {
            Objects.requireNonNull(task, "task");
            try {
                hostTasks.execute(() -> {
                    synchronized (VirtioMmioTransport.this) {
                        if (live && !closed) {
                            runDevice(task);
                        }
                    }
                });
            } catch (RejectedExecutionException e) {
                // the VMM is shutting its executor down: the device is about to be closed anyway
                log.debug("{}: host task dropped, executor refused it: {}", name, e.toString());
            }
        }

        @Override
        public boolean isLive() {
            synchronized (VirtioMmioTransport.this) {
                return live && !closed;
            }
        }
    }
}
