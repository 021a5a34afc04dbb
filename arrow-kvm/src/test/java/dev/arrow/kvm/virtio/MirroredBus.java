package dev.arrow.kvm.virtio;

import dev.arrow.kvm.device.BusDevice;
import java.util.Arrays;

/**
 * The guest driver's register accesses to two devices that should stay identical: before
 * {@link #mirrorTo} they go to the primary only; afterwards every write goes to both and every
 * read is made on both and must return the same bytes (else {@link AssertionError}).
 */
public final class MirroredBus implements BusDevice {
    private final BusDevice primary;
    private BusDevice copy;

    public MirroredBus(BusDevice primary) {
        this.primary = primary;
    }

    /** From now on accesses go to {@code copy} too. */
    public void mirrorTo(BusDevice copy) {
        this.copy = copy;
    }

    @Override
    public void read(long offset, byte[] data) {
        primary.read(offset, data);
        if (copy != null) {
            byte[] other = new byte[data.length];
            copy.read(offset, other);
            if (!Arrays.equals(data, other)) {
                throw new AssertionError(String.format("read at offset 0x%x: original %s, restored %s", offset,
                        Arrays.toString(data), Arrays.toString(other)));
            }
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        primary.write(offset, data);
        if (copy != null) {
            copy.write(offset, data.clone());
        }
    }
}
