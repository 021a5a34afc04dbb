package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.sys.KvmIoctl;
import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.MsrEntry;
import dev.arrow.testing.KvmTest;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 2: the system, VM and vCPU ioctls against the host's /dev/kvm. */
@KvmTest
class KvmSystemTest {
    static final long MiB = 1L << 20;

    @Test
    void speaksApiVersion12AndReportsTheVcpuMapping() {
        try (Kvm kvm = Kvm.open()) {
            assertThat(kvm.apiVersion()).isEqualTo(Kvm.API_VERSION);
            assertThat(kvm.vcpuMmapSize()).isGreaterThanOrEqualTo(4096).isEqualTo(kvm.vcpuMmapSize() & ~4095);
            assertThat(kvm.maxVcpus()).isGreaterThanOrEqualTo(kvm.recommendedVcpus()).isPositive();
        }
    }

    @Test
    void everyCapabilityOurIoctlTableNeedsIsPresent() {
        try (Kvm kvm = Kvm.open()) {
            for (KvmIoctl ioctl : KvmIoctl.values()) {
                if (ioctl.capability() != null) {
                    assertThat(kvm.hasCapability(ioctl.capability())).as(ioctl + " needs " + ioctl.capability()).isTrue();
                }
            }
            assertThat(kvm.hasCapability(KvmCapability.IMMEDIATE_EXIT)).isTrue();
        }
    }

    @Test
    void missingDeviceNamesTheFix() {
        assertThatThrownBy(() -> Kvm.open(Path.of("/nonexistent/kvm")))
                .isInstanceOf(HostKvmUnusableException.class)
                .hasMessageContaining("ENOENT").hasMessageContaining("kvm_intel");
    }

    @Test
    void supportedCpuidHasTheVendorLeaf() {
        try (Kvm kvm = Kvm.open()) {
            List<CpuidEntry> cpuid = kvm.supportedCpuid();
            assertThat(cpuid).isNotEmpty();
            CpuidEntry leaf0 = cpuid.stream().filter(e -> e.function() == 0).findFirst().orElseThrow();
            assertThat(leaf0.eax()).as("highest basic leaf").isGreaterThanOrEqualTo(1);
            assertThat(cpuid).anyMatch(e -> e.function() == 1);
        }
    }

    @Test
    void registersRoundTripThroughTheVcpu() {
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            vm.createIrqchip();
            Vcpu vcpu = vm.createVcpu(0);
            Regs regs = new Regs().rip(0x1234).rsp(0x8000).rax(0xDEADBEEFL).set(Regs.Reg.R15, -2L);
            vcpu.setRegs(regs);
            Regs back = vcpu.getRegs();
            assertThat(back.rip()).isEqualTo(0x1234);
            assertThat(back.rax()).isEqualTo(0xDEADBEEFL);
            assertThat(back.get(Regs.Reg.R15)).isEqualTo(-2L);

            Sregs sregs = vcpu.getSregs();
            assertThat(sregs.cs().selector()).as("reset CS").isEqualTo(0xF000);
            vcpu.setSregs(sregs.cs(Segment.realMode(0x100, true)).cr2(0x4242));
            assertThat(vcpu.getSregs().cs().base()).isEqualTo(0x1000);
            assertThat(vcpu.getSregs().cr2()).isEqualTo(0x4242);

            vcpu.setFpu(new Fpu().fcw(0x27F).mxcsr(0x1F80));
            assertThat(vcpu.getFpu().fcw()).isEqualTo(0x27F);

            int msrStar = 0xC000_0081;
            vcpu.setMsrs(List.of(new MsrEntry(msrStar, 0x0023_0010_0000_0000L)));
            assertThat(vcpu.getMsrs(msrStar)).containsExactly(new MsrEntry(msrStar, 0x0023_0010_0000_0000L));

            vcpu.setMpState(MpState.UNINITIALIZED);
            assertThat(vcpu.getMpState()).isEqualTo(MpState.UNINITIALIZED);
            vcpu.setMpState(MpState.RUNNABLE);

            LapicState lapic = vcpu.getLapic();
            lapic.deliveryMode(LapicState.APIC_LVT1, LapicState.DELIVERY_NMI);
            vcpu.setLapic(lapic);
            assertThat(vcpu.getLapic().register(LapicState.APIC_LVT1) >>> 8 & 7).isEqualTo(LapicState.DELIVERY_NMI);

            List<CpuidEntry> cpuid = kvm.supportedCpuid();
            vcpu.setCpuid(cpuid);
            assertThat(vcpu.getCpuid()).hasSameSizeAs(cpuid);
        }
    }

    @Test
    void unknownMsrIsNamedInTheError() {
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            Vcpu vcpu = vm.createVcpu(0);
            assertThatThrownBy(() -> vcpu.setMsrs(List.of(new MsrEntry(0x0BAD_0000, 1))))
                    .isInstanceOf(KvmException.class).hasMessageContaining("0xbad0000");
        }
    }

    @Test
    void duplicateVcpuIdFailsWithEexist() {
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            vm.createVcpu(0);
            assertThatThrownBy(() -> vm.createVcpu(0))
                    .isInstanceOf(KvmApiException.class)
                    .hasMessage("KVM_CREATE_VCPU failed: EEXIST (already exists): vCPU id 0 already exists in this VM");
        }
    }

    @Test
    void overlappingMemorySlotsAreRejectedWithTheRange() {
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm();
             var a = dev.arrow.kvm.memory.MmapGuestMemory.create(List.of(dev.arrow.kvm.memory.MemoryRegion.of(0, 2 * MiB)));
             var b = dev.arrow.kvm.memory.MmapGuestMemory.create(List.of(dev.arrow.kvm.memory.MemoryRegion.of(MiB, 2 * MiB)))) {
            vm.registerMemory(a);
            assertThatThrownBy(() -> vm.registerMemory(b))
                    .isInstanceOf(KvmApiException.class)
                    .hasMessageContaining("KVM_SET_USER_MEMORY_REGION").hasMessageContaining("overlaps");
            vm.close();
        }
    }

    /**
     * The JVM's one /dev/kvm: the same instance every time, never closed, answering its questions once (the same
     * CPUID list again), and its VMs live and close on their own.
     */
    @Test
    void theSharedKvmIsOneInstanceThatOutlivesItsVmsAndRefusesToClose() {
        Kvm shared = Kvm.shared();
        assertThat(Kvm.shared()).isSameAs(shared);
        assertThat(shared.supportedCpuid()).isNotEmpty().isSameAs(shared.supportedCpuid());
        assertThat(shared.checkExtension(KvmCapability.MAX_VCPUS)).isEqualTo(shared.checkExtension(KvmCapability.MAX_VCPUS));
        try (Vm vm = shared.createVm()) {
            vm.createVcpu(0);
            assertThatThrownBy(shared::close).isInstanceOf(IllegalStateException.class).hasMessageContaining("never closed");
            assertThat(vm.isClosed()).isFalse();
        }
        assertThat(shared.isClosed()).isFalse();
        try (Vm another = shared.createVm()) {
            assertThat(another.isClosed()).isFalse();
        }
    }

    @Test
    void closingKvmClosesItsVmsAndVcpus() {
        Kvm kvm = Kvm.open();
        Vm vm = kvm.createVm();
        Vcpu vcpu = vm.createVcpu(0);
        kvm.close();
        assertThat(vm.isClosed()).isTrue();
        assertThat(vcpu.isClosed()).isTrue();
        assertThat(kvm.isClosed()).isTrue();
        kvm.close(); // idempotent
    }
}
