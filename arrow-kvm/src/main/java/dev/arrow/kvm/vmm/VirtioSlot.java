package dev.arrow.kvm.vmm;

import dev.arrow.kvm.virtio.VirtioMmioRegisters;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.kvm.x86.Layout;

/**
 * Where the VMM places virtio-mmio device {@code index} of a VM: its 4 KiB register window at
 * {@link Layout#virtioMmioAddress(int)} and its interrupt line {@link Layout#virtioIrq(int)}.
 * Linux learns of it from the kernel command line entry {@link #commandLineEntry()}
 * ({@code virtio_mmio.device=4K@0xd0000000:5}, CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), which each slot of
 * {@link VmConfig#virtioDevices()} {@link #appendTo appends} to the guest's command line.
 *
 * @param index position in {@link VmConfig#virtioDevices()}, 0-based
 * @param base  guest-physical address of the register window
 * @param irq   GSI and IOAPIC pin of the device's interrupt
 */
public record VirtioSlot(int index, long base, int irq) {

    /** The kernel parameter Linux's virtio-mmio driver reads devices from. */
    public static final String COMMAND_LINE_KEY = "virtio_mmio.device";

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

    /** {@code 4K@0x<base>:<irq>}: the window's size, base and interrupt line as Linux's parser reads them. */
    public String commandLineValue() {
        return size() / Layout.KiB + "K@0x" + Long.toHexString(base) + ":" + irq;
    }

    /** {@code virtio_mmio.device=4K@0x<base>:<irq>}, the entry that announces this slot. */
    public String commandLineEntry() {
        return COMMAND_LINE_KEY + "=" + commandLineValue();
    }

    /** {@code commandLine} plus this slot's {@link #commandLineEntry() entry} (unchanged if it has it already). */
    public KernelCommandLine appendTo(KernelCommandLine commandLine) {
        return commandLine.with(COMMAND_LINE_KEY, commandLineValue());
    }
}
