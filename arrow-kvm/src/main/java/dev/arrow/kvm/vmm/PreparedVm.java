package dev.arrow.kvm.vmm;

import dev.arrow.kvm.Kvm;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.Vcpu;
import dev.arrow.kvm.VcpuState;
import dev.arrow.kvm.Vm;
import dev.arrow.kvm.VmState;
import dev.arrow.kvm.diagnostics.StepTimes;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.x86.Layout;
import java.util.List;

/**
 * The kernel-side part of a clone that does not depend on the state it will continue from, made
 * ahead of time by a {@link VmTemplate}'s pool or kept from a finished clone: the VM (made from
 * this JVM's {@link Kvm#shared() /dev/kvm}) with its TSS and identity map, guest RAM as a private copy of the template's registered as its
 * memory slots, views of the template's read-only images ({@link PmemImages}) registered as
 * read-only slots at the same ranges, the in-kernel irqchip, and the vCPUs: a {@link BlankVm} (made in the
 * order the KVM API asks for) whose memory slots are registered after its vCPUs, as a cold build's are. The vCPUs'
 * registers, which depend neither on time nor on the irqchip, are loaded ahead ({@link #loadRegisters}); the rest of
 * the VM's and the vCPUs' state, and the devices' state, is the clone build's ({@link VmBuilder}); so is everything per
 * clone (eventfds, devices, threads).
 *
 * <p>Owns what it holds until a clone build takes it over; {@link #close()} releases the VM (and
 * its vCPUs) and then the mappings.
 */
final class PreparedVm implements AutoCloseable {
    /**
     * What every VM needs of KVM. The TSC-deadline timer is the guest's only timer: the VM has no PIT, and the guest
     * kernel leaves the PIT alone only when its LAPIC has that mode (docs/boot-profile.md, "No PIT"). Every x86 KVM
     * since Linux 3.2 has it.
     */
    private static final KvmCapability[] REQUIRED = {
        KvmCapability.IRQCHIP, KvmCapability.TSC_DEADLINE_TIMER, KvmCapability.IRQFD, KvmCapability.EXT_CPUID,
        KvmCapability.MP_STATE, KvmCapability.SET_TSS_ADDR, KvmCapability.SET_IDENTITY_MAP_ADDR,
        KvmCapability.IMMEDIATE_EXIT,
    };

    private final Kvm kvm;
    private final Vm vm;
    private final MmapGuestMemory memory;
    private final PmemImages images;
    private final List<Vcpu> vcpus;
    /** Set by {@link #reset}: this VM has run a clone before. */
    private volatile boolean recycled;
    /** The template states whose registers {@link #loadRegisters} loaded; null once a clone has the vCPUs. */
    private volatile List<VcpuState> registersLoaded;

    private PreparedVm(Kvm kvm, Vm vm, MmapGuestMemory memory, PmemImages images, List<Vcpu> vcpus) {
        this.kvm = kvm;
        this.vm = vm;
        this.memory = memory;
        this.images = images;
        this.vcpus = List.copyOf(vcpus);
    }

    /**
     * Makes a VM with {@code vcpuCount} vCPUs whose RAM is {@code ram} and whose read-only images are
     * {@code images}, which it owns from here on (closed too if this fails).
     *
     * @throws KvmException naming the step that failed, after releasing all it made
     */
    static PreparedVm create(int vcpuCount, MmapGuestMemory ram, PmemImages images) {
        BuildResources made = new BuildResources();
        made.addClosedLast(ram);
        made.addClosedLast(images);
        try {
            Kvm kvm = checkedKvm(vcpuCount);
            BlankVm blank = made.add(BlankVm.create(kvm, vcpuCount));
            Vm vm = blank.vm();
            vm.registerMemory(ram);
            images.registerWith(vm);
            return new PreparedVm(kvm, vm, ram, images, blank.vcpus());
        } catch (RuntimeException | Error e) {
            made.closeAll(e);
            throw e;
        }
    }

    /**
     * This JVM's /dev/kvm ({@link Kvm#shared()}, never closed: not a resource of the VM), checked
     * for what every VM needs and for {@code vcpuCount} vCPUs.
     */
    static Kvm checkedKvm(int vcpuCount) {
        Kvm kvm = Kvm.shared();
        for (KvmCapability c : REQUIRED) {
            kvm.requireCapability(c);
        }
        if (vcpuCount > kvm.maxVcpus()) {
            throw new KvmException("this host's KVM allows at most " + kvm.maxVcpus() + " vCPUs per VM, "
                    + vcpuCount + " were asked for");
        }
        return kvm;
    }

    /** A new VM with its TSS and identity map placed (both before any vCPU exists). */
    static Vm createVm(Kvm kvm, BuildResources resources) {
        Vm vm = resources.add(kvm.createVm());
        vm.setTssAddress(Layout.KVM_TSS_ADDRESS);
        vm.setIdentityMapAddress(Layout.KVM_IDENTITY_MAP_ADDRESS);
        return vm;
    }

