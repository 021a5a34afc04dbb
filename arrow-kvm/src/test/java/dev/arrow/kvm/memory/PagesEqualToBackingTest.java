package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The choice of pages to drop, from pagemap entries and page bytes in a heap buffer (tier 1). */
class PagesEqualToBackingTest {
    private static final int PAGE = PagesEqualToBacking.PAGE;
    private static final long PRESENT = 1L << 63;
    private static final long SWAPPED = 1L << 62;
    private static final long FILE = 1L << 61;

    private final ByteBuffer ram = ByteBuffer.allocate(16 * PAGE);
    private final List<Long> pagesRead = new ArrayList<>();

    private PagesEqualToBacking.Selection select(long[] entries, List<PagesEqualToBacking.Overlay> overlays) {
        PagesEqualToBacking s = new PagesEqualToBacking(ram.capacity(), i -> {
            pagesRead.add(i);
            return ram.slice((int) (i * PAGE), PAGE);
        }, overlays);
        for (int i = 0; i < entries.length; i++) {
            s.page(i, entries[i]);
        }
        return s.finish();
    }

    private static long[] allPresent() {
        long[] e = new long[16];
        Arrays.fill(e, PRESENT);
        return e;
    }

    @Test
    void residentZeroPagesAreSelectedInRunsAndWrittenOnesKept() {
        ram.put(2 * PAGE + 17, (byte) 1);
        ram.put(6 * PAGE + PAGE - 1, (byte) 1); // the last byte of a page counts
        PagesEqualToBacking.Selection s = select(allPresent(), List.of());
        assertThat(s.runs()).containsExactly(new OwnPages.Run(0, 2L * PAGE, false),
                new OwnPages.Run(3L * PAGE, 3L * PAGE, false), new OwnPages.Run(7L * PAGE, 9L * PAGE, false));
        assertThat(s.zeroPages()).isEqualTo(14);
        assertThat(s.filePages()).isZero();
    }

    @Test
    void pagesNotOwnAndResidentAreNeitherReadNorSelected() {
        long[] e = allPresent();
        e[1] = 0; // never touched
        e[2] = SWAPPED; // swapped out: reading it would bring it back
        e[3] = PRESENT | FILE; // still the file's page
        e[4] = PRESENT | SWAPPED;
        PagesEqualToBacking.Selection s = select(e, List.of());
        assertThat(pagesRead).doesNotContain(1L, 2L, 3L, 4L);
        assertThat(s.runs()).containsExactly(new OwnPages.Run(0, PAGE, false),
                new OwnPages.Run(5L * PAGE, 11L * PAGE, false));
    }

    @Test
    void aCopyOfAFilePageIsSelectedOnlyWhenItHoldsTheFilesBytes() {
        byte[] file = new byte[4 * PAGE];
        Arrays.fill(file, (byte) 7);
        file[PAGE + 5] = 9;
        // the overlay covers pages 4..7 from file offset PAGE: RAM page 4 is file page 1
        ram.put(4 * PAGE, file, PAGE, PAGE); // equal to the file (with its 9)
        byte[] other = Arrays.copyOfRange(file, 2 * PAGE, 3 * PAGE);
        other[100] = 8;
        ram.put(5 * PAGE, other); // differs in one byte
        // page 6 stays zero while the file's page is not: a zero page of the overlay is no zero page
        ram.put(7 * PAGE, file, 0, PAGE); // the file's bytes, but of another page
        long[] e = allPresent();
        PagesEqualToBacking.Overlay o = new PagesEqualToBacking.Overlay(4L * PAGE, 4L * PAGE, (offset, dst) -> {
            Arrays.fill(dst, (byte) 0);
            if (offset < file.length) {
                System.arraycopy(file, (int) offset, dst, 0, (int) Math.min(PAGE, file.length - offset));
            }
            return true;
        }, PAGE);
        PagesEqualToBacking.Selection s = select(e, List.of(o));
        assertThat(s.runs()).containsExactly(new OwnPages.Run(0, 5L * PAGE, false),
                new OwnPages.Run(8L * PAGE, 8L * PAGE, false));
        assertThat(s.filePages()).isEqualTo(1);
        assertThat(s.zeroPages()).isEqualTo(12);
    }

    @Test
    void anOverlayWhoseFileCannotBeReadKeepsItsPages() {
        PagesEqualToBacking.Overlay unreadable = new PagesEqualToBacking.Overlay(0, 2L * PAGE, (offset, dst) -> false, 0);
        PagesEqualToBacking.Overlay none = new PagesEqualToBacking.Overlay(2L * PAGE, 2L * PAGE, null, 0);
        PagesEqualToBacking.Selection s = select(allPresent(), List.of(none, unreadable));
        assertThat(s.runs()).containsExactly(new OwnPages.Run(4L * PAGE, 12L * PAGE, false));
        assertThat(s.filePages()).isZero();
    }

    @Test
    void pagesOutsideTheMappingAndMisplacedOverlaysAreRefused() {
        PagesEqualToBacking s = new PagesEqualToBacking(ram.capacity(), i -> ram.slice((int) (i * PAGE), PAGE), List.of());
        assertThatThrownBy(() -> s.page(16, PRESENT)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.page(-1, PRESENT)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PagesEqualToBacking(ram.capacity(), i -> ram,
                List.of(new PagesEqualToBacking.Overlay(15L * PAGE, 2L * PAGE, null, 0))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PagesEqualToBacking(ram.capacity(), i -> ram,
                List.of(new PagesEqualToBacking.Overlay(100, PAGE, null, 0))))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
