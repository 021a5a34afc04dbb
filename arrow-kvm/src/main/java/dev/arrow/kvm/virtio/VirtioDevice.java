package dev.arrow.kvm.virtio;

import java.util.List;

/**
 * The device half of a virtio device, separate from its transport ({@link VirtioMmioTransport}):
 * it says what it is (type, features, queues, configuration space) and reacts to activation,
 * queue notifications and reset. A device owns no threads, file descriptors or guest addresses;
 * it touches guest memory only through the queues and memory its {@link VirtioContext} hands it.
 *
 * <p>Threading: the transport calls every method with its lock held, so a device sees one call
 * at a time. Work that starts on the host side (a host stream has data or space) must go through
 * {@link VirtioContext#submit}, which runs it under the same lock.
 *
 * <p>Errors: anything the guest got wrong is thrown as {@link VirtioGuestException} from
 * {@link #activate} or {@link #queueNotify} (or from a submitted task); the transport then fails
 * the device. No other exception type may come out for guest-controlled input.
 */
public interface VirtioDevice {

    /** The virtio device type (DeviceID), e.g. 3 for a console, 4 for an entropy source. */
    int deviceType();

    /**
     * Device-specific feature bits offered to the driver (bits 0..23). The transport adds
     * {@link VirtioFeatures#VERSION_1}, {@link VirtioFeatures#INDIRECT_DESC} and
     * {@link VirtioFeatures#EVENT_IDX}, which the queues implement.
     */
    long deviceFeatures();

    /** Number of virtqueues; queues {@code 0..queueCount()-1} exist. */
    int queueCount();

    /** QueueNumMax of queue {@code index}: a power of two between 1 and 32768. */
    int queueMaxSize(int index);

    /**
     * Whether the driver notifies queue {@code index} often, as it does a transmit queue under
     * load. The VMM serves such a queue's notifications off the vCPU thread (an ioeventfd, the VM's
     * event loop); the others reach {@link #queueNotify} as MMIO exits on the vCPU thread that wrote
     * QueueNotify: a receive queue the driver only refills, a control or request queue the device
     * answers at once. Either way the call holds the transport's lock and must not block. A device
     * none of whose queues is notified often also raises its interrupt rarely: the VMM then injects
     * it with KVM_IRQ_LINE instead of an irqfd. True by default.
     */
    default boolean notifiesOften(int index) {
        return true;
    }

    /** Largest total byte length of one descriptor chain this device accepts on queue {@code index}. */
    default long maxChainBytes(int index) {
        return SplitQueue.DEFAULT_MAX_CHAIN_BYTES;
    }

    /**
     * Kernel command-line entries ({@code key=value} or {@code key}) the guest's driver needs for this device,
     * which the VMM appends after the device's own {@code virtio_mmio.device} entry. None by default.
     */
    default List<String> kernelParameters() {
        return List.of();
    }

    /** Size in bytes of the device-specific configuration space (0 if none). */
    int configSize();

    /**
     * Fills {@code data} from configuration offset {@code offset}; the transport has checked
     * that the access lies within {@link #configSize()}.
     */
    void readConfig(int offset, byte[] data);

    /** A driver write to the configuration space (within {@link #configSize()}); may be ignored. */
    void writeConfig(int offset, byte[] data);

    /**
     * The driver set DRIVER_OK: features are final and the queues it enabled are validated.
     * The device keeps {@code context} until {@link #reset()}.
     */
    void activate(VirtioContext context);

    /** The driver made buffers available in queue {@code index} (QueueNotify or an ioeventfd). */
    void queueNotify(int index);

    /**
     * The driver is resetting the device (status 0) and its queues still work: the last chance to take
     * what the guest queued. Linux resets every virtio device when it shuts down, so guest output it
     * queued and the host has not taken yet would be lost without this. Called before {@link #reset()},
     * only for a driver reset of an active device. Does nothing by default.
     */
    default void driverResetting() {
    }

    /**
     * Forget the guest-side state (queues, chains in flight, protocol state) and drop the
     * context: called on a driver reset, after a guest error and before close. Host-side state
     * (streams to the host application) survives.
     */
    void reset();

    /**
     * The device's guest-visible state (protocol state, chains it holds), for templates. Called
     * with the transport's lock held; a device is rebuilt from it by its class's
     * {@code restore} factory and then handed to
     * {@link VirtioMmioTransport#restore VirtioMmioTransport.restore}.
     *
     * @throws IllegalStateException if the device holds host-side data that a state cannot carry
     *     (each device documents its rule) or has been closed
     * @throws UnsupportedOperationException if the device has no state record (test doubles)
     */
    default VirtioDeviceState state() {
        throw new UnsupportedOperationException(getClass().getName() + " has no state record");
    }

    /**
     * Instead of {@link #activate}, for a device built from the state of an active device: take
     * {@code context} and continue where that state left off (chains it held are walked again
     * from guest memory).
     *
     * @throws UnsupportedOperationException if the device has no state record (test doubles)
     */
    default void resume(VirtioContext context) {
        throw new UnsupportedOperationException(getClass().getName() + " has no state record");
    }

    /**
     * The guest will never run again, but guest memory is still mapped: a device may finish
     * host-visible work from what the guest left in its queues (e.g. the last output bytes).
     */
    default void guestStopped() {
    }

    /**
     * Final release: after this returns the device never touches guest memory again and the
     * host-side streams are ended.
     */
    default void close() {
    }
}
