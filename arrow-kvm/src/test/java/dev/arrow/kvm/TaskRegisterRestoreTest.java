package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.MsrEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A restored vCPU's task register: available on AMD (for the lab's emulated SVM), busy as saved on Intel. */
class TaskRegisterRestoreTest {
    private static final int BUSY_TSS = 11;

    private static CpuidEntry vendor(String name) {
        ByteBuffer b = ByteBuffer.wrap(name.getBytes(StandardCharsets.US_ASCII)).order(ByteOrder.LITTLE_ENDIAN);
        int ebx = b.getInt(0);
        int edx = b.getInt(4);
        int ecx = b.getInt(8);
        return new CpuidEntry(0, 0, 0, 0xd, ebx, ecx, edx);
    }

    private static VcpuState state(String vendor) {
        Segment tr = new Segment(0xfffffe0000003000L, 0x4087, 0x40, BUSY_TSS, true, 0, false, false, false, false,
                false, false);
        Sregs sregs = new Sregs().tr(tr).cr3(0x9000);
        return new VcpuState(List.of(vendor(vendor)), MpState.RUNNABLE, new Regs(), sregs,
                new KernelStruct(KernelStruct.Kind.XSAVE, new byte[KernelStruct.Kind.XSAVE.size()]),
                new KernelStruct(KernelStruct.Kind.XCRS, new byte[KernelStruct.Kind.XCRS.size()]),
                new KernelStruct(KernelStruct.Kind.DEBUGREGS, new byte[KernelStruct.Kind.DEBUGREGS.size()]),
                new LapicState(), List.of(new MsrEntry(0x10, 1)),
                new KernelStruct(KernelStruct.Kind.VCPU_EVENTS, new byte[KernelStruct.Kind.VCPU_EVENTS.size()]));
    }

    @Test
    void onAmdTheBusyTaskRegisterIsRestoredAvailableAndTheStateKeepsItsOwn() {
        VcpuState saved = state("AuthenticAMD");
        Sregs restored = Vcpu.sregsToRestore(saved);
        assertThat(restored.tr().type()).isEqualTo(Vcpu.TSS_AVAILABLE);
        assertThat(restored.tr().base()).isEqualTo(saved.sregs().tr().base());
        assertThat(restored.tr().limit()).isEqualTo(0x4087);
        assertThat(restored.cr3()).isEqualTo(0x9000);
        assertThat(saved.sregs().tr().type()).as("the template's state, shared by its clones").isEqualTo(BUSY_TSS);
    }

    @Test
    void onIntelTheTaskRegisterStaysBusyAsVmxRequires() {
        assertThat(Vcpu.sregsToRestore(state("GenuineIntel")).tr().type()).isEqualTo(BUSY_TSS);
    }
}
