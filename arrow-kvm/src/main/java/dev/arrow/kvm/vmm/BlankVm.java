package dev.arrow.kvm.vmm;

import dev.arrow.kvm.Kvm;
import dev.arrow.kvm.Vcpu;
import dev.arrow.kvm.Vm;
import java.util.ArrayList;
import java.util.List;

/**
 * A VM without guest memory: the VM with its TSS and identity map, the in-kernel irqchip (no PIT:
 * docs/boot-profile.md) and its vCPUs (each with its kvm_run mapping), made in the order the KVM API asks for (the
 * TSS, the identity map and the irqchip before any vCPU). Memory slots may be registered at any point after, so the same blank VM serves any
 * guest with this many vCPUs: a cold build takes one from the {@link BlankVmPool} or makes it, then adds RAM and
 * images ({@link VmBuilder}); a template's {@link PreparedVm} is one with the template's RAM. Owns the VM until a
 * build takes it over; {@link #close()} closes the VM and its vCPUs.
 */
final class BlankVm implements AutoCloseable {
    private final Vm vm;
    private final List<Vcpu> vcpus;

    private BlankVm(Vm vm, List<Vcpu> vcpus) {
        this.vm = vm;
        this.vcpus = List.copyOf(vcpus);
    }

    /**
     * Makes a blank VM with {@code vcpuCount} vCPUs from {@code kvm} (checked already:
     * {@link PreparedVm#checkedKvm}).
     *
     * @throws dev.arrow.kvm.KvmException naming the call that failed, after closing all it made
     */
    static BlankVm create(Kvm kvm, int vcpuCount) {
        BuildResources made = new BuildResources();
        try {
            Vm vm = PreparedVm.createVm(kvm, made);
            vm.createIrqchip();
            List<Vcpu> vcpus = new ArrayList<>();
            for (int i = 0; i < vcpuCount; i++) {
                vcpus.add(vm.createVcpu(i));
            }
            return new BlankVm(vm, vcpus);
        } catch (RuntimeException | Error e) {
            made.closeAll(e);
            throw e;
        }
    }

    Vm vm() {
        return vm;
    }

    /** The vCPUs, by id. */
    List<Vcpu> vcpus() {
        return vcpus;
    }

    /** Closes the VM and its vCPUs. Idempotent. */
    @Override
    public void close() {
        vm.close();
    }

    @Override
    public String toString() {
        return "blank VM, " + vcpus.size() + " vCPUs" + (vm.isClosed() ? " (closed)" : "");
    }
}
