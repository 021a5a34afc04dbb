package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.sys.OwnedFd;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link CommonCopies}: the spans it groups pages into, and sharing them through
 * {@link MmapGuestMemory#dropPagesEqualToBacking()} on real mappings and /proc/self/pagemap (no /dev/kvm: tier 1).
 */
class CommonCopiesTest {
    private static final int PAGE = 4096;
    /** The overlaid file: 16 pages, page p holding p + 0x1000 at byte 8; mapped at guest 0x10000. */
    private static final int FILE_PAGES = 16;
    private static final long BASE = 0x1_0000;

    private int fd;
    private OwnedFd file;
    private FilePages reader;

    @BeforeEach
    void makeFile() {
        fd = LibC.memfd_create("common-copies-test", LibC.MFD_CLOEXEC);
        assertThat(fd).isNotNegative();
        file = new OwnedFd(fd, "common-copies-test");
        assertThat(LibC.ftruncate(fd, FILE_PAGES * PAGE)).isZero();
        try (NativeMapping writer = NativeMapping.ofFile(fd, 0, FILE_PAGES * PAGE, true, "common-copies-test writer")) {
            for (int p = 0; p < FILE_PAGES; p++) {
                writer.window(0).putLong(p * PAGE + 8, 0x1000L + p);
            }
        }
        reader = (offset, dst) -> {
            Arrays.fill(dst, (byte) 0);
            return LibC.pread(fd, dst, PAGE, offset) == PAGE;
        };
    }

    @AfterEach
    void closeFile() {
        file.close();
    }

    @Test
    void spansCutTheWidestGapsFirst() {
        assertThat(CommonCopies.spansCovering(new BitSet(), 4)).isEmpty();
        BitSet pages = bits(1, 2, 3, 10, 12, 40, 41, 100);
        assertThat(CommonCopies.spansCovering(pages, 1)).containsExactly(new CommonCopies.Span(1, 100));
        assertThat(CommonCopies.spansCovering(pages, 2))
                .containsExactly(new CommonCopies.Span(1, 41), new CommonCopies.Span(100, 1));
        assertThat(CommonCopies.spansCovering(pages, 3)).containsExactly(new CommonCopies.Span(1, 12),
                new CommonCopies.Span(40, 2), new CommonCopies.Span(100, 1));
        assertThat(CommonCopies.spansCovering(pages, 20)).containsExactly(new CommonCopies.Span(1, 3),
                new CommonCopies.Span(10, 1), new CommonCopies.Span(12, 1), new CommonCopies.Span(40, 2),
                new CommonCopies.Span(100, 1));
        // equal gaps: the earlier one is cut first
        assertThat(CommonCopies.spansCovering(bits(0, 5, 10), 2))
                .containsExactly(new CommonCopies.Span(0, 1), new CommonCopies.Span(5, 6));
        assertThatThrownBy(() -> CommonCopies.spansCovering(pages, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void guestsThatPatchAlikeShareTheirCopiesAndOthersKeepTheirs() {
        // the part guests patch alike: file pages [4, 12); the "patches" write page 5, 6 and 10
        try (CommonCopies common = new CommonCopies("common-copies-test:patched", 4L * PAGE, 8L * PAGE);
             MmapGuestMemory first = guest(common);
             MmapGuestMemory second = guest(common);
             MmapGuestMemory otherPatch = guest(common);
             MmapGuestMemory fewerPatches = guest(common)) {
            Consumer<MmapGuestMemory> patch = m -> {
                m.writeLong(at(5, 0), 0x55L);
                m.writeLong(at(6, 16), 0x66L);
                m.writeLong(at(10, 0), 0xAAL);
            };
            patch.accept(first);
            patch.accept(second);
            patch.accept(otherPatch);
            otherPatch.writeLong(at(10, 0), 0xBBL); // differs in the span of page 10 only
            fewerPatches.writeLong(at(5, 0), 0x55L); // lacks page 6's patch: holds the file's page there
            first.writeLong(at(13, 8), 0x77L); // outside the part: its own copy stays

            assertThat(second.dropPagesEqualToBacking().sharedPages()).as("none taken yet").isZero();
            first.giveCommonCopies(); // takes the copies: spans {5, 6}, {10}
            second.giveCommonCopies(); // taken already: nothing changes
            MmapGuestMemory.DroppedPages byFirst = first.dropPagesEqualToBacking();
            assertThat(byFirst.sharedPages()).isEqualTo(3);
            assertThat(second.dropPagesEqualToBacking().sharedPages()).isEqualTo(3);
            assertThat(otherPatch.dropPagesEqualToBacking().sharedPages()).as("span {5, 6} only").isEqualTo(2);
            assertThat(fewerPatches.dropPagesEqualToBacking().sharedPages()).as("span {10} only").isZero();

            for (MmapGuestMemory m : List.of(first, second, otherPatch)) {
                assertThat(m.readLong(at(5, 0))).isEqualTo(0x55L);
                assertThat(m.readLong(at(5, 8))).isEqualTo(0x1005L);
                assertThat(m.readLong(at(6, 8))).isEqualTo(0x1006L);
                assertThat(m.readLong(at(6, 16))).isEqualTo(0x66L);
                assertThat(m.readLong(at(7, 8))).isEqualTo(0x1007L);
                assertThat(m.readLong(at(10, 8))).isEqualTo(0x100AL);
            }
            assertThat(first.readLong(at(10, 0))).isEqualTo(0xAAL);
            assertThat(otherPatch.readLong(at(10, 0))).isEqualTo(0xBBL);
            assertThat(first.readLong(at(13, 8))).isEqualTo(0x77L);
            assertThat(fewerPatches.readLong(at(5, 0))).isEqualTo(0x55L);
            assertThat(fewerPatches.readLong(at(6, 16))).isZero();

            // a write to a shared page gives that guest its own copy again; the others still read the common bytes
            second.writeLong(at(5, 0), 0x99L);
            assertThat(second.readLong(at(5, 0))).isEqualTo(0x99L);
            assertThat(first.readLong(at(5, 0))).isEqualTo(0x55L);
            assertThat(second.readLong(at(5, 8))).isEqualTo(0x1005L);
        }
    }

    @Test
    void noCopiesNoFileAndClosedSharesNothing() {
        try (CommonCopies common = new CommonCopies("common-copies-test:patched", 0, 4L * PAGE);
             MmapGuestMemory unpatched = guest(common);
             MmapGuestMemory late = guest(common)) {
            unpatched.writeLong(at(2, 8), 0x1002L); // a copy equal to the file: dropped, nothing to share
            unpatched.giveCommonCopies();
            assertThat(unpatched.dropPagesEqualToBacking()).isEqualTo(new MmapGuestMemory.DroppedPages(0, 1, 0));
            common.close();
            late.writeLong(at(1, 0), 0x11L);
            late.giveCommonCopies();
            assertThat(late.dropPagesEqualToBacking().sharedPages()).isZero();
            assertThat(late.readLong(at(1, 0))).isEqualTo(0x11L);
        }
    }

    @Test
    void aPartOutsideTheMappedFileIsRefused() {
        try (CommonCopies common = new CommonCopies("common-copies-test:patched", 12L * PAGE, 8L * PAGE);
             MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x10_0000)))) {
            assertThatThrownBy(() -> m.mapCopyOnWrite(GuestAddress.of(BASE), FILE_PAGES * PAGE, fd, 0, reader, common))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not part of the file's range");
        }
        assertThatThrownBy(() -> new CommonCopies("x", 1, PAGE)).isInstanceOf(IllegalArgumentException.class);
    }

    private MmapGuestMemory guest(CommonCopies common) {
        MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x10_0000)));
        m.mapCopyOnWrite(GuestAddress.of(BASE), FILE_PAGES * PAGE, fd, 0, reader, common);
        return m;
    }

    private static GuestAddress at(int p, int offset) {
        return GuestAddress.of(BASE + (long) p * PAGE + offset);
    }

    private static BitSet bits(int... set) {
        BitSet b = new BitSet();
        for (int i : set) {
            b.set(i);
        }
        return b;
    }
}
