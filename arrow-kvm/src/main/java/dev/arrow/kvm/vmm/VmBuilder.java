package dev.arrow.kvm.vmm;

import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.Kvm;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.Vcpu;
import dev.arrow.kvm.Vm;
import dev.arrow.kvm.device.I8042;
import dev.arrow.kvm.device.IoBus;
import dev.arrow.kvm.device.ReadOnlyMemory;
import dev.arrow.kvm.device.Serial8250;
import dev.arrow.kvm.device.StatusPort;
import dev.arrow.kvm.diagnostics.StepTimes;
import dev.arrow.kvm.loader.KernelCache;
import dev.arrow.kvm.loader.LoadedKernel;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.pmem.VirtioPmem;
import dev.arrow.kvm.x86.Layout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles a running guest from a {@link VmConfig}, always in the same order: a {@link BlankVm} (the VM from this
 * JVM's {@link Kvm#shared() /dev/kvm}, the in-kernel irqchip, the vCPUs), taken from the JVM's
 * {@link BlankVmPool} when it holds one (then it is asked for the next), else made now,
 * guest memory and its slots, the read-only images ({@link PmemImages}) and their read-only slots, the kernel (mapped copy-on-write from
 * its {@link KernelCache} snapshot where it can be, else copied), the boot structures, the vCPUs' boot state
 * (set by the {@link X86BootConfigurator}), the devices on the
 * port-I/O bus (serial, i8042, status port; their interrupts through KVM_IRQ_LINE, {@link LineInterrupt}),
 * the virtio-mmio devices ({@link VirtioDevices}: MMIO
 * bus, interrupts, ioeventfds, their event loop; the configured devices, then one {@link VirtioPmem} per
 * image), the images' {@link ReadOnlyMemory} on the MMIO bus, and finally the vCPU threads. If any step fails,
 * everything made so far is released before the exception propagates. A templateable config gets
 * its RAM in a memory file; {@link VmTemplate#clone} builds its clones here too ({@link #startClone}).
 */
public final class VmBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(VmBuilder.class);
    /**
     * The memory file a templateable VM's RAM is in: its mappings (the template's, shared, and each
     * clone's, private) show as {@code /memfd:arrow-template-ram (deleted)} in {@code /proc/<pid>/smaps}.
     */
    public static final String TEMPLATE_RAM_FILE_NAME = "arrow-template-ram";

    private VmBuilder() {
    }

    /**
     * Builds the VM and starts its vCPUs.
     *
     * @throws dev.arrow.kvm.HostKvmUnusableException when this host's KVM is missing or lacks a capability
     * @throws dev.arrow.kvm.loader.KernelLoadException when the kernel image is unusable
     * @throws dev.arrow.kvm.x86.BootSetupException when the boot structures do not fit
     * @throws KvmException for any other failure, naming the step
     */
    public static RunningVm start(VmConfig config) {
        return start(config, KernelCache.shared());
    }

    /** Like {@link #start(VmConfig)}, taking the kernel from {@code kernels}. */
    public static RunningVm start(VmConfig config, KernelCache kernels) {
        RunningVm running = buildAndStart(resources -> build(config, kernels, resources));
        BlankVmPool.shared().replenish(config.vcpuCount());
        LOG.debug("VM started: {} vCPUs, {} MiB", config.vcpuCount(), config.memoryBytes() / Layout.MiB);
        return running;
    }

    /**
     * Builds a clone of {@code template} and starts its vCPUs, in this order: a {@link PreparedVm}
     * from the template's pool, or made now (the VM, guest RAM as a private
     * copy-on-write view of the template's ({@link MmapGuestMemory#mapPrivateCopy()}) and its
     * slots, read-only views of the template's images at the same ranges ({@link PmemImages#views()}),
     * the in-kernel irqchip, the vCPUs), the VM state (clock, PICs, IOAPIC),
     * each vCPU's state, the port-I/O devices and the virtio-mmio devices restored from their
     * states (same slots, IRQs, interrupts and ioeventfds as the template's; the pmem devices restored here, the
     * others by the clone's {@link VmClone.VirtioRestorer}), the images' {@link ReadOnlyMemory}, and finally
     * the vCPU threads.
     * If any step fails, everything made so far is released before the exception propagates, the
     * prepared VM included.
     */
    static RunningVm startClone(VmTemplate template, VmClone clone) {
        StepTimes steps = StepTimes.measuredIf(LOG.isDebugEnabled());
        RunningVm running = buildAndStart(resources -> buildClone(template, clone, resources, steps));
        steps.step("threads started");
        LOG.debug("VM {} cloned: {} vCPUs; {}", running.id(), template.vcpuStates().size(), steps);
        return running;
    }

    /**
     * Runs {@code build}, releasing all it made if it fails, then starts the VM's threads. From then the
     * running VM owns the resources: if its threads cannot all start, it closes itself, and never
     * releases what a started vCPU thread may still use.
     */
    private static RunningVm buildAndStart(Function<BuildResources, RunningVm> build) {
        BuildResources resources = new BuildResources();
        RunningVm running;
        try {
            running = build.apply(resources);
        } catch (RuntimeException | Error e) {
            resources.closeAll(e);
            throw e;
        }
        running.start();
        return running;
    }

    /** Everything but starting the threads; what it made is in {@code resources}. */
    private static RunningVm build(VmConfig config, KernelCache kernels, BuildResources resources) {
        BootMilestones milestones = new BootMilestones(config.bootListener());
        HostKvm host = HostKvm.detect();
        Kvm kvm = PreparedVm.checkedKvm(config.vcpuCount());
        BlankVm blank = resources.add(blankVm(kvm, config.vcpuCount()));
        Vm vm = blank.vm();
        milestones.reached(BootEvent.VM_CREATED);

        MmapGuestMemory memory = resources.addClosedLast(config.templateable()
                ? MmapGuestMemory.sharedForRam(config.memoryBytes(), TEMPLATE_RAM_FILE_NAME, config.hugePages())
                : MmapGuestMemory.forRam(config.memoryBytes(), config.hugePages()));
        vm.registerMemory(memory);
        PmemImages images = resources.addClosedLast(PmemImages.map(config.pmemPlacements()));
        images.registerWith(vm);

        LoadedKernel kernel = kernels.loadInto(config.kernel(), memory);
        LOG.debug("loaded {} kernel {}: entry 0x{}, [0x{}, 0x{})", kernel.kind(), config.kernel(),
                Long.toHexString(kernel.entryAddress()), Long.toHexString(kernel.startAddress()),
                Long.toHexString(kernel.endAddress()));

        X86BootConfigurator boot = new X86BootConfigurator(config, kernel);
        boot.writeBootStructures(memory);
        milestones.reached(BootEvent.KERNEL_LOADED);

        List<Vcpu> vcpus = blank.vcpus();
        boot.configureVcpus(vcpus, kvm);

        RunningVm running = new RunningVm(resources, memory, images, config.debug());
        IoBus mmio = new IoBus("mmio");
        Serial8250 serial = new Serial8250(new LineInterrupt(vm, Layout.SERIAL_IRQ), config.serialOutput());
        I8042 i8042 = new I8042(() -> running.finish(new VmOutcome.Reset()), new LineInterrupt(vm, Layout.I8042_KEYBOARD_IRQ));
        StatusPort status = new StatusPort(config.statusListener());
        if (!config.virtioDevices().isEmpty() || !images.placements().isEmpty()) {
            VirtioDevices virtio = resources.add(new VirtioDevices(vm, memory, mmio,
                    kvm.hasCapability(KvmCapability.IOEVENTFD), "arrow-vm" + running.id() + "-virtio"));
            for (VirtioDevice device : config.virtioDevices()) {
                virtio.add(device);
            }
            for (PmemPlacement p : images.placements()) {
                virtio.add(new VirtioPmem(p.region()));
            }
            virtio.start();
            running.attachVirtio(virtio);
        }
        running.attachImageWrites(images.attachTo(mmio));

        ExitDispatcher dispatcher = new ExitDispatcher(portBus(serial, i8042, status), mmio, config.debug(), host);
        List<VcpuRunner> runners = new ArrayList<>();
        for (Vcpu v : vcpus) {
            runners.add(new VcpuRunner(v, dispatcher, running, v.id() == 0 ? milestones : null));
        }
        running.attach(vm, serial, i8042, status, runners);
        return running;
    }

    /**
     * A blank VM with {@code vcpuCount} vCPUs: the {@link BlankVmPool}'s if it holds one, else made now. Either
     * way the caller owns it.
     */
    private static BlankVm blankVm(Kvm kvm, int vcpuCount) {
        BlankVm pooled = BlankVmPool.shared().take(vcpuCount);
        if (pooled != null) {
            LOG.debug("a blank VM with {} vCPUs taken from the pool", vcpuCount);
            return pooled;
        }
        return BlankVm.create(kvm, vcpuCount);
    }

    private static RunningVm buildClone(VmTemplate template, VmClone clone, BuildResources resources,
            StepTimes steps) {
        HostKvm host = HostKvm.detect();
        PreparedVm prepared = resources.add(restoredVm(template, steps));
        Kvm kvm = prepared.kvm();
        Vm vm = prepared.vm();
        MmapGuestMemory memory = prepared.memory();
        List<Vcpu> vcpus = prepared.vcpus();

        RunningVm running = new RunningVm(resources, memory, prepared.images(), template.debug());
        running.attachClone(template, prepared);
        IoBus mmio = new IoBus("mmio");
        Serial8250 serial = Serial8250.restore(template.serialState(), new LineInterrupt(vm, Layout.SERIAL_IRQ),
                clone.serialOutput(), null);
        I8042 i8042 = I8042.restore(template.i8042State(), () -> running.finish(new VmOutcome.Reset()),
                new LineInterrupt(vm, Layout.I8042_KEYBOARD_IRQ));
        StatusPort status = StatusPort.restore(template.statusState(), clone.statusListener());
        steps.step("port devices");
        List<VirtioMmioTransport.State> virtioStates = template.virtioStates();
        if (!virtioStates.isEmpty()) {
            VirtioDevices virtio = resources.add(new VirtioDevices(vm, memory, mmio,
                    kvm.hasCapability(KvmCapability.IOEVENTFD), "arrow-vm" + running.id() + "-virtio"));
            for (int i = 0; i < virtioStates.size(); i++) {
                VirtioMmioTransport.State state = virtioStates.get(i);
                VirtioDevice device = i < template.configuredDeviceCount()
                        ? clone.virtioDevices().restore(VirtioSlot.of(i), state.device())
                        : restoredPmem(state.device(), prepared.images().placements().get(i - template.configuredDeviceCount()));
                try {
                    virtio.restore(device, state);
                } catch (RuntimeException | Error e) {
                    device.close(); // not in a transport yet: nothing else closes it
                    throw e;
                }
                steps.step(VirtioDevices.stepName(device.deviceType()));
            }
            virtio.start();
            steps.step("virtio event loop");
            running.attachVirtio(virtio);
        }
        running.attachImageWrites(prepared.images().attachTo(mmio));

        ExitDispatcher dispatcher = new ExitDispatcher(portBus(serial, i8042, status), mmio, template.debug(), host);
        List<VcpuRunner> runners = new ArrayList<>();
        for (Vcpu v : vcpus) {
            runners.add(new VcpuRunner(v, dispatcher, running, null));
        }
        running.attach(vm, serial, i8042, status, runners);
        return running;
    }

    /** The pmem device of a clone's {@code placement}, from the template's device state in its slot. */
    private static VirtioPmem restoredPmem(VirtioDeviceState state, PmemPlacement placement) {
        if (!(state instanceof VirtioPmem.State pmem) || !pmem.region().equals(placement.region())) {
            throw new IllegalStateException("the template's device in slot " + placement.slot().index() + " (" + state
                    + ") is not the pmem device of " + placement);
        }
        return VirtioPmem.restore(pmem);
    }

    /**
     * A prepared VM from {@code template} with the template's VM and vCPU state loaded (the vCPUs' registers
     * were loaded when the VM was made or recycled, {@link PreparedVm#loadRegisters}). A recycled
     * VM that refuses the state (a kernel that takes some of it only once per vCPU, say) is closed
     * and a new VM takes its place, so recycling never makes a clone fail; it is logged.
     */
    private static PreparedVm restoredVm(VmTemplate template, StepTimes steps) {
        PreparedVm prepared = template.takePreparedVm();
        steps.step(prepared.isRecycled() ? "recycled VM taken" : "VM taken");
        try {
            prepared.restore(template.vmState(), template.vcpuStates(), steps);
            return prepared;
        } catch (KvmException e) {
            prepared.close();
            if (!prepared.isRecycled()) {
                throw e;
            }
            LOG.warn("a recycled VM of {} refused the template's state; this clone gets a new VM", template, e);
        } catch (RuntimeException | Error e) {
            prepared.close();
            throw e;
        }
        PreparedVm made = template.newPreparedVm();
        steps.step("new VM made");
        try {
            made.restore(template.vmState(), template.vcpuStates(), steps);
            return made;
        } catch (RuntimeException | Error e) {
            made.close();
            throw e;
        }
    }

    /** The port-I/O bus with the serial port, the i8042 and the status port at their ports (status: 0xf4..0xf7). */
    static IoBus portBus(Serial8250 serial, I8042 i8042, StatusPort status) {
        IoBus pio = new IoBus("pio");
        pio.register("serial", Layout.SERIAL_PORT, Layout.SERIAL_PORT_COUNT, serial);
        pio.register("i8042 data", Layout.I8042_DATA_PORT, 1, i8042.dataPort());
        pio.register("i8042 command", Layout.I8042_COMMAND_PORT, 1, i8042.commandPort());
        pio.register("status", Layout.STATUS_PORT, Layout.STATUS_PORT_COUNT, status);
        return pio;
    }
}
