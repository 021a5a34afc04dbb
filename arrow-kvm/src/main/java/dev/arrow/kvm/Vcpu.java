package dev.arrow.kvm;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import dev.arrow.kvm.sys.Errno;
import dev.arrow.kvm.sys.KickSignal;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.sys.KvmIoctl;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.sys.OwnedFd;
import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.CpuidFilter;
import dev.arrow.kvm.x86.MsrEntry;
import dev.arrow.kvm.x86.SnapshotMsrs;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One virtual CPU: its registers and {@link #run()}, which enters the guest and returns a typed
 * {@link VcpuExit} decoded from the shared kvm_run page at the offsets of {@link KvmRunLayout}. Created by
 * {@link Vm#createVcpu(int)}; owns its fd and the kvm_run mapping.
 *
 * <p>Threads: one thread at a time may {@link #run()} (the thread gets the kick signal blocked,
 * see {@link KickSignal}); any thread may {@link #kick()} it, which makes the current or the next
 * {@code run()} return {@link VcpuExit.Intr}. {@link #close()} kicks a running vCPU and waits for
 * it to leave {@code KVM_RUN}.
 */
public final class Vcpu implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Vcpu.class);

    /** struct kvm_mp_state: one u32. */
    private static final int MP_STATE_SIZE = 4;
    /** KVM_GET/SET_MSRS refuse 256 entries or more per call (MAX_IO_MSRS in arch/x86/kvm/x86.c). */
    private static final int MAX_MSRS_PER_CALL = 255;
    /** struct kvm_vcpu_events: u32 flags at 20. */
    private static final int EVENTS_FLAGS = 20;
    /** kvm_vcpu_events flags: apply nmi.pending, apply sipi_vector (KVM_VCPUEVENT_VALID_*). */
    private static final int EVENTS_VALID_NMI_PENDING = 1;
    private static final int EVENTS_VALID_SIPI_VECTOR = 1 << 1;
    /** What {@link #saveState()} and {@link #restoreState} need besides the always-present calls. */
    private static final List<KvmCapability> STATE_CAPABILITIES = List.of(KvmCapability.IRQCHIP,
            KvmCapability.MP_STATE, KvmCapability.EXT_CPUID, KvmCapability.XSAVE, KvmCapability.XCRS,
            KvmCapability.DEBUGREGS, KvmCapability.VCPU_EVENTS);
    private static final int MAX_CPUID_ENTRIES = 256;
    private static final long CLOSE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private static final VcpuExit INTR = new VcpuExit.Intr();
    private static final VcpuExit HLT = new VcpuExit.Hlt();
    private static final VcpuExit SHUTDOWN = new VcpuExit.Shutdown();

    private final Vm vm;
    private final int id;
    private final OwnedFd fd;
    private final NativeMapping run;
    private final KickSignal kickSignal;
    /** Kernel tid of the thread inside run(), 0 when none. */
    private final AtomicInteger runner = new AtomicInteger();
    private final AtomicBoolean closing = new AtomicBoolean();
    /** Counts run() calls; a read exit can be answered only until the next one. */
    private volatile long sequence;
    /** The thread whose signal mask KVM_SET_SIGNAL_MASK last installed. */
    private KickSignal.ThreadState maskedFor;

    Vcpu(Vm vm, int id, OwnedFd fd, NativeMapping run) {
        this.vm = vm;
        this.id = id;
        this.fd = fd;
        this.run = run;
        this.kickSignal = KickSignal.get();
    }

    /** The vCPU id given at creation (its initial APIC id). */
    public int id() {
        return id;
    }

    public Vm vm() {
        return vm;
    }

    // ---- registers ----

    public Regs getRegs() {
        return Ioctls.getStruct(fd, KvmIoctl.KVM_GET_REGS, Regs.SIZE, Regs::decode);
    }

    public void setRegs(Regs regs) {
        Ioctls.setStruct(fd, KvmIoctl.KVM_SET_REGS, Regs.SIZE, regs::encode);
    }

    public Sregs getSregs() {
        return Ioctls.getStruct(fd, KvmIoctl.KVM_GET_SREGS, Sregs.SIZE, Sregs::decode);
    }

    public void setSregs(Sregs sregs) {
        Ioctls.setStruct(fd, KvmIoctl.KVM_SET_SREGS, Sregs.SIZE, sregs::encode, errno -> errno == Errno.EINVAL
                ? "KVM rejected the special registers (inconsistent CR0/CR4/EFER or segments): " + sregs
                : KvmApiException.hintFor(errno));
    }

    public Fpu getFpu() {
        return Ioctls.getStruct(fd, KvmIoctl.KVM_GET_FPU, Fpu.SIZE, Fpu::decode);
    }

    public void setFpu(Fpu fpu) {
        Ioctls.setStruct(fd, KvmIoctl.KVM_SET_FPU, Fpu.SIZE, fpu::encode);
    }

    /** Reads the given MSRs. */
    public List<MsrEntry> getMsrs(int... indices) {
        Memory m = msrs(indices.length);
        for (int i = 0; i < indices.length; i++) {
            m.setInt(8 + 16L * i, indices[i]);
        }
        int n = Ioctls.call(fd, KvmIoctl.KVM_GET_MSRS, m);
        if (n != indices.length) {
            throw new KvmException(String.format("KVM_GET_MSRS read %d of %d MSRs: MSR 0x%x is not supported",
                    n, indices.length, indices[Math.max(0, Math.min(n, indices.length - 1))]));
        }
        List<MsrEntry> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            list.add(new MsrEntry(m.getInt(8 + 16L * i), m.getLong(16 + 16L * i)));
        }
        return List.copyOf(list);
    }

    /** Writes the given MSRs; fails naming the first MSR KVM refused. */
    public void setMsrs(List<MsrEntry> entries) {
        Memory m = msrs(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            m.setInt(8 + 16L * i, entries.get(i).index());
            m.setLong(16 + 16L * i, entries.get(i).value());
        }
        int n = Ioctls.call(fd, KvmIoctl.KVM_SET_MSRS, m);
        if (n != entries.size()) {
            throw new KvmException(String.format("KVM_SET_MSRS set %d of %d MSRs: KVM refused %s",
                    n, entries.size(), entries.get(Math.min(n, entries.size() - 1))));
        }
    }

    /**
     * Reads those of the given MSRs that KVM can read on this vCPU, in their order, skipping the
     * ones it refuses (KVM_GET_MSRS stops at the first MSR it cannot read and returns how many it
     * read; which MSRs are readable depends on the vCPU's CPUID).
     */
    public List<MsrEntry> getReadableMsrs(List<Integer> indices) {
        List<MsrEntry> read = new ArrayList<>(indices.size());
        int from = 0;
        while (from < indices.size()) {
            int count = Math.min(MAX_MSRS_PER_CALL, indices.size() - from);
            Memory m = msrs(count);
            for (int i = 0; i < count; i++) {
                m.setInt(8 + 16L * i, indices.get(from + i));
            }
            int n = Ioctls.call(fd, KvmIoctl.KVM_GET_MSRS, m);
            for (int i = 0; i < n; i++) {
                read.add(new MsrEntry(m.getInt(8 + 16L * i), m.getLong(16 + 16L * i)));
            }
            from += n;
            if (n < count) {
                LOG.debug("vCPU {}: KVM cannot read MSR 0x{}; left out", id, Integer.toHexString(indices.get(from)));
                from++;
            }
        }
        return List.copyOf(read);
    }

    private static Memory msrs(int count) {
        Memory m = new Memory(8 + 16L * Math.max(1, count));
        m.clear();
        m.setInt(0, count);
        return m;
    }

    /** Sets the CPUID leaves the guest sees (KVM_SET_CPUID2). */
    public void setCpuid(List<CpuidEntry> entries) {
        if (entries.size() > MAX_CPUID_ENTRIES) {
            throw new IllegalArgumentException("at most " + MAX_CPUID_ENTRIES + " CPUID entries, got " + entries.size());
        }
        Memory m = new Memory(Kvm.cpuidStructSize(Math.max(1, entries.size())));
        m.clear();
        Kvm.encodeCpuid(Ioctls.view(m), entries);
        Ioctls.call(fd, KvmIoctl.KVM_SET_CPUID2, m);
    }

    /**
     * The CPUID leaves set for this vCPU (KVM_GET_CPUID2). Linux 6.1 never writes the entry count back
     * (on success its copy of the count is not returned; on E2BIG, neither), and entries beyond the real
     * ones would read as zeros. The call succeeds exactly when there is room for every entry, so the
     * count is the least room that succeeds, found by bisection (at most 9 calls).
     */
    public List<CpuidEntry> getCpuid() {
        if (cpuidFits(0) != null) {
            return List.of();
        }
        int tooFew = 0;
        int enough = MAX_CPUID_ENTRIES;
        Memory m = cpuidFits(enough);
        if (m == null) {
            throw new KvmException("KVM_GET_CPUID2: more than " + MAX_CPUID_ENTRIES + " CPUID entries set");
        }
        while (enough - tooFew > 1) {
            int mid = (tooFew + enough) >>> 1;
            Memory tried = cpuidFits(mid);
            if (tried != null) {
                enough = mid;
                m = tried;
            } else {
                tooFew = mid;
            }
        }
        m.setInt(0, enough); // newer kernels write the count themselves; 6.1 leaves ours
        return Kvm.decodeCpuid(Ioctls.view(m), enough);
    }

    /** KVM_GET_CPUID2 with room for {@code room} entries: the filled buffer, or null on E2BIG. */
    private Memory cpuidFits(int room) {
        Memory m = new Memory(Kvm.cpuidStructSize(Math.max(1, room)));
        m.clear();
        m.setInt(0, room);
        try {
            Ioctls.call(fd, KvmIoctl.KVM_GET_CPUID2, m);
            return m;
        } catch (KvmApiException e) {
            if (e.errno() == Errno.E2BIG) {
                return null;
            }
            throw e;
        }
    }

    /** The in-kernel local APIC's registers (needs the irqchip). */
    public LapicState getLapic() {
        return Ioctls.getStruct(fd, KvmIoctl.KVM_GET_LAPIC, LapicState.SIZE, LapicState::decode);
    }

    public void setLapic(LapicState state) {
        Ioctls.setStruct(fd, KvmIoctl.KVM_SET_LAPIC, LapicState.SIZE, state::encode);
    }

    /** The XSAVE area (x87, SSE, AVX and further state components), of the VM's {@link Vm#xsaveSize()}. */
    public KernelStruct getXsave() {
        int size = vm.xsaveSize();
        KvmIoctl ioctl = size > KernelStruct.Kind.XSAVE.size() ? KvmIoctl.KVM_GET_XSAVE2 : KvmIoctl.KVM_GET_XSAVE;
        return Ioctls.getStruct(fd, ioctl, size, b -> KernelStruct.decode(KernelStruct.Kind.XSAVE, b, size));
    }

    /** Loads an XSAVE area; KVM reads {@link Vm#xsaveSize()} bytes of it. */
    public void setXsave(KernelStruct xsave) {
        xsave.requireKind(KernelStruct.Kind.XSAVE);
        if (xsave.size() != vm.xsaveSize()) {
            throw new IllegalArgumentException("this VM's XSAVE area is " + vm.xsaveSize() + " bytes, got " + xsave.size());
        }
        Ioctls.setStruct(fd, KvmIoctl.KVM_SET_XSAVE, xsave.size(), xsave::encode);
    }

    /** The extended control registers (XCR0: the XSAVE components the guest enabled). */
    public KernelStruct getXcrs() {
        return getKernelStruct(KvmIoctl.KVM_GET_XCRS, KernelStruct.Kind.XCRS);
    }

    public void setXcrs(KernelStruct xcrs) {
        setKernelStruct(KvmIoctl.KVM_SET_XCRS, xcrs, KernelStruct.Kind.XCRS);
    }

    /** DR0-DR3, DR6 and DR7. */
    public KernelStruct getDebugRegs() {
        return getKernelStruct(KvmIoctl.KVM_GET_DEBUGREGS, KernelStruct.Kind.DEBUGREGS);
    }

    public void setDebugRegs(KernelStruct debugRegs) {
        setKernelStruct(KvmIoctl.KVM_SET_DEBUGREGS, debugRegs, KernelStruct.Kind.DEBUGREGS);
    }

    /** Pending and injected exceptions, interrupts, NMIs and SMIs, the interrupt shadow, the SIPI vector. */
    public KernelStruct getVcpuEvents() {
        return getKernelStruct(KvmIoctl.KVM_GET_VCPU_EVENTS, KernelStruct.Kind.VCPU_EVENTS);
    }

    /** Loads events; the struct's flags say which optional fields KVM applies. */
    public void setVcpuEvents(KernelStruct events) {
        setKernelStruct(KvmIoctl.KVM_SET_VCPU_EVENTS, events, KernelStruct.Kind.VCPU_EVENTS);
    }

    private KernelStruct getKernelStruct(KvmIoctl ioctl, KernelStruct.Kind kind) {
        return Ioctls.getStruct(fd, ioctl, kind.size(), b -> KernelStruct.decode(kind, b, kind.size()));
    }

    private void setKernelStruct(KvmIoctl ioctl, KernelStruct struct, KernelStruct.Kind kind) {
        struct.requireKind(kind);
        Ioctls.setStruct(fd, ioctl, struct.size(), struct::encode);
    }


    // ---- state ----

    /**
     * Captures this vCPU's state. Call it with no thread in {@link #run()}, after answering the
     * last exit if it was a read ({@link VcpuExit.IoIn#respond}, {@link VcpuExit.MmioRead#respond}):
     * KVM finishes an I/O or MMIO instruction only when the vCPU enters KVM_RUN again, so this
     * first enters it with {@code immediate_exit} set, which completes the instruction and returns
     * before any further guest code runs (KVM API doc, {@code kvm_run.immediate_exit}).
     *
     * <p>Order, as Firecracker's {@code save_state}: MP state first (reading it makes the LAPIC
     * accept pending INIT/SIPI events, which changes the rest), then registers, special registers,
     * XSAVE, XCRs, debug registers, LAPIC, CPUID, MSRs, and the pending events last (the reads
     * before may still change them).
     *
     * @throws KvmException if the vCPU's last exit is still unfinished after that (a string I/O
     *                      instruction with more to transfer: handle its exits first)
     * @throws HostKvmUnusableException if this host's KVM lacks a call needed for it
     */
    public VcpuState saveState() {
        requireStateCapabilities();
        completeLastExit();
        MpState mpState = getMpState();
        Regs regs = getRegs();
        Sregs sregs = getSregs();
        KernelStruct xsave = getXsave();
        KernelStruct xcrs = getXcrs();
        KernelStruct debugRegs = getDebugRegs();
        LapicState lapic = getLapic();
        List<CpuidEntry> cpuid = getCpuid();
        List<MsrEntry> msrs = getReadableMsrs(SnapshotMsrs.candidates(vm.kvm().msrIndexList()));
        KernelStruct events = getVcpuEvents();
        return new VcpuState(cpuid, mpState, regs, sregs, xsave, xcrs, debugRegs, lapic, msrs, events);
    }

    /**
     * Loads {@code state} into this vCPU, which must not run meanwhile; its VM's state goes first
     * ({@link Vm#restoreState}). Order, as Firecracker's {@code restore_state} (the reasons are
     * its and QEMU's {@code kvm_arch_put_registers}'):
     * <ol>
     *   <li>CPUID, before anything: what KVM accepts for the rest (XSAVE components, MSRs) depends on it;
     *   <li>MP state;
     *   <li>registers, before the events: KVM_SET_REGS drops a pending exception;
     *   <li>special registers, before the LAPIC: they carry the APIC base MSR, which says where
     *       and in which mode (xAPIC, x2APIC) the LAPIC is;
     *   <li>XSAVE, XCRs, debug registers;
     *   <li>LAPIC, before the MSRs: the TSC deadline MSR is taken only once the LAPIC timer is in
     *       TSC-deadline mode;
     *   <li>MSRs, the TSC deadline last, after the TSC ({@link SnapshotMsrs#restoreOrder});
     *   <li>pending events last, with the pending NMI and the SIPI vector applied too (as QEMU's
     *       {@code kvm_put_vcpu_events} does; KVM_GET_VCPU_EVENTS does not mark them valid).
     * </ol>
     *
     * @throws KvmException naming the first MSR KVM refused
     * @throws HostKvmUnusableException if this host's KVM lacks a call needed for it
     */
    public void restoreState(VcpuState state) {
        restoreRegisters(state);
        restoreLapicMsrsAndEvents(state);
    }

    /**
     * The first part of {@link #restoreState}, steps 1 to 5: CPUID, MP state, registers, special registers, XSAVE,
     * XCRs and debug registers. None of it depends on time or on the VM's irqchip, so it may be loaded ahead of
     * {@link Vm#restoreState} and long before the vCPU runs (a template's prepared VMs load it while they wait for
     * a clone); {@link #restoreLapicMsrsAndEvents} must follow, after the VM's state, with no run in between.
     *
     * @throws HostKvmUnusableException if this host's KVM lacks a call needed for it
     */
    public void restoreRegisters(VcpuState state) {
        requireStateCapabilities();
        setCpuid(state.cpuid());
        setMpState(state.mpState());
        setRegs(state.regs());
        setSregs(sregsToRestore(state));
        setXsave(state.xsave());
        setXcrs(state.xcrs());
        setDebugRegs(state.debugRegs());
    }

    /**
     * The second part of {@link #restoreState}, steps 6 to 8: the LAPIC (its timer counts from the moment it is
     * loaded), the MSRs (the TSC, the TSC deadline, the kvmclock's) and the pending events; after
     * {@link #restoreRegisters} and the VM's state, just before the vCPU runs.
     *
     * @throws KvmException naming the first MSR KVM refused
     * @throws HostKvmUnusableException if this host's KVM lacks a call needed for it
     */
    public void restoreLapicMsrsAndEvents(VcpuState state) {
        requireStateCapabilities();
        setLapic(state.lapic());
        List<MsrEntry> msrs = SnapshotMsrs.restoreOrder(state.msrs());
        for (int from = 0; from < msrs.size(); from += MAX_MSRS_PER_CALL) {
            setMsrs(msrs.subList(from, Math.min(msrs.size(), from + MAX_MSRS_PER_CALL)));
        }
        KernelStruct events = state.events();
        setVcpuEvents(events.withIntAt(EVENTS_FLAGS,
                events.intAt(EVENTS_FLAGS) | EVENTS_VALID_NMI_PENDING | EVENTS_VALID_SIPI_VECTOR));
    }

    /** TSS type "available 64-bit TSS"; 11 is the same, busy. */
    static final int TSS_AVAILABLE = 9;
    private static final int TSS_BUSY_BIT = 0x2;

    /**
     * The saved special registers, with the task register marked available on AMD. SVM's VMCB keeps no busy
     * bit, so KVM reports TR as busy by itself (its {@code svm_get_segment}); AMD processors do not look at the
     * type of a loaded TR and VMRUN does not check it, but QEMU's emulation of SVM (the lab) checks a
     * user-mode port access against the TSS's I/O bitmap only when TR is "available": a clone restored with
     * "busy" takes #GP on its first permitted OUT (init's status port). VMX requires "busy", so Intel keeps it.
     */
    static Sregs sregsToRestore(VcpuState state) {
        Sregs sregs = state.sregs();
        Segment tr = sregs.tr();
        if (!CpuidFilter.isAmd(state.cpuid()) || (tr.type() & ~TSS_BUSY_BIT) != TSS_AVAILABLE) {
            return sregs;
        }
        return sregs.copy().tr(new Segment(tr.base(), tr.limit(), tr.selector(), TSS_AVAILABLE, tr.present(), tr.dpl(),
                tr.db(), tr.s(), tr.l(), tr.g(), tr.avl(), tr.unusable()));
    }

    private void requireStateCapabilities() {
        for (KvmCapability c : STATE_CAPABILITIES) {
            vm.require(c);
        }
    }

    /**
     * Enters KVM_RUN with {@code immediate_exit} set: KVM finishes the instruction of the last exit
     * (an I/O or MMIO access waits for that until the next entry) and returns before any further
     * guest code runs. {@link #saveState()} starts with it; call it before {@link #restoreState}
     * on a vCPU that has run, or KVM would finish that old instruction on top of the restored state.
     * Call it with no thread in {@link #run()}.
     *
     * @throws KvmException if the vCPU exits again instead (a string I/O instruction with more to
     *                      transfer: handle its exits first)
     */
    public void completeLastExit() {
        setImmediateExit(true);
        VcpuExit exit = run();
        if (!(exit instanceof VcpuExit.Intr)) {
            setImmediateExit(false);
            throw new KvmException("vCPU " + id + " exited again (" + exit + ") while finishing its last exit: "
                    + "handle its exits until it stops at an instruction boundary, then save its state");
        }
    }

    public MpState getMpState() {
        return Ioctls.getStruct(fd, KvmIoctl.KVM_GET_MP_STATE, MP_STATE_SIZE, b -> MpState.of(b.getInt(0)));
    }

    /**
     * Whether the guest had interrupts enabled (RFLAGS.IF) when {@link #run()} last returned, read from kvm_run
     * without an ioctl (KVM writes it on every return of KVM_RUN). Call on the thread that runs the vCPU, between
     * two runs.
     */
    public boolean interruptsEnabledAtLastExit() {
        if (!run.guard().enter()) {
            throw new KvmException("vCPU " + id + " is closed");
        }
        try {
            return run.window(0).get(KvmRunLayout.IF_FLAG) != 0;
        } finally {
            run.guard().exit();
        }
    }

    public void setMpState(MpState state) {
        Ioctls.setStruct(fd, KvmIoctl.KVM_SET_MP_STATE, MP_STATE_SIZE, b -> b.putInt(0, state.value()));
    }


    // ---- running ----

    /**
     * Enters the guest until it needs us. Blocks; returns {@link VcpuExit.Intr} when kicked (and
     * also, spuriously, when an application processor waiting for its start-up IPI wakes up:
     * callers just run again).
     *
     * @throws KvmApiException when KVM_RUN fails (e.g. EFAULT: guest memory unmapped)
     * @throws KvmException when the vCPU is closed or already running on another thread
     */
    public VcpuExit run() {
        KickSignal.ThreadState thread = kickSignal.prepareCurrentThread();
        if (!fd.enter()) {
            throw new KvmException("vCPU " + id + " is closed");
        }
        try {
            if (closing.get()) {
                throw new KvmException("vCPU " + id + " is closed");
            }
            if (!runner.compareAndSet(0, thread.tid())) {
                throw new KvmException("vCPU " + id + " is already running on thread " + runner.get());
            }
            try {
                if (maskedFor != thread) {
                    setSignalMask(thread.runMask());
                    maskedFor = thread;
                }
                long seq = sequence + 1;
                sequence = seq;
                int r = LibC.ioctl(fd.fd(), KvmIoctl.KVM_RUN.request(), 0L);
                if (r == -1) {
                    int errno = Native.getLastError();
                    if (errno == Errno.EINTR) {
                        kickSignal.drainCurrentThread();
                        setImmediateExit(false);
                        return INTR;
                    }
                    if (errno == Errno.EAGAIN) {
                        // an application processor still waiting for INIT/SIPI woke up: run again
                        return INTR;
                    }
                    throw new KvmApiException("KVM_RUN", errno, errno == Errno.EFAULT
                            ? "KVM could not access guest memory (a memory slot's host mapping is gone?)"
                            : KvmApiException.hintFor(errno));
                }
                return decode(seq);
            } finally {
                runner.set(0);
            }
        } finally {
            fd.exit();
        }
    }

    private void setSignalMask(long mask) {
        Memory m = new Memory(12);
        m.setInt(0, 8);
        m.setLong(4, mask);
        Ioctls.call(fd, KvmIoctl.KVM_SET_SIGNAL_MASK, m);
    }

    /**
     * Makes the current {@code run()} (or the next one, if none is in progress) return
     * {@link VcpuExit.Intr}: sets kvm_run.immediate_exit and signals the running thread.
     * Callable from any thread; a no-op once closed.
     */
    public void kick() {
        setImmediateExit(true);
        VarHandle.fullFence();
        int tid = runner.get();
        if (tid != 0) {
            kickSignal.kick(tid);
        }
    }

    /** True while a thread is inside {@link #run()}. */
    public boolean isRunning() {
        return runner.get() != 0;
    }

    /** The kernel thread id of the thread inside {@link #run()}, or 0 (for diagnostics). */
    public int runningThreadId() {
        return runner.get();
    }

    /** Sets or clears kvm_run.immediate_exit; a no-op once closed. */
    private void setImmediateExit(boolean set) {
        if (run.guard().enter()) {
            try {
                run.window(0).put(KvmRunLayout.IMMEDIATE_EXIT, (byte) (set ? 1 : 0));
            } finally {
                run.guard().exit();
            }
        }
    }

    private VcpuExit decode(long seq) {
        if (!run.guard().enter()) {
            throw new KvmException("vCPU " + id + " was closed while running");
        }
        try {
            ByteBuffer b = run.window(0);
            int reason = b.getInt(KvmRunLayout.EXIT_REASON);
            return switch (reason) {
                case VcpuExit.Reason.IO -> decodeIo(b, seq);
                case VcpuExit.Reason.MMIO -> decodeMmio(b, seq);
                case VcpuExit.Reason.HLT -> HLT;
                case VcpuExit.Reason.SHUTDOWN -> SHUTDOWN;
                case VcpuExit.Reason.INTR -> INTR;
                case VcpuExit.Reason.FAIL_ENTRY -> new VcpuExit.FailEntry(b.getLong(KvmRunLayout.FAIL_ENTRY_REASON),
                        b.getInt(KvmRunLayout.FAIL_ENTRY_CPU));
                case VcpuExit.Reason.INTERNAL_ERROR -> new VcpuExit.InternalError(b.getInt(KvmRunLayout.INTERNAL_SUBERROR),
                        longs(b, KvmRunLayout.INTERNAL_DATA, b.getInt(KvmRunLayout.INTERNAL_NDATA)));
                case VcpuExit.Reason.SYSTEM_EVENT -> {
                    int ndata = b.getInt(KvmRunLayout.SYSTEM_EVENT_NDATA);
                    // Kernels before 5.18 had a single u64 flags here and no ndata.
                    yield new VcpuExit.SystemEvent(b.getInt(KvmRunLayout.SYSTEM_EVENT_TYPE),
                            longs(b, KvmRunLayout.SYSTEM_EVENT_DATA, ndata == 0 ? 1 : ndata));
                }
                default -> new VcpuExit.Unknown(reason);
            };
        } finally {
            run.guard().exit();
        }
    }

    private VcpuExit decodeIo(ByteBuffer b, long seq) {
        int direction = b.get(KvmRunLayout.IO_DIRECTION);
        int size = b.get(KvmRunLayout.IO_SIZE) & 0xFF;
        int port = b.getShort(KvmRunLayout.IO_PORT) & 0xFFFF;
        int count = b.getInt(KvmRunLayout.IO_COUNT);
        long dataOffset = b.getLong(KvmRunLayout.IO_DATA_OFFSET);
        if ((size != 1 && size != 2 && size != 4) || count < 1 || dataOffset < 0
                || dataOffset + (long) size * count > b.capacity()) {
            throw new KvmException(String.format("malformed KVM_EXIT_IO on vCPU %d: port 0x%x size %d count %d "
                    + "data offset %d (kvm_run is %d bytes)", id, port, size, count, dataOffset, b.capacity()));
        }
        int length = size * count;
        if (direction == KvmRunLayout.IO_DIRECTION_OUT) {
            byte[] data = new byte[length];
            b.get((int) dataOffset, data, 0, length);
            return new VcpuExit.IoOut(port, size, count, data);
        }
        for (int i = 0; i < length; i++) {
            b.put((int) dataOffset + i, (byte) 0xFF);
        }
        return new VcpuExit.IoIn(this, seq, port, size, count, (int) dataOffset);
    }

    private VcpuExit decodeMmio(ByteBuffer b, long seq) {
        long address = b.getLong(KvmRunLayout.MMIO_PHYS_ADDR);
        int length = b.getInt(KvmRunLayout.MMIO_LEN);
        if (length < 1 || length > 8) {
            throw new KvmException(String.format("malformed KVM_EXIT_MMIO on vCPU %d: address 0x%x length %d",
                    id, address, length));
        }
        if (b.get(KvmRunLayout.MMIO_IS_WRITE) != 0) {
            byte[] data = new byte[length];
            b.get(KvmRunLayout.MMIO_DATA, data, 0, length);
            return new VcpuExit.MmioWrite(address, length, data);
        }
        for (int i = 0; i < 8; i++) {
            b.put(KvmRunLayout.MMIO_DATA + i, (byte) 0xFF);
        }
        return new VcpuExit.MmioRead(this, seq, address, length);
    }

    private static long[] longs(ByteBuffer b, int offset, int count) {
        int n = Math.max(0, Math.min(count, KvmRunLayout.MAX_EXIT_DATA));
        long[] data = new long[n];
        for (int i = 0; i < n; i++) {
            data[i] = b.getLong(offset + 8 * i);
        }
        return data;
    }

    /** Writes a read exit's answer into kvm_run, if that exit is still the current one. */
    void respond(long seq, int offset, byte[] data) {
        if (seq != sequence || runner.get() != 0) {
            throw new KvmException("vCPU " + id + " has already resumed after this exit: respond before the next run()");
        }
        if (!run.guard().enter()) {
            throw new KvmException("vCPU " + id + " is closed");
        }
        try {
            run.window(0).put(offset, data);
        } finally {
            run.guard().exit();
        }
    }

    public boolean isClosed() {
        return closing.get();
    }

    /**
     * Kicks a running vCPU, waits (up to 5 s) for it to leave KVM_RUN, then closes the fd and
     * unmaps kvm_run. Idempotent.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        kick();
        if (!fd.close(CLOSE_TIMEOUT_NANOS)) {
            LOG.warn("vCPU {} did not leave KVM_RUN within 5 s of a kick; closing it anyway", id);
        }
        run.close();
        vm.forget(this);
    }

    @Override
    public String toString() {
        return "vCPU " + id + (closing.get() ? " (closed)" : "");
    }
}