    /**
     * Whether a VM whose guest ended with {@code outcome} may run another clone once
     * {@link #reset}. Not after a triple fault, a failed entry or a KVM internal error (KVM leaves
     * the vCPU in a state it does not describe, beyond what a restore covers), nor after a VMM error
     * (a KVM call or a device failed: the VM may be half-changed).
     */
    static boolean reusableAfter(VmOutcome outcome) {
        return !(outcome instanceof VmOutcome.TripleFault || outcome instanceof VmOutcome.FailEntry
                || outcome instanceof VmOutcome.InternalError || outcome instanceof VmOutcome.VmmError);
    }

    Kvm kvm() {
        return kvm;
    }

    Vm vm() {
        return vm;
    }

    MmapGuestMemory memory() {
        return memory;
    }

    /** The read-only images, registered at the template's ranges. */
    PmemImages images() {
        return images;
    }

    /** The vCPUs, by id. */
    List<Vcpu> vcpus() {
        return vcpus;
    }

    /**
     * Makes a finished clone's VM ready for the next clone of the template whose vCPUs were frozen
     * in {@code vcpuStates}. Only while no thread can enter any of its vCPUs:
     * <ol>
     *   <li>has KVM finish each vCPU's last exit ({@link Vcpu#completeLastExit()}): an unfinished
     *       I/O instruction would otherwise be completed on top of the next clone's restored registers;
     *   <li>loads each vCPU's registers from the template ({@link #loadRegisters}), its CPUID first: once a vCPU
     *       has run, KVM takes a CPUID only if it is unchanged (and some kernels refuse it altogether), so a VM on
     *       which the next clone's restore would fail is found here, not in that clone;
     *   <li>drops the pages the clone wrote ({@link MmapGuestMemory#reset()}), so its RAM reads as
     *       the template's again.
     * </ol>
     *
     * @throws KvmException if a vCPU cannot be brought to an instruction boundary or refuses the
     *                      CPUID or a register; the caller closes this
     */
    void reset(List<VcpuState> vcpuStates) {
        registersLoaded = null;
        for (Vcpu v : vcpus) {
            v.completeLastExit();
        }
        loadRegisters(vcpuStates);
        memory.reset();
        recycled = true;
    }

    /**
     * Loads the part of {@code vcpuStates} that depends neither on time nor on the VM's irqchip into the vCPUs
     * ({@link Vcpu#restoreRegisters}: CPUID, MP state, registers, XSAVE...), ahead of the clone that takes this
     * VM: the template's pool does it when it makes the VM, {@link #reset} when a clone gives it back, so a clone's
     * {@link #restore} of the same states only loads the rest. Only while no thread can enter a vCPU.
     */
    void loadRegisters(List<VcpuState> vcpuStates) {
        registersLoaded = null;
        for (int i = 0; i < vcpus.size(); i++) {
            vcpus.get(i).restoreRegisters(vcpuStates.get(i));
        }
        registersLoaded = vcpuStates;
    }

    /** True once {@link #reset} has made this VM ready again after a clone. */
    boolean isRecycled() {
        return recycled;
    }

    /**
     * Loads a template's state: the VM's ({@link Vm#restoreState}) first, then each vCPU's
     * ({@link Vcpu#restoreState}), as their javadoc asks. When {@link #loadRegisters} has loaded the same
     * {@code vcpuStates} (the same list) already, each vCPU's registers are not loaded again: only the VM's
     * state and then each vCPU's LAPIC, MSRs and events ({@link Vcpu#restoreLapicMsrsAndEvents}). Only before
     * the vCPUs run.
     */
    void restore(VmState vmState, List<VcpuState> vcpuStates, StepTimes steps) {
        boolean loaded = registersLoaded(vcpuStates);
        registersLoaded = null; // from here on the vCPUs are the clone's
        vm.restoreState(vmState);
        steps.step("VM state");
        for (int i = 0; i < vcpus.size(); i++) {
            if (!loaded) {
                vcpus.get(i).restoreRegisters(vcpuStates.get(i));
            }
            vcpus.get(i).restoreLapicMsrsAndEvents(vcpuStates.get(i));
        }
        steps.step(loaded ? "vCPU LAPIC, MSRs, events (registers loaded ahead)" : "vCPU state");
    }

    /** True when {@link #loadRegisters} has loaded {@code vcpuStates} (this very list) and no clone has run since. */
    boolean registersLoaded(List<VcpuState> vcpuStates) {
        return registersLoaded == vcpuStates;
    }

    /** Closes the VM (its vCPUs with it), then unmaps the images and guest RAM. Idempotent. */
    @Override
    public void close() {
        BuildResources owned = new BuildResources();
        owned.addClosedLast(memory);
        owned.addClosedLast(images);
        owned.add(vm);
        owned.closeAll();
    }

    @Override
    public String toString() {
        return "prepared VM, " + vcpus.size() + " vCPUs" + (vm.isClosed() ? " (closed)" : "");
    }
}
