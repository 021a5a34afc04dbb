package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.sys.OwnedFd;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link MmapGuestMemory#dropPagesEqualToBacking()} on real mappings and /proc/self/pagemap (no /dev/kvm: tier 1). */
class MmapGuestMemoryDropTest {
    private static final int PAGE = 4096;

    @Test
    void zeroPagesAndCopiesEqualToTheFileGoBackAndEveryPageReadsAsBefore() {
        int fd = LibC.memfd_create("drop-test", LibC.MFD_CLOEXEC);
        assertThat(fd).isNotNegative();
        try (OwnedFd file = new OwnedFd(fd, "drop-test");
             MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x10_0000),
                     MemoryRegion.of(0x20_0000, 0x10_0000)))) {
            assertThat(LibC.ftruncate(fd, 4 * PAGE)).isZero();
            try (NativeMapping writer = NativeMapping.ofFile(fd, 0, 4 * PAGE, true, "drop-test writer")) {
                for (int p = 0; p < 4; p++) {
                    writer.window(0).putLong(p * PAGE + 8, 0x1000L + p);
                }
            }
            FilePages reader = (offset, dst) -> {
                Arrays.fill(dst, (byte) 0);
                return LibC.pread(fd, dst, PAGE, offset) == PAGE;
            };
            m.mapCopyOnWrite(GuestAddress.of(0x8000), 4 * PAGE, fd, 0, reader);
            m.fill(GuestAddress.of(0), 8 * PAGE, (byte) 0); // 8 written pages of zeros
            m.writeLong(GuestAddress.of(0x3000), 0x55L); // one of them not zero any more
            m.writeLong(GuestAddress.of(0x8008), 0x1000L); // a copy with the file's own bytes
            m.writeLong(GuestAddress.of(0x9008), 0x77L); // a copy that differs
            m.writeLong(GuestAddress.of(0xA000), 0L); // a copy equal to the file (the write changed nothing)
            m.fill(GuestAddress.of(0x20_0000), 2 * PAGE, (byte) 0); // the second region
            m.writeLong(GuestAddress.of(0x20_2000), 0x66L);
            long before = m.residentBytes(); // the overlay is left out: 8 + 3 anonymous pages
            assertThat(before).isEqualTo(11L * PAGE);

            MmapGuestMemory.DroppedPages d = m.dropPagesEqualToBacking();

            assertThat(d.zeroPages()).isEqualTo(7 + 2);
            assertThat(d.filePages()).isEqualTo(2);
            assertThat(m.residentBytes()).isEqualTo(2L * PAGE);
            assertThat(m.readLong(GuestAddress.of(0x3000))).isEqualTo(0x55L);
            assertThat(m.read(GuestAddress.of(0), 3 * PAGE)).containsOnly(0);
            assertThat(m.readLong(GuestAddress.of(0x8008))).isEqualTo(0x1000L);
            assertThat(m.readLong(GuestAddress.of(0x9008))).isEqualTo(0x77L);
            assertThat(m.readLong(GuestAddress.of(0xA008))).isEqualTo(0x1002L);
            assertThat(m.readLong(GuestAddress.of(0xB008))).isEqualTo(0x1003L);
            assertThat(m.readLong(GuestAddress.of(0x20_2000))).isEqualTo(0x66L);
            // the three dropped pages read back above map the host's shared zero page: pagemap shows them as present,
            // own pages (their frame number, which would tell, needs privileges), and dropping them again is harmless
            assertThat(m.dropPagesEqualToBacking()).isEqualTo(new MmapGuestMemory.DroppedPages(3, 0, 0));
        }
    }

    @Test
    void closedMemoryDropsNothingAndMemoryInAFileRefuses() {
        MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x1_0000)));
        m.fill(GuestAddress.of(0), 0x1_0000, (byte) 0);
        m.close();
        assertThat(m.dropPagesEqualToBacking()).isEqualTo(new MmapGuestMemory.DroppedPages(0, 0, 0));
        try (MmapGuestMemory shared = MmapGuestMemory.createShared(List.of(MemoryRegion.of(0, 0x1_0000)), "drop-test")) {
            assertThatThrownBy(shared::dropPagesEqualToBacking).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("SHARED_FILE");
        }
    }
}
