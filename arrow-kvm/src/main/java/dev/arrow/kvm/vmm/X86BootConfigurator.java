package dev.arrow.kvm.vmm;

import dev.arrow.kvm.Kvm;
import dev.arrow.kvm.LapicState;
import dev.arrow.kvm.MpState;
import dev.arrow.kvm.Vcpu;
import dev.arrow.kvm.loader.LoadedKernel;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.x86.BootCpuState;
import dev.arrow.kvm.x86.BootParams;
import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.E820Map;
import dev.arrow.kvm.x86.Gdt;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.kvm.x86.MpTable;
import dev.arrow.kvm.x86.Msrs;
import dev.arrow.kvm.x86.PageTables;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a VM with a {@link LoadedKernel} ready to enter it through the 64-bit Linux boot protocol
 * (Firecracker's {@code configure_system_for_boot}): {@link #writeBootStructures} puts the command
 * line, the initrd, the zero page with its e820 map, the MP table, the identity-mapped page tables
 * and the boot GDT at their {@link Layout} addresses; {@link #configureVcpus} gives every vCPU its
 * CPUID, MSRs and LAPIC LINT pins, the boot vCPU the registers of {@link BootCpuState#linux64}, and
 * the others the state in which they wait for the kernel's start-up IPI.
 */
final class X86BootConfigurator {
    private static final Logger LOG = LoggerFactory.getLogger(X86BootConfigurator.class);
    /** The vCPUs' CPUID leaves, derived once for every VM of the same shape. */
    private static final GuestCpuid CPUID = new GuestCpuid();

    private final VmConfig config;
    private final LoadedKernel kernel;

    X86BootConfigurator(VmConfig config, LoadedKernel kernel) {
        this.config = config;
        this.kernel = kernel;
    }

    /**
     * Writes the boot structures into {@code memory}.
     *
     * @throws dev.arrow.kvm.x86.BootSetupException if they (or the initrd) do not fit
     * @throws dev.arrow.kvm.KvmException if the initrd cannot be read
     */
    void writeBootStructures(GuestMemory memory) {
        BootParams params = kernel.hasSetupHeader() ? BootParams.fromSetupHeader(kernel.setupHeader())
                : BootParams.forVmlinux();
        writeCommandLine(memory, params);
        writeInitrd(memory, params);
        params.e820(E820Map.forRam(config.memoryBytes()));
        params.writeTo(memory, GuestAddress.of(Layout.ZERO_PAGE_ADDRESS));
        new MpTable(config.vcpuCount()).writeTo(memory);
        PageTables.write(memory);
        Gdt.write(memory);
    }

    private void writeCommandLine(GuestMemory memory, BootParams params) {
        KernelCommandLine cmdline = config.kernelCommandLine();
        params.commandLine(GuestAddress.of(Layout.CMDLINE_ADDRESS), cmdline.length());
        memory.write(GuestAddress.of(Layout.CMDLINE_ADDRESS), cmdline.toNulTerminatedBytes());
    }

    private void writeInitrd(GuestMemory memory, BootParams params) {
        if (config.initrd().isEmpty()) {
            return;
        }
        InitrdLoader.Placed initrd = InitrdLoader.load(config.initrd().get(), memory, config.memoryBytes(),
                params.initrdAddrMax(), kernel.endAddress());
        params.ramdisk(initrd.address(), initrd.size());
        LOG.debug("initrd of {} bytes at {}", initrd.size(), initrd.address());
    }

    /**
     * Sets up {@code vcpus} (vCPU {@code i} at index {@code i}) with what {@code kvm} supports:
     * CPUID (the {@link dev.arrow.kvm.x86.CpuidFilter}'s, derived once per VM shape: {@link GuestCpuid}), MSRs,
     * LAPIC LINT0 as ExtINT and LINT1 as NMI; vCPU 0 gets the boot registers, the
     * application processors wait (uninitialized) for INIT and SIPI through the LAPIC.
     */
    void configureVcpus(List<Vcpu> vcpus, Kvm kvm) {
        List<List<CpuidEntry>> cpuids = CPUID.forVcpus(kvm.supportedCpuid(), config.vcpuCount(),
                kvm.hasCapability(KvmCapability.TSC_DEADLINE_TIMER));
        BootCpuState boot = BootCpuState.linux64(kernel.entryAddress());
        for (Vcpu vcpu : vcpus) {
            vcpu.setCpuid(cpuids.get(vcpu.id()));
            vcpu.setMsrs(Msrs.boot());
            LapicState lapic = vcpu.getLapic();
            lapic.deliveryMode(LapicState.APIC_LVT0, LapicState.DELIVERY_EXTINT);
            lapic.deliveryMode(LapicState.APIC_LVT1, LapicState.DELIVERY_NMI);
            vcpu.setLapic(lapic);
            if (vcpu.id() == 0) {
                BootCpu.apply(vcpu, boot);
            } else {
                vcpu.setMpState(MpState.UNINITIALIZED);
            }
        }
    }
}
