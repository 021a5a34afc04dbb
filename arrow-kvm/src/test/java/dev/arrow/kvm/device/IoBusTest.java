package dev.arrow.kvm.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class IoBusTest {

    /** Records accesses; reads return the offset in every byte. */
    static final class Recorder implements BusDevice {
        final List<String> log = new ArrayList<>();

        @Override
        public void read(long offset, byte[] data) {
            log.add("r" + offset + "/" + data.length);
            java.util.Arrays.fill(data, (byte) offset);
        }

        @Override
        public void write(long offset, byte[] data) {
            log.add("w" + offset + "/" + data.length + "=" + data[0]);
        }
    }

    @Test
    void accessesReachTheDeviceWithRelativeOffsets() {
        IoBus bus = new IoBus("pio");
        Recorder serial = new Recorder();
        Recorder status = new Recorder();
        bus.register("serial", 0x3f8, 8, serial);
        bus.register("status", 0xf4, 1, status);
        byte[] b = new byte[1];
        assertThat(bus.read(0x3fd, b)).isTrue();
        assertThat(b[0]).isEqualTo((byte) 5);
        assertThat(bus.write(0xf4, new byte[] {42})).isTrue();
        assertThat(serial.log).containsExactly("r5/1");
        assertThat(status.log).containsExactly("w0/1=42");
    }

    @Test
    void unknownAddressesAreReportedNotThrown() {
        IoBus bus = new IoBus("pio");
        Recorder d = new Recorder();
        bus.register("serial", 0x3f8, 8, d);
        byte[] b = {7};
        assertThat(bus.read(0x3f7, b)).isFalse();
        assertThat(b[0]).as("data untouched").isEqualTo((byte) 7);
        assertThat(bus.write(0x400, b)).isFalse();
        assertThat(bus.read(0, b)).isFalse();
        assertThat(new IoBus("empty").read(0x3f8, b)).isFalse();
        assertThat(d.log).isEmpty();
    }

    @Test
    void accessesStraddlingTheEndOfARangeAreNotDispatched() {
        IoBus bus = new IoBus("pio");
        Recorder d = new Recorder();
        bus.register("serial", 0x3f8, 8, d);
        assertThat(bus.read(0x3fe, new byte[2])).isTrue();
        assertThat(bus.read(0x3ff, new byte[2])).isFalse();
        assertThat(bus.write(0x3fc, new byte[8])).isFalse();
        assertThat(bus.read(0x3f8, new byte[0])).isFalse();
        assertThat(d.log).containsExactly("r6/2");
    }

    @Test
    void zeroLengthRangesAreRejected() {
        IoBus bus = new IoBus("mmio");
        assertThatThrownBy(() -> bus.register("virtio0", 0xd000_0000L, 0, new Recorder()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mmio bus: virtio0 at 0xd0000000 has length 0");
    }

    @Test
    void overlappingRangesAreRejectedNamingBoth() {
        IoBus bus = new IoBus("pio");
        bus.register("serial", 0x3f8, 8, new Recorder());
        assertThatThrownBy(() -> bus.register("other", 0x3ff, 2, new Recorder()))
                .hasMessage("pio bus: other [0x3ff, 0x400] overlaps serial [0x3f8, 0x3ff]");
        assertThatThrownBy(() -> bus.register("around", 0x3f0, 0x100, new Recorder()))
                .hasMessageContaining("overlaps serial");
        assertThatThrownBy(() -> bus.register("inside", 0x3f9, 1, new Recorder()))
                .hasMessageContaining("overlaps serial");
        bus.register("below", 0x3f0, 8, new Recorder());
        bus.register("above", 0x400, 1, new Recorder());
        assertThat(bus.mappings()).extracting(IoBus.Mapping::name).containsExactly("below", "serial", "above");
    }

    @Test
    void rangesWrappingPastTheTopAreRejectedButTheTopItselfWorks() {
        IoBus bus = new IoBus("mmio");
        assertThatThrownBy(() -> bus.register("wrap", -0x1000L, 0x2000, new Recorder()))
                .hasMessageContaining("wraps past the end");
        Recorder top = new Recorder();
        bus.register("top", -0x1000L, 0x1000, top); // [0xffff_ffff_ffff_f000, 2^64)
        assertThat(bus.read(-8L, new byte[8])).isTrue();
        assertThat(bus.read(-4L, new byte[8])).as("access wrapping 2^64").isFalse();
        assertThat(top.log).containsExactly("r4088/8");
    }

    @Test
    void unsignedAddressesAboveTwoToThe63AreOrderedCorrectly() {
        IoBus bus = new IoBus("mmio");
        Recorder low = new Recorder();
        Recorder high = new Recorder();
        bus.register("high", 0x8000_0000_0000_0000L, 0x1000, high);
        bus.register("low", 0x1000, 0x1000, low);
        assertThat(bus.find(0x8000_0000_0000_0010L)).map(IoBus.Mapping::name).contains("high");
        assertThat(bus.find(0x1fff)).map(IoBus.Mapping::name).contains("low");
        assertThat(bus.find(0x2000)).isEmpty();
        assertThat(bus.find(0x7fff_ffff_ffff_ffffL)).isEmpty();
    }

    @Test
    void manyDevicesAreFoundByBinarySearch() {
        IoBus bus = new IoBus("mmio");
        List<Recorder> devices = new ArrayList<>();
        for (int i = 99; i >= 0; i--) {
            Recorder r = new Recorder();
            devices.add(0, r);
            bus.register("d" + i, 0xd000_0000L + 0x1000L * i, 0x1000, r);
        }
        for (int i = 0; i < 100; i++) {
            assertThat(bus.write(0xd000_0000L + 0x1000L * i + 0x70, new byte[] {(byte) i})).isTrue();
            assertThat(devices.get(i).log).containsExactly("w112/1=" + (byte) i);
        }
        assertThat(bus.write(0xd000_0000L + 0x1000L * 100, new byte[1])).isFalse();
    }
}
