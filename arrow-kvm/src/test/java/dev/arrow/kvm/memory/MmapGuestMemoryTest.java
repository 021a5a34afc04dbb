package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.sys.OwnedFd;
import dev.arrow.kvm.sys.ProcMaps;
import java.util.List;
import org.junit.jupiter.api.Test;

/** mmap needs no /dev/kvm: these run in tier 1. */
class MmapGuestMemoryTest extends GuestMemoryContractTest {

    @Override
    GuestMemory create(List<MemoryRegion> regions) {
        return MmapGuestMemory.create(regions);
    }

    @Test
    void hostRegionsAreDistinctMappings() {
        List<MmapGuestMemory.HostRegion> h = ((MmapGuestMemory) memory).hostRegions();
        assertThat(h).hasSize(3);
        assertThat(h).extracting(MmapGuestMemory.HostRegion::hostAddress).doesNotHaveDuplicates().doesNotContain(0L);
    }

    @Test
    void accessAfterCloseFailsInsteadOfCrashing() {
        MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x1000)));
        m.writeInt(GuestAddress.of(0), 1);
        m.close();
        m.close(); // idempotent
        assertThat(m.isClosed()).isTrue();
        assertThatThrownBy(() -> m.readInt(GuestAddress.of(0))).isInstanceOf(KvmException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void retiredMemoryRefusesAccessKeepsItsAddressesAndFreesItsPages() {
        MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x10_0000), MemoryRegion.of(0x20_0000, 0x10_0000)));
        try {
            m.fill(GuestAddress.of(0), 0x10_0000, (byte) 1);
            m.fill(GuestAddress.of(0x20_0000), 0x10_0000, (byte) 1);
            assertThat(m.residentBytes()).isEqualTo(0x20_0000);
            List<MmapGuestMemory.HostRegion> before = m.hostRegions();
            m.retire();
            assertThat(m.isRetired()).isTrue();
            assertThat(m.isClosed()).isTrue();
            assertThat(m.residentBytes()).isZero();
            assertThat(m.hostRegions()).isEqualTo(before);
            assertThatThrownBy(() -> m.readInt(GuestAddress.of(0))).isInstanceOf(KvmException.class)
                    .hasMessageContaining("closed");
            assertThatThrownBy(() -> m.writeInt(GuestAddress.of(0x20_0000), 1)).isInstanceOf(KvmException.class);
            ProcMaps maps = ProcMaps.read();
            for (MmapGuestMemory.HostRegion h : before) {
                assertThat(maps.coveredWith(h.hostAddress(), h.hostAddress() + h.region().size(), "---p"))
                        .as("region %s", h.region()).isTrue();
            }
        } finally {
            m.close();
        }
        assertThat(m.isRetired()).isFalse();
    }

    @Test
    void discardedPagesGoBackToTheHostAndReadZero() {
        try (MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0x10_0000, 0x10_0000)))) {
            m.fill(GuestAddress.of(0x10_0000), 16 * 4096, (byte) 0x5A);
            assertThat(m.residentBytes()).isEqualTo(16 * 4096);
            m.discardPages(GuestAddress.of(0x10_4000), 5 * 4096);
            assertThat(m.residentBytes()).isEqualTo(11 * 4096);
            assertThat(m.read(GuestAddress.of(0x10_4000), 5 * 4096)).containsOnly(0);
            assertThat(m.read(GuestAddress.of(0x10_0000), 4 * 4096)).containsOnly(0x5A);
            assertThat(m.read(GuestAddress.of(0x10_9000), 7 * 4096)).containsOnly(0x5A);
        }
    }

    @Test
    void aDiscardedPageOfACopyOnWriteFileRangeReadsTheFileAgain() {
        int fd = LibC.memfd_create("discard-test", LibC.MFD_CLOEXEC);
        assertThat(fd).isNotNegative();
        try (OwnedFd file = new OwnedFd(fd, "discard-test");
             MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x10_0000)))) {
            assertThat(LibC.ftruncate(fd, 0x2000)).isZero();
            try (NativeMapping writer = NativeMapping.ofFile(fd, 0, 0x2000, true, "discard-test writer")) {
                writer.window(0).putLong(0x1000, 0x1111L);
            }
            m.mapCopyOnWrite(GuestAddress.of(0x4000), 0x2000, fd, 0);
            m.writeLong(GuestAddress.of(0x5000), 0x2222L); // a private copy of the file's second page
            m.writeLong(GuestAddress.of(0x6000), 0x3333L); // anonymous RAM right after the overlay
            m.discardPages(GuestAddress.of(0x4000), 0x3000); // the overlay and the page after it
            assertThat(m.readLong(GuestAddress.of(0x5000))).as("the file's page again").isEqualTo(0x1111L);
            assertThat(m.readLong(GuestAddress.of(0x6000))).as("anonymous: zero").isZero();
        }
    }

    @Test
    void unalignedRegionsAreRejected() {
        assertThatThrownBy(() -> MmapGuestMemory.create(List.of(MemoryRegion.of(0x100, 0x1000))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aligned");
    }

    @Test
    void accessesStraddlingAWindowBoundaryAreSplit() {
        // A region bigger than one 1 GiB buffer window; MAP_NORESERVE makes this cheap, only
        // the touched pages get memory.
        long size = NativeMapping.WINDOW_SIZE + 0x1000;
        try (MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, size)))) {
            GuestAddress edge = GuestAddress.of(NativeMapping.WINDOW_SIZE - 4);
            m.writeLong(edge, 0x1122334455667788L);
            assertThat(m.readLong(edge)).isEqualTo(0x1122334455667788L);
            assertThat(m.readInt(GuestAddress.of(NativeMapping.WINDOW_SIZE))).isEqualTo(0x11223344);
            byte[] data = new byte[8192];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) i;
            }
            GuestAddress start = GuestAddress.of(NativeMapping.WINDOW_SIZE - 4096);
            m.write(start, data);
            assertThat(m.read(start, 8192)).isEqualTo(data);
            m.fill(start, 8192, (byte) 0x5A);
            assertThat(m.read(start, 8192)).containsOnly(0x5A);
        }
    }

    @Test
    void forRamLeavesTheMmioHoleBelowFourGiB() {
        long ram = 4L << 30; // 4 GiB: 3 GiB low, 1 GiB high
        try (MmapGuestMemory m = MmapGuestMemory.forRam(ram)) {
            assertThat(m.regions()).containsExactly(MemoryRegion.of(0, 0xC000_0000L),
                    MemoryRegion.of(0x1_0000_0000L, 0x4000_0000L));
            assertThat(m.isValid(GuestAddress.of(0xC000_0000L), 1)).isFalse();
            assertThat(m.isValid(GuestAddress.of(0x1_3FFF_FFFFL), 1)).isTrue();
            assertThat(m.size()).isEqualTo(ram);
        }
    }
}
