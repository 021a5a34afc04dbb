package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MpTableTest {

    record Cpu(int apicId, int version, int flags) {}

    record Interrupt(int type, int irqType, int flags, int bus, int busIrq, int apic, int pin) {}

    record Parsed(long configAddress, int spec, List<Cpu> cpus, List<String> buses, int ioapicId,
                  long ioapicAddress, long lapicAddress, List<Interrupt> io, List<Interrupt> local) {}

    /** Parses the tables the way Linux's mpparse.c does, checking signatures, lengths and checksums. */
    static Parsed parse(HeapGuestMemory memory, long scanStart, int scanLength) {
        byte[] area = memory.read(GuestAddress.of(scanStart), scanLength);
        for (int off = 0; off + 16 <= scanLength; off += 16) {
            ByteBuffer f = ByteBuffer.wrap(area, off, 16).slice().order(ByteOrder.LITTLE_ENDIAN);
            if (!"_MP_".equals(new String(area, off, 4, StandardCharsets.US_ASCII))) {
                continue;
            }
            assertThat(f.get(8)).as("length in paragraphs").isEqualTo((byte) 1);
            assertThat(sum(area, off, 16)).as("floating pointer checksum").isZero();
            int spec = f.get(9);
            assertThat(spec).isIn(1, 4);
            assertThat(f.get(11)).as("a config table, not a default configuration").isZero();
            long config = Integer.toUnsignedLong(f.getInt(4));
            byte[] head = memory.read(GuestAddress.of(config), 44);
            ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(new String(head, 0, 4, StandardCharsets.US_ASCII)).isEqualTo("PCMP");
            int length = Short.toUnsignedInt(h.getShort(4));
            byte[] table = memory.read(GuestAddress.of(config), length);
            assertThat(sum(table, 0, length)).as("config table checksum").isZero();
            assertThat(h.get(6)).isIn((byte) 1, (byte) 4);
            int count = Short.toUnsignedInt(h.getShort(34));
            long lapic = Integer.toUnsignedLong(h.getInt(36));
            ByteBuffer t = ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN);
            List<Cpu> cpus = new ArrayList<>();
            List<String> buses = new ArrayList<>();
            List<Interrupt> io = new ArrayList<>();
            List<Interrupt> local = new ArrayList<>();
            int ioapicId = -1;
            long ioapicAddress = -1;
            int pos = 44;
            int entries = 0;
            while (pos < length) {
                int type = t.get(pos);
                entries++;
                switch (type) {
                    case 0 -> {
                        cpus.add(new Cpu(t.get(pos + 1) & 0xff, t.get(pos + 2) & 0xff, t.get(pos + 3) & 0xff));
                        pos += 20;
                    }
                    case 1 -> {
                        buses.add(new String(table, pos + 2, 6, StandardCharsets.US_ASCII).trim());
                        pos += 8;
                    }
                    case 2 -> {
                        assertThat(t.get(pos + 3) & 1).as("IOAPIC usable").isEqualTo(1);
                        ioapicId = t.get(pos + 1) & 0xff;
                        ioapicAddress = Integer.toUnsignedLong(t.getInt(pos + 4));
                        pos += 8;
                    }
                    case 3, 4 -> {
                        Interrupt i = new Interrupt(type, t.get(pos + 1), t.getShort(pos + 2), t.get(pos + 4),
                                t.get(pos + 5) & 0xff, t.get(pos + 6) & 0xff, t.get(pos + 7) & 0xff);
                        (type == 3 ? io : local).add(i);
                        pos += 8;
                    }
                    default -> throw new AssertionError("unknown MP entry type " + type + " at " + pos);
                }
            }
            assertThat(pos).as("entries end exactly at the table length").isEqualTo(length);
            assertThat(entries).as("entry count in the header").isEqualTo(count);
            return new Parsed(config, spec, cpus, buses, ioapicId, ioapicAddress, lapic, io, local);
        }
        throw new AssertionError("no _MP_ floating pointer found");
    }

    private static int sum(byte[] b, int off, int len) {
        int s = 0;
        for (int i = off; i < off + len; i++) {
            s += b[i];
        }
        return s & 0xff;
    }

    private static Parsed written(int vcpus) {
        HeapGuestMemory memory = HeapGuestMemory.ofSize(Layout.MIN_RAM_SIZE);
        new MpTable(vcpus).writeTo(memory);
        // Linux scans 639 KiB .. 640 KiB for the floating pointer.
        return parse(memory, 639 * 1024, 1024);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 7, 16, 254})
    void everyVcpuIsAnEnabledProcessorAndTheFirstBoots(int vcpus) {
        Parsed p = written(vcpus);
        assertThat(p.cpus()).hasSize(vcpus);
        for (int i = 0; i < vcpus; i++) {
            Cpu c = p.cpus().get(i);
            assertThat(c.apicId()).isEqualTo(i);
            assertThat(c.flags() & 1).as("enabled").isEqualTo(1);
            assertThat(c.flags() & 2).as("boot processor").isEqualTo(i == 0 ? 2 : 0);
            assertThat(c.version()).isEqualTo(0x14);
        }
        assertThat(p.ioapicId()).isEqualTo(vcpus).isNotIn(p.cpus().stream().map(Cpu::apicId).toList());
    }

    @Test
    void ioapicAndLocalApicAreAtTheirDefaultAddresses() {
        Parsed p = written(2);
        assertThat(p.ioapicAddress()).isEqualTo(0xfec0_0000L);
        assertThat(p.lapicAddress()).isEqualTo(0xfee0_0000L);
        assertThat(p.spec()).isEqualTo(4);
        assertThat(p.buses()).containsExactly("ISA");
        assertThat(p.configAddress()).isEqualTo(Layout.MPTABLE_ADDRESS + 16);
    }

    @Test
    void everyIsaIrqIncludingSerialAndVirtioIsRoutedToItsIoapicPin() {
        Parsed p = written(2);
        assertThat(p.io()).hasSize(24);
        List<Integer> routed = new ArrayList<>();
        for (Interrupt i : p.io()) {
            assertThat(i.irqType()).isZero(); // INT
            assertThat(i.bus()).isZero();
            assertThat(i.apic()).isEqualTo(p.ioapicId());
            assertThat(i.pin()).isEqualTo(i.busIrq());
            routed.add(i.busIrq());
        }
        assertThat(routed).contains(Layout.SERIAL_IRQ, Layout.I8042_KEYBOARD_IRQ);
        for (int d = 0; d < Layout.MAX_VIRTIO_DEVICES; d++) {
            assertThat(routed).contains(Layout.virtioIrq(d));
        }
    }

    @Test
    void lint0IsExtIntAndLint1IsNmiOnAllCpus() {
        Parsed p = written(3);
        assertThat(p.local()).hasSize(2);
        assertThat(p.local().get(0).irqType()).isEqualTo(3);
        assertThat(p.local().get(0).pin()).isEqualTo(0);
        assertThat(p.local().get(1).irqType()).isEqualTo(1);
        assertThat(p.local().get(1).pin()).isEqualTo(1);
        assertThat(p.local()).allSatisfy(i -> assertThat(i.apic()).isEqualTo(0xff));
    }

    @Test
    void largestTableStaysInsideTheReservedIsaHole() {
        MpTable t = new MpTable(Layout.MAX_VCPUS);
        assertThat(Layout.MPTABLE_ADDRESS + t.size()).isLessThanOrEqualTo(Layout.MPTABLE_LIMIT);
        assertThat(t.size()).isEqualTo(16 + 44 + 20 * 254 + 8 + 8 + 26 * 8);
    }

    @Test
    void rejectsVcpuCountsOutsideTheApicIdSpace() {
        assertThatThrownBy(() -> new MpTable(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MpTable(255)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void checksumByteMakesTheSumZero() {
        byte[] b = {1, 2, 3, 0, (byte) 200};
        b[3] = MpTable.checksum(b, 0, b.length);
        assertThat(sum(b, 0, b.length)).isZero();
    }
}
