package dev.arrow.kvm.vmm;

import dev.arrow.image.cmdline.VirtioMmioDevice;
import dev.arrow.kvm.virtio.VirtioMmioRegisters;
import dev.arrow.kvm.x86.Layout;

/**
 * Where the VMM places virtio-mmio device {@code index} of a VM: its 4 KiB register window at
 * {@link Layout#virtioMmioAddress(int)} and its interrupt line {@link Layout#virtioIrq(int)}.
 * Linux learns of it from the kernel command line entry {@link #commandLineEntry()}
 * ({@code virtio_mmio.device=4K@0xd0000000:5}), which {@link VmBuilder} adds for every device of
 * {@link VmConfig#virtioDevices()}.
 *
 * @param index position in {@link VmConfig#virtioDevices()}, 0-based
 * @param base  guest-physical address of the register window
 * @param irq   GSI and IOAPIC pin of the device's interrupt
 */
public record VirtioSlot(int index, long base, int irq) {

    /**
     * The slot of device {@code index}.
     *
     * @throws IllegalArgumentException if {@code index} is outside 0..{@link Layout#MAX_VIRTIO_DEVICES} - 1
     */
    public static VirtioSlot of(int index) {
        return new VirtioSlot(index, Layout.virtioMmioAddress(index), Layout.virtioIrq(index));
    }

    /** The window size as Linux's parser reads it. */
    public long size() {
        return Layout.VIRTIO_MMIO_SIZE;
    }

    /** Guest-physical address of the QueueNotify register, where ioeventfds listen. */
    public long queueNotifyAddress() {
        return base + VirtioMmioRegisters.QUEUE_NOTIFY;
    }

    /** This slot as the kernel command line describes a virtio-mmio device. */
    public VirtioMmioDevice mmioDevice() {
        return new VirtioMmioDevice(base, size(), irq);
    }

    /** {@code virtio_mmio.device=4K@0x<base>:<irq>}, rendered by {@link VirtioMmioDevice#parameter()}. */
    public String commandLineEntry() {
        return mmioDevice().parameter();
    }
}
