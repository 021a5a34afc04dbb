package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Behaviour every GuestMemory implementation shares, run against each of them. Layout: RAM at
 * [0x1000, 0x3000) and [0x3000, 0x4000) (adjacent regions) and [0x10000, 0x11000).
 */
abstract class GuestMemoryContractTest {
    static final List<MemoryRegion> REGIONS = List.of(
            MemoryRegion.of(0x10000, 0x1000), MemoryRegion.of(0x1000, 0x2000), MemoryRegion.of(0x3000, 0x1000));

    GuestMemory memory;

    abstract GuestMemory create(List<MemoryRegion> regions);

    @BeforeEach
    void setUp() {
        memory = create(REGIONS);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (memory instanceof AutoCloseable c) {
            c.close();
        }
    }

    private static GuestAddress at(long a) {
        return GuestAddress.of(a);
    }

    @Test
    void sizeIsTheSumOfTheRegions() {
        assertThat(memory.size()).isEqualTo(0x4000);
    }

    @Test
    void newMemoryReadsZero() {
        assertThat(memory.readLong(at(0x1000))).isZero();
        assertThat(memory.read(at(0x10FF0), 16)).containsOnly(0);
    }

    @Test
    void integersAreLittleEndian() {
        memory.writeLong(at(0x1008), 0x0102030405060708L);
        assertThat(memory.readByte(at(0x1008))).isEqualTo((byte) 0x08);
        assertThat(memory.readShort(at(0x1008))).isEqualTo((short) 0x0708);
        assertThat(memory.readInt(at(0x100C))).isEqualTo(0x01020304);
        assertThat(memory.readLong(at(0x1008))).isEqualTo(0x0102030405060708L);
        memory.writeShort(at(0x2000), (short) 0xBEEF);
        memory.writeInt(at(0x2004), 0xCAFEBABE);
        memory.writeByte(at(0x2008), (byte) 0x7F);
        assertThat(memory.read(at(0x2000), 9)).containsExactly(
                0xEF, 0xBE, 0, 0, 0xBE, 0xBA, 0xFE, 0xCA, 0x7F);
    }

    @Test
    void bytesRoundTripAtRegionEdges() {
        byte[] data = {1, 2, 3, 4};
        memory.write(at(0x2FFC), data);             // last 4 bytes of [0x1000, 0x3000)
        assertThat(memory.read(at(0x2FFC), 4)).containsExactly(1, 2, 3, 4);
        memory.write(at(0x10000), data);            // first bytes of the last region
        assertThat(memory.read(at(0x10000), 4)).containsExactly(1, 2, 3, 4);
        memory.writeLong(at(0x10FF8), -1L);         // last 8 bytes of RAM
        assertThat(memory.readLong(at(0x10FF8))).isEqualTo(-1L);
    }

    @Test
    void partialArraysUseOffsetAndLength() {
        byte[] src = {9, 8, 7, 6, 5};
        memory.write(at(0x1100), src, 1, 3);
        byte[] dst = new byte[5];
        memory.read(at(0x1100), dst, 2, 3);
        assertThat(dst).containsExactly(0, 0, 8, 7, 6);
    }

