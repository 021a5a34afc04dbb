package dev.arrow.kvm;

import com.sun.jna.Memory;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.Errno;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.sys.KvmIoctl;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.sys.OwnedFd;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A KVM virtual machine: memory slots, the in-kernel interrupt controllers, interrupt
 * injection (IRQ lines, MSIs, irqfds), ioeventfds, and the factory of {@link Vcpu}s. Created by
 * {@link Kvm#createVm()}; owns its fd and closes the vCPUs it created. It does not own guest
 * memory: close the VM before the memory it maps, and only once no thread can be inside
 * {@link Vcpu#run()} any more. Closing fds does not end a VM that a thread still runs: the vCPU's
 * file keeps the VM alive in the kernel, and its memory slots keep naming the same host
 * addresses, so unmapping guest RAM then would let that guest reach whatever is mapped there
 * next ({@code MmapGuestMemory.retire()} is the safe step in between; {@code RunningVm} takes it).
 */
public final class Vm implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Vm.class);

    private static final int KVM_MEM_READONLY = 1 << 1;
    private static final int KVM_IOEVENTFD_FLAG_DATAMATCH = 1;
    private static final int KVM_IOEVENTFD_FLAG_PIO = 1 << 1;
    private static final int KVM_IOEVENTFD_FLAG_DEASSIGN = 1 << 2;
    private static final int KVM_IRQFD_FLAG_DEASSIGN = 1;

    /** The address space of an ioeventfd. */
    public enum AddressSpace { PIO, MMIO }

    /** The chips of the in-kernel irqchip, by their {@code KVM_IRQCHIP_*} id. */
    public enum Irqchip {
        PIC_MASTER(0), PIC_SLAVE(1), IOAPIC(2);

        private final int id;

        Irqchip(int id) {
            this.id = id;
        }

        public int id() {
            return id;
        }
    }

    private final Kvm kvm;
    private final OwnedFd fd;
    private final BitSet usedSlots = new BitSet();
    private final List<MemorySlot> slots = new ArrayList<>();
    private final List<Vcpu> vcpus = new ArrayList<>();
    /** {@link #xsaveSize()}, 0 until asked. */
    private volatile int xsaveSize;
    /** KVM_CHECK_EXTENSION's answers for this VM, asked once each. */
    private final Map<KvmCapability, Integer> extensions = new ConcurrentHashMap<>();

    Vm(Kvm kvm, OwnedFd fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public Kvm kvm() {
        return kvm;
    }

    /**
     * KVM_CHECK_EXTENSION on the VM (some answers depend on the VM), asked once per capability as {@link Kvm} does:
     * an answer does not change during the VM's life, and a clone's restore asks for the same ones every time.
     */
    public int checkExtension(KvmCapability capability) {
        Integer known = extensions.get(capability);
        if (known == null) {
            known = Ioctls.call(fd, KvmIoctl.KVM_CHECK_EXTENSION, capability.number());
            extensions.put(capability, known);
        }
        return known;
    }

    /** Fails unless this VM has {@code capability}. */
    void require(KvmCapability capability) {
        if (checkExtension(capability) <= 0) {
            throw new HostKvmUnusableException("this host's KVM lacks " + capability.kernelName() + " ("
                    + capability.description() + "), which the VMM needs");
        }
    }

    /** Registers every region of {@code memory} as a read-write slot. */
    public List<MemorySlot> registerMemory(MmapGuestMemory memory) {
        return registerMemory(memory, false);
    }

    /**
     * Registers every region of {@code memory} as a memory slot. Guest writes to a read-only slot
     * exit to us as MMIO writes.
     */
    public synchronized List<MemorySlot> registerMemory(MmapGuestMemory memory, boolean readOnly) {
        if (readOnly) {
            require(KvmCapability.READONLY_MEM);
        }
        List<MemorySlot> added = new ArrayList<>();
        try {
            for (MmapGuestMemory.HostRegion h : memory.hostRegions()) {
                int slot = usedSlots.nextClearBit(0);
                MemorySlot s = new MemorySlot(slot, h.region(), h.hostAddress(), readOnly);
                setUserMemoryRegion(s, s.region().size());
                usedSlots.set(slot);
                slots.add(s);
                added.add(s);
            }
        } catch (RuntimeException e) {
            for (MemorySlot s : added) {
                removeMemorySlot(s);
            }
            throw e;
        }
        return List.copyOf(added);
    }

    /** Removes a slot registered here: the guest no longer sees that memory. */
    public synchronized void removeMemorySlot(MemorySlot slot) {
        if (!slots.remove(slot)) {
            throw new IllegalArgumentException(slot + " is not registered with this VM");
        }
        setUserMemoryRegion(slot, 0);
        usedSlots.clear(slot.slot());
    }

    public synchronized List<MemorySlot> memorySlots() {
        return List.copyOf(slots);
    }

    private void setUserMemoryRegion(MemorySlot s, long size) {
        Memory m = new Memory(32);
        m.setInt(0, s.slot());
        m.setInt(4, s.readOnly() ? KVM_MEM_READONLY : 0);
        m.setLong(8, s.region().start().value());
        m.setLong(16, size);
        m.setLong(24, s.hostAddress());
        MemoryRegion r = s.region();
        Ioctls.call(fd, KvmIoctl.KVM_SET_USER_MEMORY_REGION, m, errno -> switch (errno) {
            case Errno.EEXIST -> "guest range " + r + " overlaps another memory slot";
            case Errno.EINVAL -> "guest range " + r + " or slot " + s.slot() + " is invalid (unaligned, too many slots?)";
            case Errno.EFAULT -> "the host memory behind " + r + " is not mapped";
            default -> KvmApiException.hintFor(errno);
        });
    }

    /** Creates the in-kernel PIC pair, IOAPIC and per-vCPU local APICs. Call before creating vCPUs. */
    public void createIrqchip() {
        Ioctls.call(fd, KvmIoctl.KVM_CREATE_IRQCHIP, 0L, errno -> errno == Errno.EEXIST
                ? "the irqchip already exists" : errno == Errno.EINVAL
                ? "create the irqchip before any vCPU" : KvmApiException.hintFor(errno));
    }

    /** The state of one chip of the in-kernel irqchip (needs {@link #createIrqchip()}). */
    public KernelStruct getIrqchip(Irqchip chip) {
        int size = KernelStruct.Kind.IRQCHIP.size();
        return Ioctls.getStruct(fd, KvmIoctl.KVM_GET_IRQCHIP, size, b -> b.putInt(0, chip.id()),
                b -> KernelStruct.decode(KernelStruct.Kind.IRQCHIP, b, size));
    }

    /** Loads a chip's state; the struct names the chip. */
    public void setIrqchip(KernelStruct chip) {
        Ioctls.setStruct(fd, KvmIoctl.KVM_SET_IRQCHIP, chip.size(), chip.requireKind(KernelStruct.Kind.IRQCHIP)::encode);
    }

    /** The kvmclock now (KVM_GET_CLOCK). */
    public KvmClock getClock() {
        return Ioctls.getStruct(fd, KvmIoctl.KVM_GET_CLOCK, KvmClock.SIZE, KvmClock::decode);
    }

    /** Sets the kvmclock (KVM_SET_CLOCK); see {@link KvmClock#forRestore()} for the flags KVM accepts. */
    public void setClock(KvmClock clock) {
        Ioctls.setStruct(fd, KvmIoctl.KVM_SET_CLOCK, KvmClock.SIZE, clock::encode, errno -> errno == Errno.EINVAL
                ? "KVM refused the clock flags 0x" + Integer.toHexString(clock.flags()) + " (use KvmClock.forRestore())"
                : KvmApiException.hintFor(errno));
    }

    /**
     * Captures the irqchip (both PICs, the IOAPIC) and the kvmclock. Needs the in-kernel irqchip;
     * take it while no vCPU runs. (The VM has no PIT: Arrow's guests keep time by the TSC and the
     * LAPIC's TSC-deadline timer, docs/boot-profile.md.)
     *
     * @throws HostKvmUnusableException if KVM cannot read the clock
     */
    public VmState saveState() {
        require(KvmCapability.ADJUST_CLOCK);
        return new VmState(getIrqchip(Irqchip.PIC_MASTER), getIrqchip(Irqchip.PIC_SLAVE), getIrqchip(Irqchip.IOAPIC),
                getClock());
    }

    /**
     * Loads {@code state} into this VM, which has its own irqchip already, before its vCPUs'
     * states ({@link Vcpu#restoreState}). Order as Firecracker's {@code restore_state} (less its
     * PIT): the clock (its value only, {@link KvmClock#forRestore()}), then the master PIC, the
     * slave PIC and the IOAPIC. The guest's clock continues from the captured value.
     */
    public void restoreState(VmState state) {
        require(KvmCapability.ADJUST_CLOCK);
        setClock(state.clock().forRestore());
        setIrqchip(state.picMaster());
        setIrqchip(state.picSlave());
        setIrqchip(state.ioapic());
    }

    /**
     * The size of this VM's XSAVE area in bytes: what {@code KVM_CAP_XSAVE2} reports (Linux 5.17+,
     * more than 4096 with AMX), else 4096.
     */
    public int xsaveSize() {
        int size = xsaveSize;
        if (size == 0) {
            size = Math.max(KernelStruct.Kind.XSAVE.size(), checkExtension(KvmCapability.XSAVE2));
            xsaveSize = size;
        }
        return size;
    }




    /** Where KVM may place the three pages of the real-mode TSS (Intel); must not be RAM. */
    public void setTssAddress(long address) {
        Ioctls.call(fd, KvmIoctl.KVM_SET_TSS_ADDR, address);
    }

    /** Where KVM may place the identity-map page table page (Intel real mode); must not be RAM. */
    public void setIdentityMapAddress(long address) {
        Memory m = new Memory(8);
        m.setLong(0, address);
        Ioctls.call(fd, KvmIoctl.KVM_SET_IDENTITY_MAP_ADDR, m);
    }

    /** Raises ({@code high}) or lowers an interrupt line of the in-kernel PIC/IOAPIC. */
    public void setIrqLine(int irq, boolean high) {
        if (irq < 0) {
            throw new IllegalArgumentException("negative IRQ " + irq);
        }
        Memory m = new Memory(8);
        m.setInt(0, irq);
        m.setInt(4, high ? 1 : 0);
        Ioctls.call(fd, KvmIoctl.KVM_IRQ_LINE, m);
    }

    /** Pulses an edge-triggered interrupt line. */
    public void pulseIrqLine(int irq) {
        setIrqLine(irq, true);
        setIrqLine(irq, false);
    }

    /**
     * Injects a message-signalled interrupt (KVM_SIGNAL_MSI).
     *
     * @return true when delivered, false when the guest blocked it (e.g. its LAPIC is disabled)
     */
    public boolean signalMsi(long address, int data) {
        Memory m = new Memory(32);
        m.clear();
        m.setInt(0, (int) address);
        m.setInt(4, (int) (address >>> 32));
        m.setInt(8, data);
        return Ioctls.call(fd, KvmIoctl.KVM_SIGNAL_MSI, m) > 0;
    }

    /**
     * Has KVM signal {@code event} when the guest writes {@code length} bytes ({@code 0}: any
     * length) at {@code address}, instead of exiting to us; with {@code datamatch} non-null only
     * when the written value equals it.
     */
    public void registerIoEvent(EventFd event, AddressSpace space, long address, int length, Long datamatch) {
        ioeventfd(event, space, address, length, datamatch, false);
    }

    public void unregisterIoEvent(EventFd event, AddressSpace space, long address, int length, Long datamatch) {
        ioeventfd(event, space, address, length, datamatch, true);
    }

    private void ioeventfd(EventFd event, AddressSpace space, long address, int length, Long datamatch,
                           boolean deassign) {
        if (length != 0 && length != 1 && length != 2 && length != 4 && length != 8) {
            throw new IllegalArgumentException("ioeventfd length must be 0, 1, 2, 4 or 8, got " + length);
        }
        int flags = (space == AddressSpace.PIO ? KVM_IOEVENTFD_FLAG_PIO : 0)
                | (datamatch != null ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0)
                | (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0);
        Memory m = new Memory(64);
        m.clear();
        m.setLong(0, datamatch != null ? datamatch : 0);
        m.setLong(8, address);
        m.setInt(16, length);
        m.setInt(20, event.fd());
        m.setInt(24, flags);
        Ioctls.call(fd, KvmIoctl.KVM_IOEVENTFD, m, errno -> errno == Errno.EEXIST
                ? String.format("an ioeventfd is already registered at %s 0x%x", space, address)
                : KvmApiException.hintFor(errno));
    }

    /** Has KVM inject interrupt {@code gsi} whenever {@code event} is signalled. Needs the irqchip. */
    public void registerIrqfd(EventFd event, int gsi) {
        irqfd(event, gsi, false);
    }

    public void unregisterIrqfd(EventFd event, int gsi) {
        irqfd(event, gsi, true);
    }

    private void irqfd(EventFd event, int gsi, boolean deassign) {
        Memory m = new Memory(32);
        m.clear();
        m.setInt(0, event.fd());
        m.setInt(4, gsi);
        m.setInt(8, deassign ? KVM_IRQFD_FLAG_DEASSIGN : 0);
        Ioctls.call(fd, KvmIoctl.KVM_IRQFD, m);
    }

    /** Creates vCPU {@code id} (its APIC id) with its kvm_run mapping. */
    public Vcpu createVcpu(int id) {
        if (id < 0) {
            throw new IllegalArgumentException("negative vCPU id " + id);
        }
        int raw = Ioctls.call(fd, KvmIoctl.KVM_CREATE_VCPU, id, errno -> switch (errno) {
            case Errno.EEXIST -> "vCPU id " + id + " already exists in this VM";
            case Errno.EINVAL -> "vCPU id " + id + " is out of range or the VM has too many vCPUs (max "
                    + kvm.maxVcpus() + ")";
            default -> KvmApiException.hintFor(errno);
        });
        OwnedFd vcpuFd = new OwnedFd(raw, "KVM vCPU " + id);
        NativeMapping run = null;
        try {
            run = NativeMapping.shared(raw, kvm.vcpuMmapSize(), "kvm_run of vCPU " + id);
            Vcpu vcpu = new Vcpu(this, id, vcpuFd, run);
            synchronized (this) {
                vcpus.add(vcpu);
            }
            return vcpu;
        } catch (RuntimeException e) {
            if (run != null) {
                run.close();
            }
            vcpuFd.close();
            throw e;
        }
    }

    synchronized void forget(Vcpu vcpu) {
        vcpus.remove(vcpu);
    }

    public boolean isClosed() {
        return fd.isClosed();
    }

    /** Closes the vCPUs created here that are still open, then the VM fd. Idempotent. */
    @Override
    public void close() {
        List<Vcpu> open;
        synchronized (this) {
            open = new ArrayList<>(vcpus);
        }
        for (Vcpu v : open) {
            v.close();
        }
        if (!fd.isClosed()) {
            fd.close();
            kvm.forget(this);
            LOG.debug("VM closed");
        }
    }
}
