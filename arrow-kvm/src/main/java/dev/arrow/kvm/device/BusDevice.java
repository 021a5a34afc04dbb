package dev.arrow.kvm.device;

/**
 * A device on an {@link IoBus}: port I/O or MMIO accesses arrive with the offset relative to the
 * base the device was registered at, never an absolute address. {@code data.length} is the
 * access width (1, 2, 4 or 8 bytes, little-endian). A read fills {@code data}; a write consumes
 * it. Devices are called from vCPU threads and must be thread-safe.
 */
public interface BusDevice {

    void read(long offset, byte[] data);

    void write(long offset, byte[] data);
}
