package dev.arrow.kvm.vmm;

import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import java.io.OutputStream;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The host side of one clone of a {@link VmTemplate}: what the clone's devices talk to. Its
 * guest side (registers, queues, RAM) comes from the template.
 *
 * @param serialOutput   receives every byte the clone writes to its serial port from the point it was frozen at
 * @param statusListener receives each status line the clone's init writes to port 0xF4
 * @param virtioDevices  makes the clone's virtio devices from the template's device states
 */
public record VmClone(OutputStream serialOutput, Consumer<String> statusListener, VirtioRestorer virtioDevices) {

    /** Makes a clone's virtio device from the one the template had in the same slot. */
    @FunctionalInterface
    public interface VirtioRestorer {
        /** For templates without virtio devices: refuses every slot. */
        VirtioRestorer NONE = (slot, state) -> {
            throw new IllegalStateException("the template has a virtio device in slot " + slot.index() + " (" + state
                    + "): give the clone a VirtioRestorer");
        };

        /**
         * A new device built from {@code state} by its class's {@code restore} factory, with its own
         * host side (backend, random source, console streams). The clone owns it from here on.
         */
        VirtioDevice restore(VirtioSlot slot, VirtioDeviceState state);
    }

    public VmClone {
        Objects.requireNonNull(serialOutput, "serial output: use OutputStream.nullOutputStream() to drop it");
        Objects.requireNonNull(statusListener, "status listener");
        Objects.requireNonNull(virtioDevices, "virtio devices: use VirtioRestorer.NONE for a template without any");
    }

    /** A clone of a template without virtio devices. */
    public static VmClone of(OutputStream serialOutput, Consumer<String> statusListener) {
        return new VmClone(serialOutput, statusListener, VirtioRestorer.NONE);
    }
}
