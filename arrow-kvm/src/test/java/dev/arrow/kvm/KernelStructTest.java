package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class KernelStructTest {

    @Test
    void sizesAreThoseOfTheKernelStructs() {
        // sizeof() printed by a C program including <linux/kvm.h> (kernel 6.18 headers, x86-64)
        assertThat(KernelStruct.Kind.XSAVE.size()).isEqualTo(4096);
        assertThat(KernelStruct.Kind.XCRS.size()).isEqualTo(392);
        assertThat(KernelStruct.Kind.VCPU_EVENTS.size()).isEqualTo(64);
        assertThat(KernelStruct.Kind.DEBUGREGS.size()).isEqualTo(128);
        assertThat(KernelStruct.Kind.IRQCHIP.size()).isEqualTo(520);
        assertThat(KvmClock.SIZE).isEqualTo(48);
    }

    @Test
    void aStructOfAnotherSizeIsRefused() {
        assertThatThrownBy(() -> new KernelStruct(KernelStruct.Kind.XCRS, new byte[391]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("XCRS is 392 bytes");
        assertThatThrownBy(() -> new KernelStruct(KernelStruct.Kind.XSAVE, new byte[4095]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(new KernelStruct(KernelStruct.Kind.XSAVE, new byte[11008]).size()).as("an AMX-sized area")
                .isEqualTo(11008);
    }

    @Test
    void bytesAreCopiedInAndOut() {
        byte[] raw = new byte[64];
        KernelStruct s = new KernelStruct(KernelStruct.Kind.VCPU_EVENTS, raw);
        raw[0] = 1;
        s.bytes()[1] = 1;
        assertThat(s.bytes()).containsOnly(0);
        assertThat(s).isEqualTo(new KernelStruct(KernelStruct.Kind.VCPU_EVENTS, new byte[64]));
        assertThat(s).isNotEqualTo(new KernelStruct(KernelStruct.Kind.VCPU_EVENTS, raw));
    }

    @Test
    void withIntAtChangesACopyLittleEndian() {
        KernelStruct s = new KernelStruct(KernelStruct.Kind.VCPU_EVENTS, new byte[64]);
        KernelStruct t = s.withIntAt(20, 0x0403_0201);
        assertThat(t.intAt(20)).isEqualTo(0x0403_0201);
        assertThat(t.bytes()[20]).isEqualTo((byte) 1);
        assertThat(s.intAt(20)).isZero();
    }

    @Test
    void encodeAndDecodeRoundTrip() {
        byte[] raw = new byte[128];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = (byte) i;
        }
        KernelStruct debugRegs = new KernelStruct(KernelStruct.Kind.DEBUGREGS, raw);
        ByteBuffer b = ByteBuffer.allocate(128);
        debugRegs.encode(b);
        assertThat(KernelStruct.decode(KernelStruct.Kind.DEBUGREGS, b, 128)).isEqualTo(debugRegs);
    }

    @Test
    void theClockRoundTripsAndRestoresItsValueAlone() {
        KvmClock clock = new KvmClock(123_456_789_000L, KvmClock.TSC_STABLE | KvmClock.REALTIME | KvmClock.HOST_TSC,
                1_765_000_000_000_000_000L, 987_654_321L);
        ByteBuffer b = ByteBuffer.allocate(KvmClock.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        clock.encode(b);
        assertThat(b.getLong(0)).isEqualTo(123_456_789_000L);
        assertThat(b.getInt(8)).isEqualTo(14);
        assertThat(KvmClock.decode(b)).isEqualTo(clock);
        assertThat(clock.forRestore()).isEqualTo(new KvmClock(123_456_789_000L, 0, 0, 0));
    }
}
