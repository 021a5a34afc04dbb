/*
 * kvm-keeper: holds KVM objects open so that the (nested, TCG-emulated) lab kernel never patches
 * its KVM static keys again while benchmarks create and destroy VMs.
 *
 * Why: KVM switches jump labels on and off as the first/last VM, vCPU or APIC of a kind comes and
 * goes (preempt notifiers when a VM is created, apic_sw_disabled / apic_hw_disabled per local
 * APIC, kvm_has_noapic_vcpu per vCPU without an in-kernel APIC). Each switch rewrites kernel code
 * with INT3-based text patching while the other CPU runs it; under QEMU's multi-threaded TCG a
 * CPU can still execute a stale translation of the temporary INT3 and the lab kernel panics
 * ("int3: 0000 [#1]" in __schedule or kvm_vcpu_ioctl). With one object of each kind alive for the
 * whole session, every key stays on and no further patching happens.
 *
 * Holds: VM 1 (in-kernel irqchip) with vCPU 0 (its APIC software-disabled, as after reset) and
 * vCPU 1 (APIC hardware-disabled through IA32_APIC_BASE); VM 2 (no irqchip) with one vCPU.
 * Prints "kvm-keeper: ready" and sleeps until killed. Never runs a vCPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APIC_DEFAULT_BASE 0xfee00000ULL

static int must(int r, const char *what) {
    if (r < 0) {
        fprintf(stderr, "kvm-keeper: %s failed: %s\n", what, strerror(errno));
        exit(1);
    }
    return r;
}

int main(void) {
    int kvm = must(open("/dev/kvm", O_RDWR | O_CLOEXEC), "open /dev/kvm");
    int vm1 = must(ioctl(kvm, KVM_CREATE_VM, 0), "KVM_CREATE_VM (irqchip)");
    must(ioctl(vm1, KVM_SET_TSS_ADDR, 0xfffbd000UL), "KVM_SET_TSS_ADDR");
    must(ioctl(vm1, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
    must(ioctl(vm1, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU 0");
    int cpu1 = must(ioctl(vm1, KVM_CREATE_VCPU, 1), "KVM_CREATE_VCPU 1");
    struct {
        struct kvm_msrs head;
        struct kvm_msr_entry entry;
    } msrs;
    memset(&msrs, 0, sizeof msrs);
    msrs.head.nmsrs = 1;
    msrs.entry.index = MSR_IA32_APICBASE;
    msrs.entry.data = APIC_DEFAULT_BASE; /* enable bit (11) clear: APIC hardware-disabled */
    if (must(ioctl(cpu1, KVM_SET_MSRS, &msrs), "KVM_SET_MSRS IA32_APIC_BASE") != 1) {
        fprintf(stderr, "kvm-keeper: KVM refused to disable the APIC of vCPU 1\n");
        return 1;
    }
    int vm2 = must(ioctl(kvm, KVM_CREATE_VM, 0), "KVM_CREATE_VM (no irqchip)");
    must(ioctl(vm2, KVM_SET_TSS_ADDR, 0xfffbd000UL), "KVM_SET_TSS_ADDR");
    must(ioctl(vm2, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU (no irqchip)");
    printf("kvm-keeper: ready\n");
    fflush(stdout);
    for (;;) pause();
}
