package dev.arrow.kvm.virtio.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.device.BusDevice;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The guest side of a multiport virtio console, as Linux's virtio_console drives it: receive
 * buffers in the control and port receive queues, DEVICE_READY, PORT_READY for each DEVICE_ADD,
 * PORT_OPEN on open and close, writes as one device-readable buffer each.
 */
final class ConsoleGuest {
    static final long BAD_ID = 0xFFFF_FFFFL;

    final VirtioMmioDriver mmio;
    final GuestArena arena;
    final List<ControlMessage> received = new ArrayList<>();
    final Map<Long, Boolean> hostConnected = new HashMap<>();
    final Map<Long, String> names = new HashMap<>();
    /** Per queue: head of each posted receive buffer -> its address. */
    private final Map<Integer, Map<Integer, GuestAddress>> posted = new HashMap<>();
    private final Map<Integer, Integer> postedSizes = new HashMap<>();
    private int portCount;
    /** Kick only when the device asked for it (VIRTIO_F_EVENT_IDX / NO_NOTIFY), as Linux does. */
    boolean honourSuppression;

    ConsoleGuest(BusDevice transport, GuestArena arena) {
        this.mmio = new VirtioMmioDriver(transport, arena);
        this.arena = arena;
    }

    /**
     * Brings the device up and posts receive buffers (as many as fit, up to the counts given);
     * does not send DEVICE_READY yet.
     */
    void probe(long features, int controlBuffers, int portBuffers, int portBufferSize) {
        ByteBuffer config = ByteBuffer.wrap(mmio.readConfig(4, 4)).order(ByteOrder.LITTLE_ENDIAN);
        portCount = config.getInt();
        mmio.initialize(features, 2 * (portCount + 1), 32);
        postReceiveBuffers(VirtioConsole.CONTROL_RECEIVE_QUEUE, controlBuffers, 256);
        for (int id = 0; id < portCount; id++) {
            postReceiveBuffers(VirtioConsole.receiveQueue(id), portBuffers, portBufferSize);
        }
    }

    /** probe, DEVICE_READY and the whole handshake; every port ends up announced. */
    void start() {
        probe(VirtioConsole.F_MULTIPORT, 16, 4, 64);
        sendControl(BAD_ID, ControlMessage.DEVICE_READY, 1);
        processControl();
    }

    int portCount() {
        return portCount;
    }

    void postReceiveBuffers(int queueIndex, int count, int size) {
        QueueDriver q = mmio.queue(queueIndex);
        Map<Integer, GuestAddress> heads = posted.computeIfAbsent(queueIndex, k -> new HashMap<>());
        postedSizes.put(queueIndex, size);
        for (int i = 0; i < count && q.freeDescriptors() > 0; i++) {
            GuestAddress buffer = arena.allocate(size);
            heads.put(q.add(QueueDriver.Buffer.writable(buffer, size)), buffer);
        }
        mmio.notifyQueue(queueIndex);
    }

    /** Sends one control message and, like Linux, expects the device to take it at once. */
    void sendControl(long id, int event, int value) {
        sendRawControl(ControlMessage.of(id, event, value).encode());
    }

    void sendRawControl(byte[] message) {
        QueueDriver q = mmio.queue(VirtioConsole.CONTROL_TRANSMIT_QUEUE);
        int head = q.add(QueueDriver.Buffer.readable(arena.put(message), message.length));
        mmio.notifyQueue(VirtioConsole.CONTROL_TRANSMIT_QUEUE);
        QueueDriver.UsedElement used = q.pollUsed();
        if (used != null) {
            assertThat(used.id()).isEqualTo(head);
        }
    }

