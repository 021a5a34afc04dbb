package dev.arrow.kvm.vmm;

import dev.arrow.kvm.EventFd;
import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.Kvm;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.LapicState;
import dev.arrow.kvm.MpState;
import dev.arrow.kvm.Vcpu;
import dev.arrow.kvm.Vm;
import dev.arrow.kvm.device.I8042;
import dev.arrow.kvm.device.InterruptTrigger;
import dev.arrow.kvm.device.IoBus;
import dev.arrow.kvm.device.Serial8250;
import dev.arrow.kvm.device.StatusPort;
import dev.arrow.kvm.loader.KernelCache;
import dev.arrow.kvm.loader.LoadedKernel;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.x86.BootCpuState;
import dev.arrow.kvm.x86.BootParams;
import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.CpuidFilter;
import dev.arrow.kvm.x86.E820Map;
import dev.arrow.kvm.x86.Gdt;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.kvm.x86.MpTable;
import dev.arrow.kvm.x86.Msrs;
import dev.arrow.kvm.x86.PageTables;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles a running guest from a {@link VmConfig}, always in the same order: /dev/kvm, the VM,
 * guest memory and its slots, the in-kernel irqchip and PIT, the kernel (mapped copy-on-write from
 * its {@link KernelCache} snapshot where it can be, else copied), boot structures (command
 * line, initrd, zero page with e820, MP table, page tables, GDT), the vCPUs (CPUID, MSRs, LAPIC
 * LINT pins, boot registers for vCPU 0; the others wait for the start-up IPI), the devices on the
 * port-I/O bus (serial, i8042, status port), the virtio-mmio devices ({@link VirtioDevices}: MMIO
 * bus, irqfds, ioeventfds, their event loop), and finally the vCPU threads. If any step fails,
 * everything made so far is released before the exception propagates.
 */