    @Test
    void byteBufferWriteAdvancesThePosition() {
        ByteBuffer src = ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6});
        src.position(2);
        memory.write(at(0x3000), src);
        assertThat(src.remaining()).isZero();
        assertThat(memory.read(at(0x3000), 4)).containsExactly(3, 4, 5, 6);
    }

    @Test
    void fillSetsTheRangeOnly() {
        memory.fill(at(0x1010), 0x20, (byte) 0xAA);
        assertThat(memory.readByte(at(0x100F))).isZero();
        assertThat(memory.read(at(0x1010), 0x20)).containsOnly(0xAA);
        assertThat(memory.readByte(at(0x1030))).isZero();
    }

    @Test
    void isValidChecksWholeRanges() {
        assertThat(memory.isValid(at(0x1000), 0x2000)).isTrue();
        assertThat(memory.isValid(at(0x1000), 0x2001)).isFalse();   // crosses into the adjacent region
        assertThat(memory.isValid(at(0xFFF), 1)).isFalse();
        assertThat(memory.isValid(at(0x4000), 1)).isFalse();         // the gap
        assertThat(memory.isValid(at(0x10FFF), 1)).isTrue();
        assertThat(memory.isValid(at(0x11000), 1)).isFalse();
        assertThat(memory.isValid(at(0x1000), -1)).isFalse();
        assertThat(memory.isValid(at(0x11000), 0)).isTrue();         // empty access at the end
        assertThat(memory.isValid(at(0x20000), 0)).isFalse();
    }

    @Test
    void accessBelowRamFailsWithTheAddress() {
        assertThatThrownBy(() -> memory.readByte(at(0xFFF)))
                .isInstanceOfSatisfying(GuestMemoryException.class, e -> {
                    assertThat(e.address()).isEqualTo(at(0xFFF));
                    assertThat(e.length()).isEqualTo(1);
                })
                .hasMessageContaining("0xfff").hasMessageContaining("outside guest RAM");
    }

    @Test
    void accessInAGapFails() {
        assertThatThrownBy(() -> memory.writeInt(at(0x8000), 1))
                .isInstanceOf(GuestMemoryException.class).hasMessageContaining("0x8000");
    }

    @Test
    void accessRunningPastTheEndFails() {
        assertThatThrownBy(() -> memory.readLong(at(0x10FF9)))
                .isInstanceOf(GuestMemoryException.class).hasMessageContaining("runs past the end");
        assertThatThrownBy(() -> memory.read(at(0x10000), new byte[0x1001], 0, 0x1001))
                .isInstanceOf(GuestMemoryException.class);
    }

    @Test
    void accessCrossingIntoAnAdjacentRegionFails() {
        assertThatThrownBy(() -> memory.readInt(at(0x2FFE)))
                .isInstanceOf(GuestMemoryException.class).hasMessageContaining("crosses");
    }

    @Test
    void negativeLengthFails() {
        assertThatThrownBy(() -> memory.fill(at(0x1000), -1, (byte) 0))
                .isInstanceOf(GuestMemoryException.class).hasMessageContaining("negative length");
    }

    @Test
    void lengthWrappingTheAddressSpaceFails() {
        assertThatThrownBy(() -> memory.fill(at(0x1000), Long.MAX_VALUE, (byte) 0))
                .isInstanceOf(GuestMemoryException.class);
        assertThatThrownBy(() -> memory.readByte(at(-1L)))
                .isInstanceOf(GuestMemoryException.class);
        assertThatThrownBy(() -> memory.fill(at(-16L), 32, (byte) 0))
                .isInstanceOf(GuestMemoryException.class).hasMessageContaining("wraps");
        assertThatThrownBy(() -> memory.fill(at(0x10000), -0x10000, (byte) 0))
                .isInstanceOf(GuestMemoryException.class);
    }

    @Test
    void aFailedWriteChangesNothing() {
        memory.writeInt(at(0x2FFC), 0x11223344);
        assertThatThrownBy(() -> memory.write(at(0x2FFC), new byte[8]))
                .isInstanceOf(GuestMemoryException.class);
        assertThat(memory.readInt(at(0x2FFC))).isEqualTo(0x11223344);
    }

    @Test
    void discardingPagesLeavesTheOtherPagesAndTheDiscardedOnesReadZeroOrAsBefore() {
        memory.fill(at(0x1000), 0x2000, (byte) 0x5A);
        memory.fill(at(0x3000), 0x1000, (byte) 0x5A);
        memory.discardPages(at(0x2000), 0x1000);
        assertThat(memory.read(at(0x1000), 0x1000)).containsOnly(0x5A);
        assertThat(memory.read(at(0x3000), 0x1000)).containsOnly(0x5A);
        byte[] discarded = memory.read(at(0x2000), 0x1000);
        assertThat(discarded).satisfiesAnyOf(b -> assertThat(b).containsOnly(0), b -> assertThat(b).containsOnly(0x5A));
        memory.writeInt(at(0x2000), 7); // still guest RAM
        assertThat(memory.readInt(at(0x2000))).isEqualTo(7);
    }

    @Test
    void discardingOutsideOneRegionFailsAndAnUnalignedOrEmptyRangeIsTheCallersBug() {
        memory.fill(at(0x1000), 0x2000, (byte) 0x5A);
        memory.fill(at(0x3000), 0x1000, (byte) 0x5A);
        assertThatThrownBy(() -> memory.discardPages(at(0x2000), 0x2000)).as("straddles two adjacent regions")
                .isInstanceOf(GuestMemoryException.class);
        assertThatThrownBy(() -> memory.discardPages(at(0x5000), 0x1000)).isInstanceOf(GuestMemoryException.class);
        assertThatThrownBy(() -> memory.discardPages(at(-0x1000), 0x2000)).isInstanceOf(GuestMemoryException.class);
        assertThatThrownBy(() -> memory.discardPages(at(0x1000), 0x800)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> memory.discardPages(at(0x1800), 0x1000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> memory.discardPages(at(0x1000), 0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(memory.read(at(0x1000), 0x2000)).as("nothing discarded").containsOnly(0x5A);
        assertThat(memory.read(at(0x3000), 0x1000)).as("nothing discarded").containsOnly(0x5A);
    }

    @Test
    void badArrayBoundsAreTheCallersBug() {
        assertThatThrownBy(() -> memory.read(at(0x1000), new byte[4], 2, 4))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }
}
