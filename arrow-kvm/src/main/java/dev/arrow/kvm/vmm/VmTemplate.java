package dev.arrow.kvm.vmm;

import dev.arrow.kvm.VcpuState;
import dev.arrow.kvm.VmState;
import dev.arrow.kvm.device.I8042;
import dev.arrow.kvm.device.Serial8250;
import dev.arrow.kvm.device.StatusPort;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A guest frozen by {@link RunningVm#freeze}: its RAM, in a memory file, and the state of its VM,
 * its vCPUs and its devices at that point. {@link #clone} starts a new guest that continues from
 * there, with a private copy-on-write view of that RAM and read-only views of the frozen VM's
 * pmem images (the same open files, at the same guest-physical ranges; never copied). The frozen VM is never run again and its
 * RAM never written, so clones see only their own writes.
 *
 * <p>A template keeps a small pool of prepared VMs (size given to
 * {@link RunningVm#freeze(java.time.Duration, int)}, {@value #DEFAULT_POOL_SIZE} by default, 0 for none):
 * /dev/kvm, the VM, its irqchip, its vCPUs (their registers loaded from the frozen state already) and the
 * RAM mapping, made on a daemon thread named {@code arrow-vm<N>-template-pool}, so that a clone only restores the
 * rest of the state and wires its devices. A clone that finds the pool empty makes its VM itself. {@link #recycle} gives a
 * finished clone's VM back to the pool, reset to this template's RAM.
 *
 * <p>{@link #close()} stops the pool's thread, closes the VMs it holds and closes the frozen VM.
 * Clones keep running: each maps the memory file and the image files, which live as long as a mapping of them does.
 * Thread-safe; a clone asked for after close fails.
 */
public final class VmTemplate implements AutoCloseable {
    /** How many prepared VMs a template keeps unless told otherwise. */
    public static final int DEFAULT_POOL_SIZE = 2;
    private static final Logger LOG = LoggerFactory.getLogger(VmTemplate.class);

    private final RunningVm frozen;
    private final MmapGuestMemory memory;
    private final PmemImages images;
    private final boolean debug;
    private final VmState vmState;
    private final List<VcpuState> vcpuStates;
    private final Serial8250.State serialState;
    private final I8042.State i8042State;
    private final StatusPort.State statusState;
    private final List<VirtioMmioTransport.State> virtioStates;
    private final PrebuiltPool<PreparedVm> pool;
    private final AtomicBoolean closed = new AtomicBoolean();

    VmTemplate(RunningVm frozen, MmapGuestMemory memory, PmemImages images, boolean debug, VmState vmState,
               List<VcpuState> vcpuStates, Serial8250.State serialState, I8042.State i8042State,
               StatusPort.State statusState, List<VirtioMmioTransport.State> virtioStates, int poolSize) {
        if (virtioStates.size() < images.placements().size()) {
            throw new IllegalArgumentException(virtioStates.size() + " virtio device states for "
                    + images.placements().size() + " pmem images: each image has a device");
        }
        this.frozen = frozen;
        this.memory = memory;
        this.images = images;
        this.debug = debug;
        this.vmState = vmState;
        this.vcpuStates = List.copyOf(vcpuStates);
        this.serialState = serialState;
        this.i8042State = i8042State;
        this.statusState = statusState;
        this.virtioStates = List.copyOf(virtioStates);
        this.pool = new PrebuiltPool<>(poolSize, this::newPreparedVm,
                "arrow-vm" + frozen.id() + "-template-pool");
    }

    /**
     * Starts a clone: a VM from the pool (or a new one), whose RAM is a private copy of the
     * template's, given the template's VM, vCPU and device state, and whose devices talk to
     * {@code clone}'s host side ({@link VmBuilder} says in which order it is built).
     *
     * @throws IllegalStateException if the template is closed
     */
    public RunningVm clone(VmClone clone) {
        return VmBuilder.startClone(this, clone);
    }

    /**
     * Closes {@code finished}, a clone of this template, as {@link RunningVm#close()} does, and
     * keeps its VM for a later {@link #clone}: its vCPUs, VM and /dev/kvm fds and its RAM mapping,
     * whose private pages are dropped so that it reads as the template's RAM again. The next clone
     * restores the VM, vCPU and device state on it as on any prepared VM.
     *
     * <p>What the close releases is released as always: the devices (each virtio device closes its
     * host end), their eventfds (unregistered from the VM, so the next clone registers its own),
     * the event loop and the vCPU threads. The serial output and the status listener of
     * {@code finished}'s {@link VmClone} are the caller's: they are not closed, and are not called
     * once this returns.
     *
     * <p>The VM is kept only if every vCPU thread of {@code finished} has ended within the close
     * (none may still be inside KVM_RUN), the close ran on this thread, the guest did not end in a
     * way that leaves KVM's state undescribed (a triple fault, a failed entry, a KVM internal error
     * or a VMM error), the template is open and its pool has room (its size in returned VMs; none
     * with size 0). Otherwise it is closed as by {@link RunningVm#close()}. A clone that is still
     * running is stopped first.
     *
     * @return true when the VM was kept for the next clone
     * @throws IllegalArgumentException if {@code finished} is not a clone of this template (it is left as it is)
     */
    public boolean recycle(RunningVm finished) {
        if (finished.template() != this) {
            throw new IllegalArgumentException(finished + " is not a clone of this " + this
                    + ": recycle a clone with the template it was cloned from, or close it");
        }
        if (closed.get() || pool.capacity() == 0) {
            finished.close();
            return false;
        }
        PreparedVm kept = finished.closeKeepingPreparedVm();
        if (kept == null) {
            return false;
        }
        try {
            kept.reset(vcpuStates);
        } catch (RuntimeException e) {
            LOG.warn("{}: the VM of {} could not be reset for another clone; it is closed", this, finished, e);
            kept.close();
            return false;
        }
        if (!pool.offer(kept)) {
            kept.close();
            return false;
        }
        return true;
    }

    /** A prepared VM from the pool, or a new one when the pool has none ready. */
    PreparedVm takePreparedVm() {
        if (closed.get()) {
            throw new IllegalStateException(this + " is closed: it makes no more clones");
        }
        PreparedVm ready = pool.take();
        return ready != null ? ready : newPreparedVm();
    }

    /**
     * A prepared VM made now, on the caller's thread (the pool's, or a clone's when the pool has none ready): a
     * private copy of the RAM, views of the images, and the vCPUs' registers loaded from this template's states
     * ({@link PreparedVm#loadRegisters}), so that a clone loads only the VM's state and the vCPUs' LAPIC, MSRs and
     * events.
     */
    PreparedVm newPreparedVm() {
        MmapGuestMemory ram = privateCopyOfRam();
        PmemImages views;
        try {
            views = images.views();
        } catch (RuntimeException | Error e) {
            ram.close();
            throw e;
        }
        PreparedVm prepared = PreparedVm.create(vcpuStates.size(), ram, views);
        try {
            prepared.loadRegisters(vcpuStates);
        } catch (RuntimeException | Error e) {
            prepared.close();
            throw e;
        }
        return prepared;
    }

    /** Prepared VMs ready in the pool now (tests). */
    int pooledVms() {
        return pool.available();
    }

    /**
     * The state of each virtio device of the frozen VM's {@link VmConfig#virtioDevices()}, in slot
     * order: what a {@link VmClone.VirtioRestorer} is given. The pmem devices of its
     * {@link VmConfig#pmemImages()} are not among them: the VMM restores those itself.
     */
    public List<VirtioDeviceState> virtioDeviceStates() {
        return virtioStates.subList(0, configuredDeviceCount()).stream().map(VirtioMmioTransport.State::device).toList();
    }

    /** How many of the virtio slots hold configured devices; the pmem devices follow them. */
    int configuredDeviceCount() {
        return virtioStates.size() - images.placements().size();
    }

    /** The state the vCPUs were frozen in, by vCPU id. */
    public List<VcpuState> vcpuStates() {
        return vcpuStates;
    }

    /** The irqchip and clock state the VM was frozen in. */
    public VmState vmState() {
        return vmState;
    }

    MmapGuestMemory privateCopyOfRam() {
        return memory.mapPrivateCopy();
    }

    boolean debug() {
        return debug;
    }

    Serial8250.State serialState() {
        return serialState;
    }

    I8042.State i8042State() {
        return i8042State;
    }

    StatusPort.State statusState() {
        return statusState;
    }

    /** Every virtio transport's state, configured devices and then the pmem devices, in slot order. */
    List<VirtioMmioTransport.State> virtioStates() {
        return virtioStates;
    }

    /**
     * Stops the pool's thread, closes the prepared VMs it holds, then the frozen VM and its RAM's
     * file descriptor; running clones are not affected. Idempotent.
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            pool.close();
        }
        frozen.close();
    }

    @Override
    public String toString() {
        return "template of VM " + frozen.id() + ", " + vcpuStates.size() + " vCPUs, " + virtioStates.size()
                + " virtio devices";
    }
}