public final class VmBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(VmBuilder.class);


    private static final KvmCapability[] REQUIRED = {
        KvmCapability.IRQCHIP, KvmCapability.PIT2, KvmCapability.IRQFD, KvmCapability.EXT_CPUID,
        KvmCapability.MP_STATE, KvmCapability.SET_TSS_ADDR, KvmCapability.SET_IDENTITY_MAP_ADDR,
        KvmCapability.IMMEDIATE_EXIT,
    };

    private VmBuilder() {
    }

    /**
     * Builds the VM and starts its vCPUs.
     *
     * @throws dev.arrow.kvm.KvmUnavailableException when this host's KVM is missing or lacks a capability
     * @throws dev.arrow.kvm.loader.KernelLoadException when the kernel image is unusable
     * @throws dev.arrow.kvm.x86.BootSetupException when the boot structures do not fit
     * @throws KvmException for any other failure, naming the step
     */
    public static RunningVm start(VmConfig config) {
        return start(config, KernelCache.shared());
    }

    /** Like {@link #start(VmConfig)}, taking the kernel from {@code kernels}. */
    public static RunningVm start(VmConfig config, KernelCache kernels) {
        BuildResources resources = new BuildResources();
        RunningVm running;
        try {
            running = build(config, kernels, resources);
        } catch (RuntimeException | Error e) {
            resources.closeAll(e);
            throw e;
        }
        // from here the running VM owns the resources: if its threads cannot all start, it closes
        // itself, and never releases what a started vCPU thread may still use
        running.start();
        LOG.debug("VM started: {} vCPUs, {} MiB", config.vcpuCount(), config.memoryBytes() / Layout.MiB);
        return running;
    }

    /** Everything but starting the threads; what it made is in {@code resources}. */
    private static RunningVm build(VmConfig config, KernelCache kernels, BuildResources resources) {
        BootMilestones milestones = new BootMilestones(config.bootListener());
        HostKvm host = HostKvm.detect();
        Kvm kvm = resources.add(Kvm.open());
        for (KvmCapability c : REQUIRED) {
            kvm.requireCapability(c);
        }
        if (config.vcpuCount() > kvm.maxVcpus()) {
            throw new KvmException("this host's KVM allows at most " + kvm.maxVcpus() + " vCPUs per VM, "
                    + config.vcpuCount() + " were asked for");
        }
        Vm vm = resources.add(kvm.createVm());
        milestones.reached(BootEvent.VM_CREATED);
        vm.setTssAddress(Layout.KVM_TSS_ADDRESS);
        vm.setIdentityMapAddress(Layout.KVM_IDENTITY_MAP_ADDRESS);

        MmapGuestMemory memory = resources.addClosedLast(MmapGuestMemory.forRam(config.memoryBytes()));
        vm.registerMemory(memory);

        vm.createIrqchip();
        vm.createPit2();

        LoadedKernel kernel = kernels.loadInto(config.kernel(), memory);
        LOG.debug("loaded {} kernel {}: entry 0x{}, [0x{}, 0x{})", kernel.kind(), config.kernel(),
                Long.toHexString(kernel.entryAddress()), Long.toHexString(kernel.startAddress()),
                Long.toHexString(kernel.endAddress()));

        BootParams params = kernel.hasSetupHeader() ? BootParams.fromSetupHeader(kernel.setupHeader())
                : BootParams.forVmlinux();
        writeCommandLine(config, memory, params);
        writeInitrd(config, memory, params, kernel);
        params.e820(E820Map.forRam(config.memoryBytes()));
        params.writeTo(memory, GuestAddress.of(Layout.ZERO_PAGE_ADDRESS));
        new MpTable(config.vcpuCount()).writeTo(memory);
        PageTables.write(memory);
        Gdt.write(memory);
        milestones.reached(BootEvent.KERNEL_LOADED);

        List<Vcpu> vcpus = createVcpus(config, kvm, vm, kernel);

        RunningVm running = new RunningVm(resources, memory);
        IoBus pio = new IoBus("pio");
        IoBus mmio = new IoBus("mmio");
        Serial8250 serial = new Serial8250(irq(vm, resources, Layout.SERIAL_IRQ), config.serialOutput());
        pio.register("serial", Layout.SERIAL_PORT, Layout.SERIAL_PORT_COUNT, serial);
        I8042 i8042 = new I8042(() -> running.finish(new VmOutcome.Reset()), irq(vm, resources, Layout.I8042_KEYBOARD_IRQ));
        pio.register("i8042 data", Layout.I8042_DATA_PORT, 1, i8042.dataPort());
        pio.register("i8042 command", Layout.I8042_COMMAND_PORT, 1, i8042.commandPort());
        pio.register("status", Layout.STATUS_PORT, 1, new StatusPort(config.statusListener()));
        if (!config.virtioDevices().isEmpty()) {
            VirtioDevices virtio = resources.add(new VirtioDevices(vm, memory, mmio,
                    kvm.hasCapability(KvmCapability.IOEVENTFD), "arrow-vm" + running.id() + "-virtio"));
            for (VirtioDevice device : config.virtioDevices()) {
                virtio.add(device);
            }
            virtio.start();
            running.attachVirtio(virtio);
        }

        ExitDispatcher dispatcher = new ExitDispatcher(pio, mmio, config.debug(), host);
        List<VcpuRunner> runners = new ArrayList<>();
        for (Vcpu v : vcpus) {
            runners.add(new VcpuRunner(v, dispatcher, running, v.id() == 0 ? milestones : null));
        }
        running.attach(serial, runners);
        return running;
    }

    private static void writeCommandLine(VmConfig config, MmapGuestMemory memory, BootParams params) {
        byte[] cmdline = config.kernelCommandLine().getBytes(StandardCharsets.US_ASCII);
        byte[] terminated = new byte[cmdline.length + 1];
        System.arraycopy(cmdline, 0, terminated, 0, cmdline.length);
        params.commandLine(GuestAddress.of(Layout.CMDLINE_ADDRESS), cmdline.length);
        memory.write(GuestAddress.of(Layout.CMDLINE_ADDRESS), terminated);
    }

    private static void writeInitrd(VmConfig config, MmapGuestMemory memory, BootParams params, LoadedKernel kernel) {
        if (config.initrd().isEmpty()) {
            return;
        }
        InitrdLoader.Placed initrd = InitrdLoader.load(config.initrd().get(), memory, config.memoryBytes(),
                params.initrdAddrMax(), kernel.endAddress());
        params.ramdisk(initrd.address(), initrd.size());
        LOG.debug("initrd of {} bytes at {}", initrd.size(), initrd.address());
    }

    private static List<Vcpu> createVcpus(VmConfig config, Kvm kvm, Vm vm, LoadedKernel kernel) {
        List<CpuidEntry> supported = kvm.supportedCpuid();
        CpuidFilter filter = new CpuidFilter(config.vcpuCount(), kvm.hasCapability(KvmCapability.TSC_DEADLINE_TIMER));
        BootCpuState boot = BootCpuState.linux64(kernel.entryAddress());
        List<Vcpu> vcpus = new ArrayList<>();
        for (int i = 0; i < config.vcpuCount(); i++) {
            Vcpu vcpu = vm.createVcpu(i);
            vcpus.add(vcpu);
            vcpu.setCpuid(filter.filter(supported, i));
            vcpu.setMsrs(Msrs.boot());
            LapicState lapic = vcpu.getLapic();
            lapic.deliveryMode(LapicState.APIC_LVT0, LapicState.DELIVERY_EXTINT);
            lapic.deliveryMode(LapicState.APIC_LVT1, LapicState.DELIVERY_NMI);
            vcpu.setLapic(lapic);
            if (i == 0) {
                BootCpu.apply(vcpu, boot);
            } else {
                // application processors start when the kernel sends INIT and SIPI through the LAPIC
                vcpu.setMpState(MpState.UNINITIALIZED);
            }
        }
        return vcpus;
    }

    /** An edge-triggered interrupt line through an irqfd (one eventfd write per interrupt). */
    private static InterruptTrigger irq(Vm vm, BuildResources resources, int gsi) {
        EventFd event = resources.add(EventFd.create());
        vm.registerIrqfd(event, gsi);
        return () -> event.write(1);
    }
}
