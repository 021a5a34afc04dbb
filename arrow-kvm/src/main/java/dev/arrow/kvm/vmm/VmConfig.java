package dev.arrow.kvm.vmm;

import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What the VMM needs to boot one guest, validated on construction: the kernel image, an optional
 * initrd, the kernel command line, RAM size, vCPU count, where serial output goes, who hears
 * status lines from the guest's init and the boot milestones, whether to log guest I/O verbosely,
 * and the read-only images the guest maps.
 *
 * @param kernel         an ELF vmlinux or a bzImage
 * @param initrd         the initramfs, in memory, in a file or written into guest memory by its producer (empty: none)
 * @param commandLine    the kernel command line the guest's init needs (checked as it was built)
 * @param memoryBytes    guest RAM: a multiple of 4 KiB, at least {@link Layout#MIN_RAM_SIZE}
 * @param vcpuCount      1 to {@link Layout#MAX_VCPUS}
 * @param serialOutput   receives every byte the guest writes to its serial port (ttyS0)
 * @param statusListener receives each status line (without newline) init writes to port 0xF4
 * @param debug          log unhandled guest I/O at INFO instead of DEBUG
 * @param bootListener   hears the build and start milestones ({@link BootEvent}), for boot timelines
 * @param virtioDevices  the virtio-mmio devices, in slot order: device {@code i} gets {@link VirtioSlot#of(int)
 *                       VirtioSlot.of(i)}, which appends its {@link VirtioSlot#commandLineEntry() entry} to the
 *                       command line ({@link #kernelCommandLine()}), followed by the device's
 *                       {@link VirtioDevice#kernelParameters() parameters}; with them it must still fit the boot protocol
 * @param templateable   guest RAM in a memory file, so that the running guest can be frozen into a {@link VmTemplate}
 *                       ({@link RunningVm#freeze}); the kernel is then copied into RAM, not mapped from its cache
 * @param hugePages      guest RAM may be backed by transparent huge pages ({@code MADV_HUGEPAGE}): fewer page faults
 *                       and TLB misses, but on a host whose THP mode is "always" or "madvise" several MiB more host
 *                       memory per small guest; false (the default) advises {@code MADV_NOHUGEPAGE}
 *                       (see {@link dev.arrow.kvm.memory.MmapGuestMemory})
 * @param pmemImages     read-only images, each a virtio-pmem device in the slots after {@code virtioDevices} and a
 *                       read-only memory range above all RAM; {@link #pmemPlacements()} says where the guest finds them
 */
public record VmConfig(Path kernel, Optional<Initrd> initrd, KernelCommandLine commandLine, long memoryBytes,
                       int vcpuCount, OutputStream serialOutput, Consumer<String> statusListener, boolean debug,
                       BootListener bootListener, List<VirtioDevice> virtioDevices, boolean templateable,
                       boolean hugePages, List<PmemImage> pmemImages) {

    /** The initramfs handed to the kernel; {@link InitrdLoader} places it in guest memory. */
    public sealed interface Initrd {
        /** Bytes held in memory. */
        record InMemory(byte[] bytes) implements Initrd {
            public InMemory {
                Objects.requireNonNull(bytes, "initrd bytes");
                if (bytes.length == 0) {
                    throw new IllegalArgumentException("the initrd is empty: pass none instead");
                }
            }
        }

        /** A file read when the VM is built. */
        record File(Path path) implements Initrd {
            public File {
                Objects.requireNonNull(path, "initrd path");
            }
        }

        /**
         * Exactly {@code size} bytes that {@code writer} writes, when the VM is built, straight into guest
         * memory at the initrd's address: no host-side copy of the whole (an initramfs assembled on the fly).
         */
        record Streamed(long size, Writer writer) implements Initrd {
            public Streamed {
                if (size <= 0) {
                    throw new IllegalArgumentException("the initrd size must be positive, got " + size + ": pass none instead");
                }
                Objects.requireNonNull(writer, "initrd writer");
            }
        }

        /** Produces a {@link Streamed} initrd: writes exactly its announced size to {@code out} (not closed). */
        @FunctionalInterface
        interface Writer {
            void writeTo(OutputStream out) throws IOException;
        }

        static Initrd of(byte[] bytes) {
            return new InMemory(bytes);
        }

        static Initrd of(Path path) {
            return new File(path);
        }
    }

    public VmConfig {
        Objects.requireNonNull(kernel, "kernel: give the path of a vmlinux or bzImage");
        Objects.requireNonNull(initrd, "initrd: use Optional.empty() for none");
        Objects.requireNonNull(commandLine, "command line");
        Objects.requireNonNull(serialOutput, "serial output: use OutputStream.nullOutputStream() to drop it");
        Objects.requireNonNull(statusListener, "status listener");
        Objects.requireNonNull(bootListener, "boot listener: use BootListener.NONE to ignore the events");
        virtioDevices = checkVirtioDevices(virtioDevices);
        pmemImages = List.copyOf(Objects.requireNonNull(pmemImages, "pmem images: use List.of() for none"));
        if (virtioDevices.size() + pmemImages.size() > Layout.MAX_VIRTIO_DEVICES) {
            throw new IllegalArgumentException(virtioDevices.size() + " virtio devices and " + pmemImages.size()
                    + " pmem images given, at most " + Layout.MAX_VIRTIO_DEVICES + " fit (one IOAPIC pin each)");
        }
        withVirtioEntries(commandLine, virtioDevices, pmemImages.size()); // throws if they do not fit
        Layout.ramRegions(memoryBytes); // throws naming the rule
        if (vcpuCount < 1 || vcpuCount > Layout.MAX_VCPUS) {
            throw new IllegalArgumentException("vCPU count must be 1.." + Layout.MAX_VCPUS + ", got " + vcpuCount);
        }
    }

    private static List<VirtioDevice> checkVirtioDevices(List<VirtioDevice> devices) {
        List<VirtioDevice> copy = List.copyOf(Objects.requireNonNull(devices, "virtio devices: use List.of() for none"));
        if (copy.size() > Layout.MAX_VIRTIO_DEVICES) {
            throw new IllegalArgumentException(copy.size() + " virtio devices given, at most " + Layout.MAX_VIRTIO_DEVICES
                    + " fit (one IOAPIC pin each)");
        }
        Set<VirtioDevice> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (VirtioDevice d : copy) {
            if (!seen.add(d)) {
                throw new IllegalArgumentException("virtio device " + d + " is given twice: a device has one slot");
            }
        }
        return copy;
    }

    /**
     * {@code commandLine} plus, in slot order, each device's slot entry followed by its
     * {@link VirtioDevice#kernelParameters() parameters}, then the entries of the {@code pmemCount} pmem slots.
     */
    private static KernelCommandLine withVirtioEntries(KernelCommandLine commandLine, List<VirtioDevice> devices,
                                                       int pmemCount) {
        KernelCommandLine line = commandLine;
        for (int i = 0; i < devices.size(); i++) {
            line = VirtioSlot.of(i).appendTo(line);
            for (String parameter : devices.get(i).kernelParameters()) {
                line = line.with(parameter);
            }
        }
        for (int i = 0; i < pmemCount; i++) {
            line = VirtioSlot.of(devices.size() + i).appendTo(line);
        }
        return line;
    }

    /** Where each of {@link #virtioDevices()} sits, in the same order. */
    public List<VirtioSlot> virtioSlots() {
        List<VirtioSlot> slots = new ArrayList<>(virtioDevices.size());
        for (int i = 0; i < virtioDevices.size(); i++) {
            slots.add(VirtioSlot.of(i));
        }
        return slots;
    }

    /**
     * Where the guest finds each of {@link #pmemImages()}, in the same order: image {@code i} is
     * {@code /dev/pmem<i>} in the guest, its virtio-pmem device sits in slot {@code virtioDevices().size() + i},
     * and its guest-physical range follows the previous image's, the first at {@link Layout#pmemBase}.
     */
    public List<PmemPlacement> pmemPlacements() {
        List<PmemPlacement> placements = new ArrayList<>(pmemImages.size());
        long at = Layout.pmemBase(memoryBytes);
        for (int i = 0; i < pmemImages.size(); i++) {
            PmemImage image = pmemImages.get(i);
            placements.add(new PmemPlacement(i, image, MemoryRegion.of(at, image.length()),
                    VirtioSlot.of(virtioDevices.size() + i)));
            at = Math.addExact(at, image.length());
        }
        return placements;
    }

    /** The {@code virtio_mmio.device=...} entries Linux needs to find {@link #virtioDevices()} and the pmem devices. */
    public List<String> virtioCommandLineEntries() {
        List<String> entries = new ArrayList<>(virtioSlots().stream().map(VirtioSlot::commandLineEntry).toList());
        pmemPlacements().forEach(p -> entries.add(p.slot().commandLineEntry()));
        return entries;
    }

    /**
     * The command line the guest gets: {@link #commandLine()} plus the entries of the virtio and pmem devices and the
     * parameters the virtio devices need.
     */
    public KernelCommandLine kernelCommandLine() {
        return withVirtioEntries(commandLine, virtioDevices, pmemImages.size());
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Collects the settings; {@link #build()} validates them. Defaults: 1 vCPU, 256 MiB, no initrd, no boot
     * listener, no virtio devices, not templateable, no huge pages, no pmem images.
     */
    public static final class Builder {
        private Path kernel;
        private Initrd initrd;
        private KernelCommandLine commandLine = KernelCommandLine.empty();
        private long memoryBytes = 256 * Layout.MiB;
        private int vcpuCount = 1;
        private OutputStream serialOutput = OutputStream.nullOutputStream();
        private Consumer<String> statusListener = line -> { };
        private boolean debug;
        private BootListener bootListener = BootListener.NONE;
        private final List<VirtioDevice> virtioDevices = new ArrayList<>();
        private boolean templateable;
        private boolean hugePages;
        private final List<PmemImage> pmemImages = new ArrayList<>();

        private Builder() {
        }

        public Builder kernel(Path kernel) {
            this.kernel = kernel;
            return this;
        }

        public Builder initrd(byte[] bytes) {
            this.initrd = Initrd.of(bytes);
            return this;
        }

        public Builder initrd(Path path) {
            this.initrd = Initrd.of(path);
            return this;
        }

        /** An initrd of exactly {@code size} bytes that {@code writer} writes into guest memory when the VM is built. */
        public Builder initrd(long size, Initrd.Writer writer) {
            this.initrd = new Initrd.Streamed(size, writer);
            return this;
        }

        public Builder commandLine(KernelCommandLine commandLine) {
            this.commandLine = commandLine;
            return this;
        }

        public Builder memoryBytes(long memoryBytes) {
            this.memoryBytes = memoryBytes;
            return this;
        }

        public Builder vcpuCount(int vcpuCount) {
            this.vcpuCount = vcpuCount;
            return this;
        }

        public Builder serialOutput(OutputStream serialOutput) {
            this.serialOutput = serialOutput;
            return this;
        }

        public Builder statusListener(Consumer<String> statusListener) {
            this.statusListener = statusListener;
            return this;
        }

        public Builder debug(boolean debug) {
            this.debug = debug;
            return this;
        }

        public Builder bootListener(BootListener bootListener) {
            this.bootListener = bootListener;
            return this;
        }

        /** Adds the next virtio device (slot {@code i} for the {@code i}-th call). */
        public Builder virtioDevice(VirtioDevice device) {
            virtioDevices.add(Objects.requireNonNull(device, "device"));
            return this;
        }

        /** Whether guest RAM goes in a memory file, so the guest can be frozen into a {@link VmTemplate}. */
        public Builder templateable(boolean templateable) {
            this.templateable = templateable;
            return this;
        }

        /**
         * Whether guest RAM may be backed by transparent huge pages: a speed option that costs host memory
         * (see {@link VmConfig#hugePages()}).
         */
        public Builder hugePages(boolean hugePages) {
            this.hugePages = hugePages;
            return this;
        }

        /**
         * Adds the next read-only image: the first {@code length} bytes of {@code file}, which the guest sees as
         * {@code /dev/pmem<i>} for the {@code i}-th call ({@link VmConfig#pmemPlacements()}).
         *
         * @throws IllegalArgumentException if the file is missing, unreadable or shorter than {@code length}, or
         *     {@code length} is not a positive multiple of 2 MiB ({@link PmemImage})
         */
        public Builder pmemImage(Path file, long length) {
            pmemImages.add(new PmemImage(file, length));
            return this;
        }

        public VmConfig build() {
            return new VmConfig(kernel, Optional.ofNullable(initrd), commandLine, memoryBytes, vcpuCount,
                    serialOutput, statusListener, debug, bootListener, List.copyOf(virtioDevices), templateable, hugePages,
                    List.copyOf(pmemImages));
        }
    }
}
