package dev.arrow.kvm.vmm;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.Vm;
import dev.arrow.kvm.device.InterruptTrigger;
import dev.arrow.kvm.device.IoBus;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.virtio.GuestErrorListener;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio-mmio devices of one VM, wired to KVM: device {@code i} gets a
 * {@link VirtioMmioTransport} on the MMIO bus at {@link VirtioSlot#of(int) VirtioSlot.of(i)} and
 * its interrupt on the slot's IRQ. Each queue the device says is {@linkplain
 * VirtioDevice#notifiesOften notified often} gets an ioeventfd on QueueNotify (datamatch = queue
 * index): the doorbell of the VM's {@link VirtioEventLoop}, one eventfd for all of them, at whose
 * ring the loop polls those queues; the loop also runs the devices' host-initiated work. The other
 * queues' notifications, and those of every queue where KVM has no ioeventfd (or refuses one),
 * reach the transport as MMIO exits on the vCPU thread. A device with a queue notified often gets
 * an irqfd for its interrupt; the others, whose interrupts are as rare as their notifications, a
 * {@link LineInterrupt} (no fd). So a VM's devices hold one fd for the loop and one per device
 * with a busy queue.
 *
 * <p>Shutdown, in the order of {@code docs/virtio.md}: {@link #guestStopped()} once the vCPUs
 * have stopped (guest memory still mapped, the loop still running, so output left in the rings
 * can still be drained as the host reads); then {@link #close()}: the transports (no device code
 * touches guest memory afterwards), the ioeventfds (unregistered from KVM), the event loop and its
 * doorbell, and the irqfds (unregistered, then closed). The VM and guest memory are closed after
 * this by their owner.
 */
final class VirtioDevices implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioDevices.class);
    /** QueueNotify is a 32-bit register; Linux writes the queue index with writel. */
    private static final int NOTIFY_WIDTH = 4;

    /** A queue whose notifications ring the loop's doorbell. */
    private record IoEvent(long address, int queue) {
    }

    private final Vm vm;
    private final GuestMemory memory;
    private final IoBus mmio;
    private final boolean ioeventfd;
    private final VirtioEventLoop loop;
    private final List<VirtioMmioTransport> transports = new ArrayList<>();
    private final List<IoEvent> ioEvents = new ArrayList<>();
    private final List<Irqfd> irqfds = new ArrayList<>();
    private boolean refusalLogged;
    private boolean closed;

    /**
     * An empty set whose event loop thread will be called {@code loopThreadName}; add devices, then
     * {@link #start()}.
     *
     * @param ioeventfd whether KVM offers ioeventfds (KVM_CAP_IOEVENTFD)
     */
    VirtioDevices(Vm vm, GuestMemory memory, IoBus mmio, boolean ioeventfd, String loopThreadName) {
        this.vm = vm;
        this.memory = memory;
        this.mmio = mmio;
        this.ioeventfd = ioeventfd;
        this.loop = new VirtioEventLoop(loopThreadName);
    }

    /** Makes the transport of a device in a slot, given its name and interrupt line. */
    @FunctionalInterface
    private interface TransportFactory {
        VirtioMmioTransport make(String name, InterruptTrigger interrupt);
    }

    /** Places {@code device} in the next slot and wires it; returns its transport. */
    synchronized VirtioMmioTransport add(VirtioDevice device) {
        return place(device, (name, interrupt) -> new VirtioMmioTransport(name, device, memory, interrupt,
                GuestErrorListener.NONE, loop));
    }

    /**
     * Places {@code device}, built from {@code state.device()}, in the next slot with a transport
     * that continues from {@code state} ({@link VirtioMmioTransport#restore}), and wires it as
     * {@link #add} does. Each ready queue of an active device is notified once when the loop
     * starts: a notification the guest gave just before the state was captured may never have
     * reached the device, and a spurious one costs a look at the ring.
     */
    synchronized VirtioMmioTransport restore(VirtioDevice device, VirtioMmioTransport.State state) {
        VirtioMmioTransport transport = place(device, (name, interrupt) -> VirtioMmioTransport.restore(state, name,
                device, memory, interrupt, GuestErrorListener.NONE, loop));
        for (int q = 0; q < state.queues().size(); q++) {
            if (state.queues().get(q).queue() != null) {
                int queue = q;
                loop.execute(() -> transport.notifyQueue(queue));
            }
        }
        return transport;
    }

    private VirtioMmioTransport place(VirtioDevice device, TransportFactory factory) {
        VirtioSlot slot = VirtioSlot.of(transports.size());
        String name = "virtio-" + typeName(device.deviceType()) + "@0x" + Long.toHexString(slot.base());
        List<Integer> busy = new ArrayList<>();
        for (int q = 0; q < device.queueCount(); q++) {
            if (device.notifiesOften(q)) {
                busy.add(q);
            }
        }
        InterruptTrigger interrupt;
        if (busy.isEmpty()) {
            interrupt = new LineInterrupt(vm, slot.irq());
        } else {
            Irqfd irqfd = Irqfd.register(vm, slot.irq());
            irqfds.add(irqfd);
            interrupt = irqfd;
        }
        VirtioMmioTransport transport = factory.make(name, interrupt);
        transports.add(transport);
        mmio.register(name, slot.base(), slot.size(), transport);
        int rung = 0;
        if (ioeventfd) {
            for (int q : busy) {
                rung += ringOnNotify(transport, slot, q) ? 1 : 0;
            }
        }
        LOG.debug("{}: irq {} through {}, {} queues, {} of them served by the event loop", name, slot.irq(),
                busy.isEmpty() ? "KVM_IRQ_LINE" : "an irqfd", device.queueCount(), rung);
        return transport;
    }

    /** Has KVM ring the loop's doorbell when the guest notifies {@code queue}; false if KVM refuses. */
    private boolean ringOnNotify(VirtioMmioTransport transport, VirtioSlot slot, int queue) {
        try {
            vm.registerIoEvent(loop.doorbell(), Vm.AddressSpace.MMIO, slot.queueNotifyAddress(), NOTIFY_WIDTH,
                    (long) queue);
        } catch (KvmException e) {
            if (!refusalLogged) {
                refusalLogged = true;
                LOG.info("KVM refused an ioeventfd for {} queue {} ({}); such queues are notified through MMIO exits",
                        transport.name(), queue, e.getMessage());
            }
            return false;
        }
        ioEvents.add(new IoEvent(slot.queueNotifyAddress(), queue));
        loop.onQueueRing(() -> transport.pollQueue(queue));
        return true;
    }

    /**
     * Runs {@code task} on the event loop's thread, after the work queued before it: while it runs, no device of this
     * VM serves a queue or host work.
     *
     * @throws java.util.concurrent.RejectedExecutionException once the loop is stopped
     */
    void runOnEventLoop(Runnable task) {
        loop.execute(task);
    }

    /** Starts the event loop thread. */
    void start() {
        loop.start();
    }

    /** The transports, in slot order. */
    synchronized List<VirtioMmioTransport> transports() {
        return List.copyOf(transports);
    }

    /**
     * The vCPUs have stopped for good and are being frozen: stops the event loop (queue
     * notifications not served yet stay unserved; {@link #restore} repeats them in a clone), then
     * captures every transport's state, in slot order. No device code touches guest memory
     * afterwards but a host thread's call into a device; {@link #close()} still closes everything.
     *
     * @throws IllegalStateException if a device refuses to be captured (see {@link VirtioDevice#state()})
     */
    List<VirtioMmioTransport.State> freeze() {
        loop.stop();
        List<VirtioMmioTransport.State> states = new ArrayList<>();
        for (VirtioMmioTransport t : transports()) {
            states.add(t.state());
        }
        return states;
    }

    /** The vCPUs have stopped for good: lets every device finish what the guest left in its queues. */
    void guestStopped() {
        for (VirtioMmioTransport t : transports()) {
            try {
                t.guestStopped();
            } catch (RuntimeException e) {
                LOG.error("{}: finishing after the guest stopped failed", t.name(), e);
            }
        }
    }

    /**
     * Closes the transports, removes the ioeventfds (while the VM is open), closes the event loop
     * with its doorbell, then the irqfds. Idempotent.
     */
    @Override
    public void close() {
        List<VirtioMmioTransport> toClose;
        List<IoEvent> events;
        List<Irqfd> lines;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = List.copyOf(transports);
            events = List.copyOf(ioEvents);
            lines = List.copyOf(irqfds);
        }
        for (VirtioMmioTransport t : toClose) {
            try {
                t.close();
            } catch (RuntimeException e) {
                LOG.warn("closing {} failed", t.name(), e);
            }
        }
        if (!vm.isClosed()) {
            for (IoEvent e : events) {
                try {
                    vm.unregisterIoEvent(loop.doorbell(), Vm.AddressSpace.MMIO, e.address(), NOTIFY_WIDTH,
                            (long) e.queue());
                } catch (KvmException ex) {
                    LOG.debug("unregistering the ioeventfd at 0x{} failed: {}", Long.toHexString(e.address()),
                            ex.toString());
                }
            }
        }
        loop.close();
        lines.forEach(Irqfd::close);
    }

    /**
     * The clone's step-log name of restoring a device of this type: "virtio console" and so on, constants for the
     * types Arrow's templates hold (a clone's path runs mostly interpreted: no string is built per clone for it).
     */
    static String stepName(int deviceType) {
        return deviceType >= 0 && deviceType < STEP_NAMES.length ? STEP_NAMES[deviceType] : "virtio " + typeName(deviceType);
    }

    /** {@link #stepName} of the device types below 64, made once. */
    private static final String[] STEP_NAMES = java.util.stream.IntStream.range(0, 64)
            .mapToObj(type -> "virtio " + typeName(type)).toArray(String[]::new);

    /** "console" for type 3 and so on (virtio 1.x section 5); "type-N" for others. */
    static String typeName(int deviceType) {
        return switch (deviceType) {
            case 1 -> "net";
            case 2 -> "block";
            case 3 -> "console";
            case 4 -> "rng";
            case 5 -> "balloon";
            case 9 -> "9p";
            case 16 -> "gpu";
            case 19 -> "vsock";
            case 26 -> "fs";
            case 27 -> "pmem";
            default -> "type-" + deviceType;
        };
    }

    @Override
    public String toString() {
        return "virtio devices " + transports().stream().map(VirtioMmioTransport::name).toList();
    }
}
