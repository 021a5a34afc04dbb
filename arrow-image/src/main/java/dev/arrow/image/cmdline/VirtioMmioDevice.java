package dev.arrow.image.cmdline;

/**
 * A virtio-mmio device announced on the kernel command line (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES):
 * its register window {@code [base, base + size)} and its interrupt line. Rendered as
 * {@code virtio_mmio.device=<size>@<base>:<irq>}, e.g. {@code virtio_mmio.device=4K@0xd0000000:5}:
 * {@link #parameter()} is the one place that builds this entry, for {@link KernelCommandLine} and for the
 * VMM, which announces its devices itself.
 */
public record VirtioMmioDevice(long base, long size, int irq) {
    /** The size of one virtio-mmio register window in Firecracker-style layouts. */
    public static final long DEFAULT_WINDOW = 0x1000;

    public VirtioMmioDevice {
        if (size <= 0) throw new InvalidCommandLineException("virtio-mmio window size " + size + " must be positive (e.g. 0x1000)");
        if (base < 0) throw new InvalidCommandLineException("virtio-mmio base 0x" + Long.toHexString(base) + " is negative");
        if (base + size < base || base + size - 1 < 0)
            throw new InvalidCommandLineException("virtio-mmio window 0x" + Long.toHexString(base) + " + 0x" + Long.toHexString(size)
                    + " wraps around the address space");
        if (irq < 1) throw new InvalidCommandLineException("virtio-mmio irq " + irq + " must be a positive interrupt line (e.g. 5)");
    }

    /** A device with a {@link #DEFAULT_WINDOW} window. */
    public static VirtioMmioDevice at(long base, int irq) {
        return new VirtioMmioDevice(base, DEFAULT_WINDOW, irq);
    }

    /** The whole command-line entry, {@code virtio_mmio.device=<size>@0x<base>:<irq>} (never needs quoting). */
    public String parameter() {
        return KernelCommandLine.VIRTIO_MMIO_KEY + "=" + parameterValue();
    }

    /** The parameter value: {@code <size>@0x<base>:<irq>} with the size in K/M/G when it divides evenly. */
    public String parameterValue() {
        return size(size) + "@0x" + Long.toHexString(base) + ":" + irq;
    }

    private static String size(long bytes) {
        if (bytes % (1L << 30) == 0) return (bytes >> 30) + "G";
        if (bytes % (1L << 20) == 0) return (bytes >> 20) + "M";
        if (bytes % (1L << 10) == 0) return (bytes >> 10) + "K";
        return Long.toString(bytes);
    }
}
