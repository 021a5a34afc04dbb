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

/**
 * A guest frozen by {@link RunningVm#freeze}: its RAM, in a memory file, and the state of its VM,
 * its vCPUs and its devices at that point. {@link #clone} starts a new guest that continues from
 * there, with a private copy-on-write view of that RAM. The frozen VM is never run again and its
 * RAM never written, so clones see only their own writes.
 *
 * <p>{@link #close()} closes the frozen VM. Clones keep running: each maps the memory file, which
 * lives as long as a mapping of it does. Thread-safe; a clone asked for after close fails.
 */
public final class VmTemplate implements AutoCloseable {
    private final RunningVm frozen;
    private final MmapGuestMemory memory;
    private final boolean debug;
    private final VmState vmState;
    private final List<VcpuState> vcpuStates;
    private final Serial8250.State serialState;
    private final I8042.State i8042State;
    private final StatusPort.State statusState;
    private final List<VirtioMmioTransport.State> virtioStates;

    VmTemplate(RunningVm frozen, MmapGuestMemory memory, boolean debug, VmState vmState, List<VcpuState> vcpuStates,
               Serial8250.State serialState, I8042.State i8042State, StatusPort.State statusState,
               List<VirtioMmioTransport.State> virtioStates) {
        this.frozen = frozen;
        this.memory = memory;
        this.debug = debug;
        this.vmState = vmState;
        this.vcpuStates = List.copyOf(vcpuStates);
        this.serialState = serialState;
        this.i8042State = i8042State;
        this.statusState = statusState;
        this.virtioStates = List.copyOf(virtioStates);
    }

    /**
     * Starts a clone: a new VM whose RAM is a private copy of the template's, whose VM, vCPU and
     * device state are the template's, and whose devices talk to {@code clone}'s host side
     * ({@link VmBuilder} says in which order it is built).
     *
     * @throws IllegalStateException if the template is closed
     */
    public RunningVm clone(VmClone clone) {
        return VmBuilder.startClone(this, clone);
    }

    /** The state of each virtio device, in slot order: what a {@link VmClone.VirtioRestorer} is given. */
    public List<VirtioDeviceState> virtioDeviceStates() {
        return virtioStates.stream().map(VirtioMmioTransport.State::device).toList();
    }

    /** The state the vCPUs were frozen in, by vCPU id. */
    public List<VcpuState> vcpuStates() {
        return vcpuStates;
    }

    /** The irqchip, PIT and clock state the VM was frozen in. */
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

    List<VirtioMmioTransport.State> virtioStates() {
        return virtioStates;
    }

    /** Closes the frozen VM and its RAM's file descriptor; running clones are not affected. Idempotent. */
    @Override
    public void close() {
        frozen.close();
    }

    @Override
    public String toString() {
        return "template of VM " + frozen.id() + ", " + vcpuStates.size() + " vCPUs, " + virtioStates.size()
                + " virtio devices";
    }
}