    /** Handles every control message the device has sent, answering as Linux does; returns them. */
    List<ControlMessage> processControl() {
        List<ControlMessage> batch = new ArrayList<>();
        QueueDriver q = mmio.queue(VirtioConsole.CONTROL_RECEIVE_QUEUE);
        Map<Integer, GuestAddress> heads = posted.get(VirtioConsole.CONTROL_RECEIVE_QUEUE);
        QueueDriver.UsedElement used;
        while ((used = q.pollUsed()) != null) {
            GuestAddress buffer = heads.remove(used.id());
            ControlMessage m = ControlMessage.decode(mmio.queue(0).memory().read(buffer, (int) used.length()),
                    (int) used.length());
            batch.add(m);
            received.add(m);
            heads.put(q.add(QueueDriver.Buffer.writable(buffer, postedSizes.get(VirtioConsole.CONTROL_RECEIVE_QUEUE))),
                    buffer);
            switch (m.event()) {
                case ControlMessage.DEVICE_ADD -> sendControl(m.id(), ControlMessage.PORT_READY, 1);
                case ControlMessage.PORT_OPEN -> hostConnected.put(m.id(), m.value() == 1);
                case ControlMessage.PORT_NAME -> names.put(m.id(), m.payloadText());
                default -> { }
            }
        }
        mmio.notifyQueue(VirtioConsole.CONTROL_RECEIVE_QUEUE);
        return batch;
    }

    void open(int port) {
        sendControl(port, ControlMessage.PORT_OPEN, 1);
    }

    void close(int port) {
        sendControl(port, ControlMessage.PORT_OPEN, 0);
    }

    /** Queues {@code data} as one transmit buffer on {@code port}; false if the queue is full. */
    boolean write(int port, byte[] data) {
        return queueWrite(port, data) != null;
    }

    /** Like {@link #write}: where the buffer is in guest memory, or null if the queue is full. */
    GuestAddress queueWrite(int port, byte[] data) {
        QueueDriver q = mmio.queue(VirtioConsole.transmitQueue(port));
        reapTransmitted(port);
        if (q.freeDescriptors() == 0) {
            return null;
        }
        GuestAddress buffer = arena.put(data);
        q.add(QueueDriver.Buffer.readable(buffer, data.length));
        kick(VirtioConsole.transmitQueue(port));
        return buffer;
    }

    /** Transmit buffers the device has not returned yet. */
    int unreturnedTransmits(int port) {
        reapTransmitted(port);
        QueueDriver q = mmio.queue(VirtioConsole.transmitQueue(port));
        return q.size() - q.freeDescriptors();
    }

    private void reapTransmitted(int port) {
        QueueDriver q = mmio.queue(VirtioConsole.transmitQueue(port));
        QueueDriver.UsedElement used;
        while ((used = q.pollUsed()) != null) {
            assertThat(used.length()).as("transmit buffers report 0 bytes written").isZero();
        }
    }

    /** Takes every filled receive buffer of {@code port}, re-posts it, and returns the bytes. */
    byte[] read(int port) {
        int queueIndex = VirtioConsole.receiveQueue(port);
        QueueDriver q = mmio.queue(queueIndex);
        Map<Integer, GuestAddress> heads = posted.get(queueIndex);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        QueueDriver.UsedElement used;
        boolean reposted = false;
        while ((used = q.pollUsed()) != null) {
            GuestAddress buffer = heads.remove(used.id());
            out.writeBytes(q.memory().read(buffer, (int) used.length()));
            heads.put(q.add(QueueDriver.Buffer.writable(buffer, postedSizes.get(queueIndex))), buffer);
            reposted = true;
        }
        if (reposted) {
            kick(queueIndex);
        }
        return out.toByteArray();
    }

    private void kick(int queueIndex) {
        if (honourSuppression) {
            mmio.kick(queueIndex);
        } else {
            mmio.notifyQueue(queueIndex);
        }
    }

    /** Receive buffers the device filled that {@link #read} has not taken yet. */
    int filledReceiveBuffers(int port) {
        return mmio.queue(VirtioConsole.receiveQueue(port)).pendingUsed();
    }
}
