package dev.arrow.kvm.virtio.console;

import dev.arrow.kvm.virtio.DescriptorChain;
import dev.arrow.kvm.virtio.SplitQueue;
import dev.arrow.kvm.virtio.VirtioContext;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioGuestException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtio console (device type 3) with VIRTIO_CONSOLE_F_MULTIPORT: one generic port per host
 * stream, none of them a console (so the guest sees {@code /dev/vport<dev>p<id>} character
 * devices, not hvc ttys: no line discipline, and writes that wait instead of spinning). Ports have
 * the names and directions their user gives; Arrow's layout for the app's stdio and init's
 * control port is the backend's (see {@code docs/virtio.md} for the guest side).
 *
 * <p>Control protocol (virtio 1.x section 5.3.6.2, as Linux drives it): on DEVICE_READY the
 * device announces every port (DEVICE_ADD); on each PORT_READY it sends PORT_NAME and
 * PORT_OPEN 1 (the host end is open). PORT_OPEN from the driver tracks whether a guest process
 * has the port open. Messages go out in order; the driver's control transmit queue is always
 * drained at once (Linux spins on it).
 *
 * <p>Back-pressure: each port has a bounded host buffer. Guest output is copied from the transmit
 * queue only while the buffer has room; the rest stays in the guest's ring, so the guest's
 * writes block when its queue is full. Host input is copied into receive buffers only while the
 * guest has the port open (Linux drops data for a closed port) and blocks the host writer when
 * the buffer is full.
 *
 * <p>End of stream: guest output ends (host sees EOF after the buffered bytes) when the guest
 * closes the port (PORT_OPEN 0) or {@link #guestStopped()} is called, once every byte the guest
 * queued before has been taken; a driver reset (Linux resets the device when it shuts down) takes what the
 * guest had queued out of guest memory first ({@link #driverResetting}), so that it still follows. Closing a
 * {@link ConsolePort#toGuest()} stream sends PORT_OPEN 0
 * for that port after the last byte is in the guest's used ring: Linux's read() then returns the
 * data and then 0. After {@link #guestStopped()} writes to a {@link ConsolePort#toGuest()} stream
 * fail instead of blocking: no guest will read them.
 *
 * <p>State: {@link #state()} captures the ports as the guest knows them and the control protocol's
 * progress as a {@link State}; {@link #restore} builds a console that continues from it. Bytes in
 * a port's host buffer are not part of a state, and they are not dropped either: a byte stream that
 * loses bytes is corrupt. So a state can only be captured while the console is quiescent on the
 * host side: every port's host buffer empty (the host has read all guest output and the guest all
 * host input) and no transmit chain held back by a full buffer; otherwise {@link #state()} throws
 * {@link IllegalStateException}. Whether the host has closed a stream is the host's, not state.
 *
 * <p>No threads of its own: guest-side work runs on queue notifications, host-side work through
 * {@link VirtioContext#submit}.
 */
public final class VirtioConsole implements VirtioDevice {

    private static final Logger log = LoggerFactory.getLogger(VirtioConsole.class);

    public static final int DEVICE_TYPE = 3;
    /** Configuration cols/rows are valid (not offered). */
    public static final long F_SIZE = 1L;
    /** Several ports and the control queues (offered, and needed for more than port 0). */
    public static final long F_MULTIPORT = 1L << 1;
    /** Emergency write register (not offered). */
    public static final long F_EMERG_WRITE = 1L << 2;

    public static final int DEFAULT_QUEUE_SIZE = 32;
    public static final int DEFAULT_BUFFER_BYTES = 64 * 1024;
    /** The most guest output a port keeps when the driver resets the device with output queued (see {@link #driverResetting}). */
    static final long SALVAGE_MAX_BYTES = 16L << 20;
    /** Configuration space: le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr. */
    public static final int CONFIG_SIZE = 12;

    static final int CONTROL_RECEIVE_QUEUE = 2;
    static final int CONTROL_TRANSMIT_QUEUE = 3;
    private static final int SCRATCH_BYTES = 16 * 1024;
    /** Drops logged at WARN before the rest go to DEBUG (a guest writing to a port it should not: each write is one). */
    private static final int DROP_WARN_LIMIT = 16;

    private final ConsolePort[] ports;
    private final int queueSize;
    private final byte[] scratch = new byte[SCRATCH_BYTES];
    private final CompletableFuture<Void> outputComplete = new CompletableFuture<>();
    /** Drops logged at WARN so far (any thread). */
    private final AtomicInteger dropWarnings = new AtomicInteger();

    // All fields below are guarded by the transport's lock (every device call holds it),
    // except context, which host threads read to submit work.
    private volatile VirtioContext context;
    private boolean multiport;
    private boolean driverReady;
    private final boolean[] portAnnounced;
    private final boolean[] guestOpen;
    private final boolean[] eofSent;
    private final DescriptorChain[] pendingTransmit;
    private final ArrayDeque<ControlMessage> controlOut = new ArrayDeque<>();
    private boolean guestStopped;
    private boolean closed;

    private VirtioConsole(List<PortSpec> specs, int queueSize, int bufferBytes) {
        if (specs.isEmpty()) {
            throw new IllegalArgumentException("a virtio console needs at least one port");
        }
        if (queueSize <= 0 || queueSize > 32768 || Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException("queue size must be a power of two in 1..32768, got " + queueSize);
        }
        this.queueSize = queueSize;
        this.ports = new ConsolePort[specs.size()];
        for (int i = 0; i < ports.length; i++) {
            int id = i;
            PortSpec spec = specs.get(i);
            Runnable hostActivity = spec.direction() == ConsolePort.Direction.FROM_GUEST
                    ? () -> hostTookOutput(id)
                    : () -> submit(() -> receive(id));
            ports[i] = new ConsolePort(id, spec.name(), spec.direction(), bufferBytes, hostActivity);
        }
        portAnnounced = new boolean[ports.length];
        guestOpen = new boolean[ports.length];
        eofSent = new boolean[ports.length];
        pendingTransmit = new DescriptorChain[ports.length];
        if (Arrays.stream(ports).noneMatch(p -> p.direction() == ConsolePort.Direction.FROM_GUEST)) {
            outputComplete.complete(null);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a console: ports in id order, queue size, per-port buffer size. */
    public static final class Builder {
        private final List<PortSpec> ports = new ArrayList<>();
        private int queueSize = DEFAULT_QUEUE_SIZE;
        private int bufferBytes = DEFAULT_BUFFER_BYTES;

        private Builder() {}

        /** Adds the next port (ids are given in order from 0). */
        public Builder port(String name, ConsolePort.Direction direction) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(direction, "direction");
            checkPortName(name);
            ports.add(new PortSpec(name, direction));
            return this;
        }

        /** QueueNumMax of every queue (a power of two); default {@link VirtioConsole#DEFAULT_QUEUE_SIZE}. */
        public Builder queueSize(int queueSize) {
            this.queueSize = queueSize;
            return this;
        }

        /** Host buffer per port in bytes; default {@link VirtioConsole#DEFAULT_BUFFER_BYTES}. */
        public Builder bufferBytes(int bufferBytes) {
            if (bufferBytes <= 0) {
                throw new IllegalArgumentException("buffer size must be positive, got " + bufferBytes);
            }
            this.bufferBytes = bufferBytes;
            return this;
        }

        public VirtioConsole build() {
            return new VirtioConsole(List.copyOf(ports), queueSize, bufferBytes);
        }
    }

    private record PortSpec(String name, ConsolePort.Direction direction) {
    }

    private static void checkPortName(String name) {
        if (name.isEmpty() || name.indexOf('\0') >= 0 || name.indexOf('/') >= 0) {
            throw new IllegalArgumentException("port name must be non-empty without NUL or '/': \"" + name + "\"");
        }
    }

    // ---- state ----

    /**
     * The guest-visible state of a console: the queue size (QueueNumMax), each port, whether
     * MULTIPORT was negotiated and the driver reported DEVICE_READY, and the control messages
     * queued for the guest and not yet delivered ({@code controlOut}, oldest first).
     */
    public record State(int queueSize, List<PortState> ports, boolean multiport, boolean driverReady,
                        List<ControlMessage> controlOut) implements VirtioDeviceState {
        /** @throws IllegalArgumentException naming the field that no console could have produced */
        public State {
            if (queueSize <= 0 || queueSize > 32768 || Integer.bitCount(queueSize) != 1) {
                throw new IllegalArgumentException("virtio-console state: queue size " + queueSize
                        + " is not a power of two in 1..32768");
            }
            if (ports == null || ports.isEmpty() || controlOut == null) {
                throw new IllegalArgumentException("virtio-console state: at least one port and the control messages are required");
            }
            ports = List.copyOf(ports);
            controlOut = List.copyOf(controlOut);
            // Each port causes at most DEVICE_ADD, PORT_NAME, PORT_OPEN 1 and PORT_OPEN 0.
            if (controlOut.size() > 4 * ports.size()) {
                throw new IllegalArgumentException("virtio-console state: " + controlOut.size()
                        + " undelivered control messages, more than 4 per port");
            }
            for (ControlMessage message : controlOut) {
                if (message.id() < 0 || message.id() >= ports.size()) {
                    throw new IllegalArgumentException("virtio-console state: control message " + message
                            + " names a port outside 0.." + (ports.size() - 1));
                }
            }
        }
    }

    /**
     * One port as the guest knows it: name and direction (announced to the guest), whether the
     * device announced it (PORT_NAME, PORT_OPEN 1 sent), whether a guest process has it open or
     * has closed it, and whether end-of-file (PORT_OPEN 0) was sent.
     */
    public record PortState(String name, ConsolePort.Direction direction, boolean announced, boolean guestOpen,
                            boolean guestClosed, boolean eofSent) {
        /** @throws IllegalArgumentException for a name no port could have, or open and closed at once */
        public PortState {
            if (name == null || direction == null) {
                throw new IllegalArgumentException("virtio-console state: port name and direction are required");
            }
            checkPortName(name);
            if (guestOpen && guestClosed) {
                throw new IllegalArgumentException("virtio-console state: port \"" + name + "\" is open and closed");
            }
        }
    }

    /**
     * A console that continues from {@code state} (its ports, in the same order, with fresh host
     * streams of {@code bufferBytes} each) once its transport {@link #resume}s it.
     */
    public static VirtioConsole restore(State state, int bufferBytes) {
        Builder builder = builder().queueSize(state.queueSize()).bufferBytes(bufferBytes);
        for (PortState port : state.ports()) {
            builder.port(port.name(), port.direction());
        }
        VirtioConsole console = builder.build();
        console.multiport = state.multiport();
        console.driverReady = state.driverReady();
        for (int id = 0; id < console.ports.length; id++) {
            PortState port = state.ports().get(id);
            console.portAnnounced[id] = port.announced();
            console.guestOpen[id] = port.guestOpen();
            console.ports[id].guestClosed = port.guestClosed();
            console.eofSent[id] = port.eofSent();
        }
        console.controlOut.addAll(state.controlOut());
        return console;
    }

    /**
     * The console's guest-visible state as it stands.
     *
     * @throws IllegalStateException if a port's host buffer holds bytes, a transmit chain is held
     *     back, or the guest has stopped or the console is closed (see the class comment)
     */
    @Override
    public State state() {
        if (closed || guestStopped) {
            throw new IllegalStateException("virtio-console: " + (closed ? "closed" : "the guest has stopped")
                    + "; only a running console has a state");
        }
        List<PortState> portStates = new ArrayList<>(ports.length);
        for (int id = 0; id < ports.length; id++) {
            ConsolePort port = ports[id];
            int buffered = port.pipe.available();
            if (buffered > 0 || pendingTransmit[id] != null || hasSalvaged(id)) {
                throw new IllegalStateException(String.format(
                        "virtio-console: %s holds %d bytes on the host side%s; a state can only be captured "
                                + "when every port's host buffer is empty", port, buffered,
                        pendingTransmit[id] != null ? " and guest output waiting for room" : ""));
            }
            portStates.add(new PortState(port.name(), port.direction(), portAnnounced[id], guestOpen[id],
                    port.guestClosed, eofSent[id]));
        }
        return new State(queueSize, portStates, multiport, driverReady, List.copyOf(controlOut));
    }

    /** Continues from the restored state; control messages still queued go out on the driver's next notification. */
    @Override
    public void resume(VirtioContext newContext) {
        context = newContext;
    }

    // ---- host API ----

    public List<ConsolePort> ports() {
        return List.of(ports);
    }

    public ConsolePort port(int id) {
        Objects.checkIndex(id, ports.length);
        return ports[id];
    }

    /**
     * Completes when every guest-to-host stream has ended: each guest byte is in a host buffer
     * (still readable) or was dropped, so guest memory is no longer needed for output.
     */
    public CompletableFuture<Void> outputComplete() {
        return outputComplete;
    }

    /** Receive queue index of port {@code id}. */
    public static int receiveQueue(int id) {
        return id == 0 ? 0 : 2 * (id + 1);
    }

    /** Transmit queue index of port {@code id}. */
    public static int transmitQueue(int id) {
        return receiveQueue(id) + 1;
    }

    // ---- VirtioDevice ----

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long deviceFeatures() {
        return F_MULTIPORT;
    }

    @Override
    public int queueCount() {
        return 2 * (ports.length + 1);
    }

    @Override
    public int queueMaxSize(int index) {
        return queueSize;
    }

    /**
     * Only the transmit queues of ports that carry guest output. The control queues carry a few
     * messages per port (and Linux spins until a control message is taken: served at once on the
     * vCPU thread, it never waits), and the driver notifies a receive queue only when it refills it.
     */
    @Override
    public boolean notifiesOften(int index) {
        if ((index & 1) == 0 || index == CONTROL_TRANSMIT_QUEUE) {
            return false; // a receive queue or the control transmit queue
        }
        int id = index < 2 ? 0 : index / 2 - 1;
        return id < ports.length && ports[id].direction() == ConsolePort.Direction.FROM_GUEST;
    }

    @Override
    public int configSize() {
        return CONFIG_SIZE;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        byte[] config = new byte[CONFIG_SIZE];
        int max = ports.length;
        config[4] = (byte) max;
        config[5] = (byte) (max >>> 8);
        config[6] = (byte) (max >>> 16);
        config[7] = (byte) (max >>> 24);
        System.arraycopy(config, offset, data, 0, data.length);
    }

    @Override
    public void writeConfig(int offset, byte[] data) {
        log.debug("virtio-console: ignored configuration write at {} (no writable fields offered)", offset);
    }

    @Override
    public void activate(VirtioContext newContext) {
        clearGuestState();
        multiport = VirtioFeatures.has(newContext.features(), F_MULTIPORT);
        if (!multiport) {
            // Without MULTIPORT Linux makes port 0 a console that is always open.
            log.warn("virtio-console: the driver did not accept MULTIPORT; only port 0 ({}) is usable", ports[0].name());
            guestOpen[0] = true;
        }
        context = newContext;
    }

    @Override
    public void queueNotify(int index) {
        VirtioContext c = context;
        if (c == null || closed) {
            return;
        }
        if (index == CONTROL_TRANSMIT_QUEUE) {
            if (multiport) {
                readControlMessages(c);
            }
        } else if (index == CONTROL_RECEIVE_QUEUE) {
            if (multiport) {
                flushControl(c);
            }
        } else {
            int id = index < 2 ? 0 : index / 2 - 1;
            if (id < ports.length) {
                if ((index & 1) == 0) {
                    receive(id);
                } else {
                    transmit(id);
                }
            }
        }
    }

    @Override
    public void reset() {
        context = null;
        clearGuestState();
        if (guestStopped) {
            for (int id = 0; id < ports.length; id++) {
                endOutputIfDone(id);
            }
        }
    }

    @Override
    public void guestStopped() {
        guestStopped = true;
        for (int id = 0; id < ports.length; id++) {
            if (ports[id].direction() == ConsolePort.Direction.FROM_GUEST) {
                transmit(id);
            } else {
                ports[id].pipe.closeReader(); // nobody will read: host writers fail instead of blocking
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        context = null;
        clearGuestState();
        for (ConsolePort port : ports) {
            synchronized (port.salvaged) {
                dropSalvage(port, "the console is closing: nobody reads it any more");
            }
            if (port.direction() == ConsolePort.Direction.FROM_GUEST) {
                port.pipe.closeWriter();
            } else {
                port.pipe.closeReader();
            }
            if (port.direction() == ConsolePort.Direction.FROM_GUEST) {
                GuestOutputCounters counters = port.outputCounters();
                if (counters.dropped() > 0) {
                    log.warn("virtio-console: {} dropped {} bytes of guest output in all ({})", port, counters.dropped(),
                            counters);
                }
            } else if (port.guestBytesDropped() > 0) {
                log.warn("virtio-console: {} dropped {} bytes the guest wrote to it in all (it carries none)", port,
                        port.guestBytesDropped());
            }
        }
        outputComplete.complete(null);
    }

    private void clearGuestState() {
        multiport = false;
        driverReady = false;
        Arrays.fill(portAnnounced, false);
        Arrays.fill(guestOpen, false);
        Arrays.fill(eofSent, false);
        Arrays.fill(pendingTransmit, null);
        controlOut.clear();
    }

    private void submit(Runnable task) {
        VirtioContext c = context;
        if (c != null) {
            c.submit(task);
        }
    }

    // ---- guest to host ----

    /** Moves guest output of port {@code id} into its host buffer while there is room. */
    private void transmit(int id) {
        ConsolePort port = ports[id];
        if (!writeSalvaged(id)) {
            return; // older output waits for room first
        }
        VirtioContext c = context;
        SplitQueue queue = c == null ? null : c.queue(transmitQueue(id));
        if (queue != null) {
            boolean returned = false;
            while (true) {
                DescriptorChain chain = pendingTransmit[id];
                if (chain == null) {
                    if (port.direction() == ConsolePort.Direction.FROM_GUEST && !port.pipe.isWriterClosed()
                            && port.pipe.spaceOrWait() == 0) {
                        break; // back-pressure: leave the rest in the guest's ring
                    }
                    chain = queue.pop();
                    if (chain == null) {
                        break;
                    }
                    if (chain.writableCount() > 0) {
                        throw new VirtioGuestException(String.format(
                                "virtio-console port %d: transmit chain at head %d has device-writable buffers",
                                id, chain.headIndex()));
                    }
                    pendingTransmit[id] = chain;
                }
                if (!copyToHost(port, chain)) {
                    break; // host buffer full; the chain stays pending
                }
                pendingTransmit[id] = null;
                queue.addUsed(chain.headIndex(), 0);
                returned = true;
            }
            if (returned && queue.needsNotification()) {
                c.signalUsed();
            }
        }
        endOutputIfDone(id);
    }

    /** Copies what fits; true when the chain's readable bytes are all consumed. */
    private boolean copyToHost(ConsolePort port, DescriptorChain chain) {
        if (port.direction() != ConsolePort.Direction.FROM_GUEST || port.pipe.isWriterClosed()) {
            long skipped = chain.skip(chain.remainingReadable());
            port.addTaken(skipped, false);
            dropped(port, skipped, port.direction() != ConsolePort.Direction.FROM_GUEST
                    ? "the port carries no guest output" : "the port's output has ended");
            return true;
        }
        while (chain.remainingReadable() > 0) {
            int room = port.pipe.spaceOrWait();
            if (room == 0) {
                return false;
            }
            int n = chain.read(scratch, 0, (int) Math.min(Math.min(room, scratch.length), chain.remainingReadable()));
            port.addTaken(n, false);
            port.pipe.tryWrite(scratch, 0, n); // takes all n: only this device writes, so room only grew
        }
        return true;
    }

    /** The host read some output of port {@code id}: what waits for room goes on. */
    private void hostTookOutput(int id) {
        if (hasSalvaged(id)) {
            if (writeSalvaged(id)) {
                // on the reader's thread: after the reset nothing else touches this port but guestStopped and
                // close, and closing the writer twice is harmless
                endOutputIfDone(id);
                submit(() -> transmit(id));
            }
            return;
        }
        submit(() -> transmit(id));
    }

    /**
     * The driver resets the console (Linux does when it shuts down): the output it queued on each port, and a
     * chain held back by a full host buffer, are taken out of guest memory now, to reach the host in order.
     */
    @Override
    public void driverResetting() {
        VirtioContext c = context;
        for (int id = 0; id < ports.length; id++) {
            ConsolePort port = ports[id];
            if (port.direction() != ConsolePort.Direction.FROM_GUEST || port.pipe.isWriterClosed()) {
                continue;
            }
            SplitQueue queue = c == null ? null : c.queue(transmitQueue(id));
            DescriptorChain chain = pendingTransmit[id];
            pendingTransmit[id] = null;
            List<byte[]> taken = new ArrayList<>();
            long bytes = 0;
            long beyondLimit = 0;
            while (chain != null || (queue != null && (chain = queue.pop()) != null)) {
                byte[] data = new byte[(int) Math.min(chain.remainingReadable(), SALVAGE_MAX_BYTES - bytes)];
                chain.read(data, 0, data.length);
                port.addTaken(data.length, true);
                long skipped = chain.skip(chain.remainingReadable());
                port.addTaken(skipped, false);
                beyondLimit += skipped;
                bytes += data.length;
                taken.add(data);
                chain = null;
            }
            dropped(port, beyondLimit, "more than " + SALVAGE_MAX_BYTES + " bytes were queued when the driver reset the device");
            if (bytes > 0) {
                // All at once: the host's reader writes salvaged output on its own thread (hostTookOutput) and ends
                // the stream when it finds none left, so it must never find the salvage empty while more is coming.
                synchronized (port.salvaged) {
                    port.salvaged.addAll(taken);
                }
                log.debug("virtio-console: {}: the driver reset the device with {} bytes of output queued; they follow",
                        port, bytes);
                writeSalvaged(id);
            }
        }
    }

    private boolean hasSalvaged(int id) {
        ConsolePort port = ports[id];
        synchronized (port.salvaged) {
            return !port.salvaged.isEmpty();
        }
    }

    /** Writes salvaged output of port {@code id} while the host buffer has room; true when none is left. */
    private boolean writeSalvaged(int id) {
        ConsolePort port = ports[id];
        synchronized (port.salvaged) {
            while (!port.salvaged.isEmpty()) {
                if (port.pipe.isWriterClosed()) {
                    dropSalvage(port, "the port's output has ended");
                    return true;
                }
                byte[] head = port.salvaged.peekFirst();
                int room = port.pipe.spaceOrWait();
                if (room == 0) {
                    return false;
                }
                int n = Math.min(room, head.length);
                port.pipe.tryWrite(head, 0, n);
                port.salvaged.removeFirst();
                if (n < head.length) {
                    port.salvaged.addFirst(Arrays.copyOfRange(head, n, head.length));
                }
            }
            return true;
        }
    }

    /** Drops what {@code port} salvaged and has not written yet (the caller holds {@code port.salvaged}). */
    private void dropSalvage(ConsolePort port, String why) {
        long bytes = port.salvaged.stream().mapToLong(b -> b.length).sum();
        port.salvaged.clear();
        dropped(port, bytes, why);
    }

    /**
     * Counts {@code bytes} of guest output on {@code port} as dropped and says so: at WARN for the first drops of this
     * console, at DEBUG after that ({@link #close()} sums each port's up at WARN).
     */
    private void dropped(ConsolePort port, long bytes, String why) {
        if (bytes <= 0) {
            return;
        }
        port.addDropped(bytes);
        if (dropWarnings.getAndUpdate(n -> Math.min(n + 1, DROP_WARN_LIMIT)) < DROP_WARN_LIMIT) {
            log.warn("virtio-console: {}: dropped {} bytes of guest output: {}", port, bytes, why);
        } else {
            log.debug("virtio-console: {}: dropped {} bytes of guest output: {}", port, bytes, why);
        }
    }

    /** Ends the host stream once the guest closed the port (or stopped) and nothing is left. */
    private void endOutputIfDone(int id) {
        ConsolePort port = ports[id];
        if (port.direction() != ConsolePort.Direction.FROM_GUEST || port.pipe.isWriterClosed()) {
            return;
        }
        if (hasSalvaged(id)) {
            return;
        }
        if (!port.guestClosed && !guestStopped) {
            return;
        }
        if (pendingTransmit[id] != null) {
            return;
        }
        VirtioContext c = context;
        SplitQueue queue = c == null ? null : c.queue(transmitQueue(id));
        if (queue != null && queue.hasAvailable()) {
            return;
        }
        port.pipe.closeWriter();
        if (Arrays.stream(ports).allMatch(p -> p.direction() != ConsolePort.Direction.FROM_GUEST || p.pipe.isWriterClosed())) {
            outputComplete.complete(null);
        }
    }

    // ---- host to guest ----

    /** Fills the guest's receive buffers of port {@code id} from its host buffer. */
    private void receive(int id) {
        ConsolePort port = ports[id];
        VirtioContext c = context;
        if (c == null || port.direction() != ConsolePort.Direction.TO_GUEST) {
            return;
        }
        SplitQueue queue = c.queue(receiveQueue(id));
        if (queue != null && guestOpen[id]) {
            boolean returned = false;
            while (port.pipe.available() > 0) {
                DescriptorChain chain = queue.pop();
                if (chain == null) {
                    break;
                }
                if (chain.readableCount() > 0 || chain.writableLength() == 0) {
                    throw new VirtioGuestException(String.format(
                            "virtio-console port %d: receive chain at head %d must be device-writable only and not empty",
                            id, chain.headIndex()));
                }
                while (chain.remainingWritable() > 0) {
                    int n = port.pipe.tryRead(scratch, 0, (int) Math.min(scratch.length, chain.remainingWritable()));
                    if (n == 0) {
                        break;
                    }
                    chain.write(scratch, 0, n);
                }
                queue.addUsed(chain);
                returned = true;
            }
            if (returned && queue.needsNotification()) {
                c.signalUsed();
            }
        }
        sendEofIfDone(c, id);
    }

    /** After the host closed the port's input and every byte is delivered: PORT_OPEN 0. */
    private void sendEofIfDone(VirtioContext c, int id) {
        // Only input ports: PORT_OPEN 0 on an output port would make Linux block the guest's writes.
        if (ports[id].direction() == ConsolePort.Direction.TO_GUEST && multiport && portAnnounced[id] && !eofSent[id]
                && ports[id].pipe.isDrained()) {
            eofSent[id] = true;
            queueControl(c, ControlMessage.of(id, ControlMessage.PORT_OPEN, 0));
        }
    }

    // ---- control queues ----

    private void readControlMessages(VirtioContext c) {
        SplitQueue queue = c.queue(CONTROL_TRANSMIT_QUEUE);
        if (queue == null) {
            return;
        }
        byte[] header = new byte[ControlMessage.HEADER_SIZE];
        boolean returned = false;
        DescriptorChain chain;
        while ((chain = queue.pop()) != null) {
            if (chain.writableCount() > 0 || chain.readableLength() < ControlMessage.HEADER_SIZE) {
                throw new VirtioGuestException(String.format(
                        "virtio-console: control message at head %d must be device-readable and at least %d bytes (got %d)",
                        chain.headIndex(), ControlMessage.HEADER_SIZE, chain.readableLength()));
            }
            chain.read(header, 0, header.length);
            queue.addUsed(chain.headIndex(), 0);
            returned = true;
            handleControl(c, ControlMessage.decodeHeader(header));
        }
        if (returned && queue.needsNotification()) {
            c.signalUsed();
        }
        flushControl(c);
    }

    private void handleControl(VirtioContext c, ControlMessage message) {
        int event = message.event();
        if (event == ControlMessage.DEVICE_READY) {
            if (message.value() != 1) {
                log.warn("virtio-console: the guest driver reports it failed to initialize (DEVICE_READY 0)");
            } else if (!driverReady) {
                driverReady = true;
                for (int id = 0; id < ports.length; id++) {
                    queueControl(c, ControlMessage.of(id, ControlMessage.DEVICE_ADD, 0));
                }
            }
            return;
        }
        long rawId = message.id();
        if (rawId >= ports.length) {
            log.debug("virtio-console: ignored {} for unknown port", message);
            return;
        }
        int id = (int) rawId;
        switch (event) {
            case ControlMessage.PORT_READY -> {
                if (message.value() != 1) {
                    log.warn("virtio-console: the guest could not set up {} (PORT_READY 0)", ports[id]);
                } else if (!portAnnounced[id]) {
                    portAnnounced[id] = true;
                    queueControl(c, ControlMessage.portName(id, ports[id].name()));
                    queueControl(c, ControlMessage.of(id, ControlMessage.PORT_OPEN, 1));
                    sendEofIfDone(c, id);
                }
            }
            case ControlMessage.PORT_OPEN -> {
                boolean open = message.value() != 0;
                guestOpen[id] = open;
                ports[id].guestClosed = !open;
                if (ports[id].direction() == ConsolePort.Direction.TO_GUEST) {
                    receive(id);
                } else {
                    transmit(id);
                }
            }
            default -> log.debug("virtio-console: ignored {} from the guest", message);
        }
    }

    private void queueControl(VirtioContext c, ControlMessage message) {
        controlOut.add(message);
        flushControl(c);
    }

    /** Writes queued control messages, in order, into the driver's control receive buffers. */
    private void flushControl(VirtioContext c) {
        SplitQueue queue = c.queue(CONTROL_RECEIVE_QUEUE);
        if (queue == null) {
            return;
        }
        boolean returned = false;
        while (!controlOut.isEmpty()) {
            DescriptorChain chain = queue.pop();
            if (chain == null) {
                break;
            }
            byte[] message = controlOut.peek().encode();
            if (chain.readableCount() > 0 || chain.writableLength() < message.length) {
                throw new VirtioGuestException(String.format(
                        "virtio-console: control receive chain at head %d must be device-writable and hold %d bytes (has %d)",
                        chain.headIndex(), message.length, chain.writableLength()));
            }
            chain.write(message, 0, message.length);
            queue.addUsed(chain);
            controlOut.poll();
            returned = true;
        }
        if (returned && queue.needsNotification()) {
            c.signalUsed();
        }
    }
}
