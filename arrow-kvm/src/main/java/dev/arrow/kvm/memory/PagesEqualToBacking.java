package dev.arrow.kvm.memory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongFunction;

/**
 * Picks, among the pages of one guest RAM mapping, those that hold exactly what the guest would read if the host
 * dropped them ({@code madvise(MADV_DONTNEED)}): the mapping's own pages of anonymous memory that hold only zeros
 * (a dropped one reads zero), and its own copies of a page of a copy-on-write file range (the kernel image) whose
 * bytes are the file's (a dropped one reads the file). Pages that are not the mapping's own (not in host memory,
 * swapped out, or still the file's) are not read at all. A file range whose file cannot be read keeps its pages.
 *
 * <p>Fed the mapping's pagemap entries in page order ({@link OwnPages#read}); {@link #finish()} gives the runs to
 * drop. The caller must keep every writer of the mapping still from the first page read to the last drop: a page
 * written in between would be lost. Pure logic: the pages come from {@code page}, which tests back with a heap
 * buffer.
 */
final class PagesEqualToBacking implements OwnPages.EntrySink {
    static final int PAGE = (int) OwnPages.PAGE_SIZE;
    private static final ByteBuffer ZERO_PAGE = ByteBuffer.allocate(PAGE).asReadOnlyBuffer();

    /** A copy-on-write range {@code [offset, offset + length)} of the mapping, backed by {@code file} from {@code fileOffset}; {@code file} null when unreadable. */
    record Overlay(long offset, long length, FilePages file, long fileOffset) {
        long end() {
            return offset + length;
        }
    }

    /** The runs to drop, and how many of their pages held zeros and how many held their file's bytes. */
    record Selection(List<OwnPages.Run> runs, long zeroPages, long filePages) {
    }

    private final LongFunction<ByteBuffer> page;
    private final List<Overlay> overlays;
    private final long pages;
    private final byte[] filePage = new byte[PAGE];
    private final List<OwnPages.Run> runs = new ArrayList<>();
    private int nextOverlay;
    private long runStart = -1;
    private long runPages;
    private long zeroPages;
    private long filePages;

    /**
     * @param mappingLength the mapping's length (page aligned): pages past it are refused
     * @param page          the bytes of page {@code i} of the mapping (4096 of them from position 0), read only
     *                      for pages that are the mapping's own
     * @param overlays      its copy-on-write file ranges (page aligned, within the mapping, not overlapping)
     */
    PagesEqualToBacking(long mappingLength, LongFunction<ByteBuffer> page, List<Overlay> overlays) {
        this.pages = mappingLength / PAGE;
        this.page = page;
        this.overlays = overlays.stream().sorted(Comparator.comparingLong(Overlay::offset)).toList();
        for (Overlay o : this.overlays) {
            if (((o.offset() | o.length() | o.fileOffset()) & (PAGE - 1)) != 0 || o.offset() < 0 || o.length() <= 0
                    || o.end() > mappingLength) {
                throw new IllegalArgumentException("overlay " + o + " is not a page-aligned range of the "
                        + mappingLength + "-byte mapping");
            }
        }
    }

    @Override
    public void page(long index, long entry) {
        if (index < 0 || index >= pages) {
            throw new IllegalArgumentException("page " + index + " is outside the mapping of " + pages + " pages");
        }
        if (!OwnPages.residentOwn(entry)) {
            return;
        }
        long offset = index * PAGE;
        while (nextOverlay < overlays.size() && overlays.get(nextOverlay).end() <= offset) {
            nextOverlay++;
        }
        Overlay o = nextOverlay < overlays.size() && overlays.get(nextOverlay).offset() <= offset
                ? overlays.get(nextOverlay) : null;
        ByteBuffer content = page.apply(index).slice(0, PAGE);
        if (o == null) {
            if (content.mismatch(ZERO_PAGE) == -1) {
                zeroPages++;
                select(index);
            }
        } else if (o.file() != null && o.file().readPage(o.fileOffset() + offset - o.offset(), filePage)
                && content.mismatch(ByteBuffer.wrap(filePage)) == -1) {
            filePages++;
            select(index);
        }
    }

    private void select(long index) {
        if (runStart >= 0 && runStart + runPages == index) {
            runPages++;
            return;
        }
        flush();
        runStart = index;
        runPages = 1;
    }

    private void flush() {
        if (runStart >= 0) {
            runs.add(new OwnPages.Run(runStart * PAGE, runPages * PAGE, false));
            runStart = -1;
            runPages = 0;
        }
    }

    /** The runs of pages to drop, in page order, with the counts. */
    Selection finish() {
        flush();
        return new Selection(List.copyOf(runs), zeroPages, filePages);
    }
}
