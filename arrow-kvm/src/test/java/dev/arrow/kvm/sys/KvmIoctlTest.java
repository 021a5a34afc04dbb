package dev.arrow.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.DescriptorTable;
import dev.arrow.kvm.Fpu;
import dev.arrow.kvm.LapicState;
import dev.arrow.kvm.Regs;
import dev.arrow.kvm.Segment;
import dev.arrow.kvm.Sregs;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KvmIoctlTest {

    @Test
    void requestNumbersMatchTheKernelHeaders() {
        // values printed by a C program including <linux/kvm.h> (kernel 6.1 headers, x86-64)
        assertThat(KvmIoctl.KVM_GET_API_VERSION.request()).isEqualTo(0xAE00L);
        assertThat(KvmIoctl.KVM_CREATE_VM.request()).isEqualTo(0xAE01L);
        assertThat(KvmIoctl.KVM_GET_MSR_INDEX_LIST.request()).isEqualTo(0xC004AE02L);
        assertThat(KvmIoctl.KVM_CHECK_EXTENSION.request()).isEqualTo(0xAE03L);
        assertThat(KvmIoctl.KVM_GET_VCPU_MMAP_SIZE.request()).isEqualTo(0xAE04L);
        assertThat(KvmIoctl.KVM_GET_SUPPORTED_CPUID.request()).isEqualTo(0xC008AE05L);
        assertThat(KvmIoctl.KVM_CREATE_VCPU.request()).isEqualTo(0xAE41L);
        assertThat(KvmIoctl.KVM_SET_USER_MEMORY_REGION.request()).isEqualTo(0x4020AE46L);
        assertThat(KvmIoctl.KVM_SET_TSS_ADDR.request()).isEqualTo(0xAE47L);
        assertThat(KvmIoctl.KVM_SET_IDENTITY_MAP_ADDR.request()).isEqualTo(0x4008AE48L);
        assertThat(KvmIoctl.KVM_CREATE_IRQCHIP.request()).isEqualTo(0xAE60L);
        assertThat(KvmIoctl.KVM_IRQ_LINE.request()).isEqualTo(0x4008AE61L);
        assertThat(KvmIoctl.KVM_IRQFD.request()).isEqualTo(0x4020AE76L);
        assertThat(KvmIoctl.KVM_IOEVENTFD.request()).isEqualTo(0x4040AE79L);
        assertThat(KvmIoctl.KVM_ENABLE_CAP.request()).isEqualTo(0x4068AEA3L);
        assertThat(KvmIoctl.KVM_SIGNAL_MSI.request()).isEqualTo(0x4020AEA5L);
        assertThat(KvmIoctl.KVM_RUN.request()).isEqualTo(0xAE80L);
        assertThat(KvmIoctl.KVM_GET_REGS.request()).isEqualTo(0x8090AE81L);
        assertThat(KvmIoctl.KVM_SET_REGS.request()).isEqualTo(0x4090AE82L);
        assertThat(KvmIoctl.KVM_GET_SREGS.request()).isEqualTo(0x8138AE83L);
        assertThat(KvmIoctl.KVM_SET_SREGS.request()).isEqualTo(0x4138AE84L);
        assertThat(KvmIoctl.KVM_GET_MSRS.request()).isEqualTo(0xC008AE88L);
        assertThat(KvmIoctl.KVM_SET_MSRS.request()).isEqualTo(0x4008AE89L);
        assertThat(KvmIoctl.KVM_SET_SIGNAL_MASK.request()).isEqualTo(0x4004AE8BL);
        assertThat(KvmIoctl.KVM_GET_FPU.request()).isEqualTo(0x81A0AE8CL);
        assertThat(KvmIoctl.KVM_SET_FPU.request()).isEqualTo(0x41A0AE8DL);
        assertThat(KvmIoctl.KVM_GET_LAPIC.request()).isEqualTo(0x8400AE8EL);
        assertThat(KvmIoctl.KVM_SET_LAPIC.request()).isEqualTo(0x4400AE8FL);
        assertThat(KvmIoctl.KVM_SET_CPUID2.request()).isEqualTo(0x4008AE90L);
        assertThat(KvmIoctl.KVM_GET_CPUID2.request()).isEqualTo(0xC008AE91L);
        assertThat(KvmIoctl.KVM_GET_MP_STATE.request()).isEqualTo(0x8004AE98L);
        assertThat(KvmIoctl.KVM_SET_MP_STATE.request()).isEqualTo(0x4004AE99L);
        // the state a template captures (kernel 6.18 headers, x86-64)
        assertThat(KvmIoctl.KVM_GET_IRQCHIP.request()).isEqualTo(0xC208AE62L);
        assertThat(KvmIoctl.KVM_SET_IRQCHIP.request()).isEqualTo(0x8208AE63L);
        assertThat(KvmIoctl.KVM_SET_CLOCK.request()).isEqualTo(0x4030AE7BL);
        assertThat(KvmIoctl.KVM_GET_CLOCK.request()).isEqualTo(0x8030AE7CL);
        assertThat(KvmIoctl.KVM_GET_VCPU_EVENTS.request()).isEqualTo(0x8040AE9FL);
        assertThat(KvmIoctl.KVM_SET_VCPU_EVENTS.request()).isEqualTo(0x4040AEA0L);
        assertThat(KvmIoctl.KVM_GET_DEBUGREGS.request()).isEqualTo(0x8080AEA1L);
        assertThat(KvmIoctl.KVM_SET_DEBUGREGS.request()).isEqualTo(0x4080AEA2L);
        assertThat(KvmIoctl.KVM_GET_XSAVE.request()).isEqualTo(0x9000AEA4L);
        assertThat(KvmIoctl.KVM_SET_XSAVE.request()).isEqualTo(0x5000AEA5L);
        assertThat(KvmIoctl.KVM_GET_XCRS.request()).isEqualTo(0x8188AEA6L);
        assertThat(KvmIoctl.KVM_SET_XCRS.request()).isEqualTo(0x4188AEA7L);
        assertThat(KvmIoctl.KVM_GET_XSAVE2.request()).isEqualTo(0x9000AECFL);
    }

    @Test
    void everyEntryIsCovered() {
        // guards against an entry added without a known value above
        assertThat(KvmIoctl.values()).hasSize(45);
    }

    @Test
    void argumentSizesMatchOurStructLayouts() {
        assertThat(KvmIoctl.KVM_GET_REGS.argumentSize()).isEqualTo(Regs.SIZE);
        assertThat(KvmIoctl.KVM_SET_REGS.argumentSize()).isEqualTo(Regs.SIZE);
        assertThat(KvmIoctl.KVM_SET_SREGS.argumentSize()).isEqualTo(Sregs.SIZE);
        assertThat(Sregs.SIZE).isEqualTo(8 * Segment.SIZE + 2 * DescriptorTable.SIZE + 7 * 8 + 4 * 8);
        assertThat(KvmIoctl.KVM_SET_FPU.argumentSize()).isEqualTo(Fpu.SIZE);
        assertThat(KvmIoctl.KVM_SET_LAPIC.argumentSize()).isEqualTo(LapicState.SIZE);
        assertThat(KvmIoctl.KVM_RUN.argumentSize()).isZero();
    }

    @Test
    void requestNumbersAreUnique() {
        Set<Long> seen = new HashSet<>();
        for (KvmIoctl i : KvmIoctl.values()) {
            assertThat(seen.add(i.request())).as(i.name()).isTrue();
        }
    }

    @Test
    void optionalCallsNameTheirCapability() {
        assertThat(KvmIoctl.KVM_CREATE_IRQCHIP.capability()).isEqualTo(KvmCapability.IRQCHIP);
        assertThat(KvmIoctl.KVM_SIGNAL_MSI.capability()).isEqualTo(KvmCapability.SIGNAL_MSI);
        assertThat(KvmIoctl.KVM_IOEVENTFD.capability()).isEqualTo(KvmCapability.IOEVENTFD);
        assertThat(KvmIoctl.KVM_RUN.capability()).isNull();
        assertThat(KvmCapability.IMMEDIATE_EXIT.number()).isEqualTo(136);
        assertThat(KvmCapability.READONLY_MEM.number()).isEqualTo(81);
        assertThat(KvmCapability.IRQCHIP.kernelName()).isEqualTo("KVM_CAP_IRQCHIP");
        assertThat(KvmIoctl.KVM_GET_XSAVE.capability()).isEqualTo(KvmCapability.XSAVE);
        assertThat(KvmIoctl.KVM_GET_XCRS.capability()).isEqualTo(KvmCapability.XCRS);
        assertThat(KvmIoctl.KVM_GET_DEBUGREGS.capability()).isEqualTo(KvmCapability.DEBUGREGS);
        assertThat(KvmIoctl.KVM_GET_CLOCK.capability()).isEqualTo(KvmCapability.ADJUST_CLOCK);
        // numbers from <linux/kvm.h>
        assertThat(KvmCapability.TSC_DEADLINE_TIMER.number()).isEqualTo(72);
        assertThat(KvmCapability.ADJUST_CLOCK.number()).isEqualTo(39);
        assertThat(KvmCapability.VCPU_EVENTS.number()).isEqualTo(41);
        assertThat(KvmCapability.DEBUGREGS.number()).isEqualTo(50);
        assertThat(KvmCapability.XSAVE.number()).isEqualTo(55);
        assertThat(KvmCapability.XCRS.number()).isEqualTo(56);
        assertThat(KvmCapability.XSAVE2.number()).isEqualTo(208);
    }
}
