package dev.arrow.kvm.memory;

import dev.arrow.kvm.KvmApiException;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.OwnedFd;
import dev.arrow.kvm.sys.SealedMemoryFile;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.function.LongFunction;

/**
 * Copies that every guest makes alike of some pages of a copy-on-write file, kept once for the whole process: a
 * kernel patches its own text and read-only data for the CPU it finds at boot (alternatives, static keys, paravirt
 * calls), so every guest booting the same kernel on the same host writes the same bytes into the same ~120 pages of
 * the image, and each holds its own copy of them. The first guest that reaches a point where its kernel has booted
 * and no program has run ({@link #take}: init's first status line) gives its copies: the pages of the part that differ
 * from the file, grouped into at most {@value #MAX_SPANS} spans, are written into a sealed memory file of their own.
 * Every guest's page drop ({@link MmapGuestMemory#dropPagesEqualToBacking()}, that first one's too) then maps that file
 * copy-on-write over each span where the guest's pages hold exactly its bytes (its own copies equal to them, and the
 * file's pages where it wrote none), so its copies go back to the host and the span's pages are one set for every
 * guest.
 *
 * <p>What a guest reads never changes: a span is mapped only where the guest already holds the same bytes, with every
 * writer of its memory held (the drop's condition). The bytes come from a guest that has run nothing but its kernel
 * and init, so a guest that can tell whether its pages were shared (by timing its copy-on-write faults) learns only
 * whether its pages still equal a fresh boot's, nothing of another guest's program; one whose kernel was changed only
 * keeps its own copies. A guest that writes a shared page later gets its own copy again. The spans bound the mappings a
 * guest gains (two per span: the span and the rest of the range it splits), so thousands of guests stay within the
 * kernel's map count.
 *
 * <p>Thread-safe; {@link #close()} closes the memory file (guests that mapped it keep their mappings).
 */
public final class CommonCopies implements AutoCloseable {
    /** Most spans one file's common copies are grouped into; two more mappings per span and guest. */
    static final int MAX_SPANS = 12;
    private static final int PAGE = (int) OwnPages.PAGE_SIZE;

    private final String name;
    private final long fileStart;
    private final long length;
    private Taken taken;
    private boolean closed;

    /** Span {@code [start, start + pages)} (in pages from the part's start) of the common copies. */
    record Span(long start, long pages) {
    }

    /**
     * The common copies: the memory file holding {@code spans} one after the other, and which of each span's pages
     * differ from the overlaid file (bit {@code i} of the whole part).
     */
    private record Taken(OwnedFd file, List<Span> spans, BitSet changed) {
    }

    /** How a guest's mapping takes a span of the memory file: copy-on-write over {@code [partOffset, +length)}. */
    @FunctionalInterface
    interface SpanMapper {
        void map(long partOffset, long length, int fd, long fileOffset);
    }

    /**
     * @param name      the memory file's name ({@code memfd_create}), as it shows in {@code /proc/self/maps}
     * @param fileStart where the part guests write alike starts in the overlaid file (page aligned)
     * @param length    its length (page aligned, positive)
     */
    public CommonCopies(String name, long fileStart, long length) {
        if (((fileStart | length) & (PAGE - 1)) != 0 || fileStart < 0 || length <= 0) {
            throw new IllegalArgumentException(String.format("[0x%x, +0x%x) is not a page-aligned part of a file",
                    fileStart, length));
        }
        this.name = name;
        this.fileStart = fileStart;
        this.length = length;
    }

    /** Where the part starts in the overlaid file. */
    long fileStart() {
        return fileStart;
    }

    /** The part's length in bytes. */
    long length() {
        return length;
    }

    /**
     * Takes the common copies from one guest unless some were taken already: its copies of the part's pages that differ
     * from the file. Call it where the guest has run no program yet, with its pages still (a vCPU stopped in an exit
     * of a one-vCPU guest; a page another vCPU changes meanwhile is only shared less), under the mapping's use guard.
     *
     * @param entries   the pagemap entries of the part's pages in the guest's mapping
     * @param guestPage the guest's page {@code i} of the part (4096 bytes from position 0)
     * @param file      the overlaid file's pages
     * @return whether common copies are there now (taken now or before)
     * @throws KvmApiException if the memory file cannot be made
     */
    synchronized boolean take(long[] entries, LongFunction<ByteBuffer> guestPage, FilePages file) {
        checkEntries(entries);
        if (!closed && taken == null) {
            taken = takeFrom(entries, guestPage, file);
        }
        return taken != null;
    }

    /** Whether {@link #take} has taken copies (and this is not closed). */
    synchronized boolean isTaken() {
        return taken != null && !closed;
    }

    /**
     * Shares the common copies with one guest, if any were taken: maps each span whose bytes the guest holds already.
     * The caller holds every writer of the guest's memory still, and the mapping's use guard.
     *
     * @param entries   the pagemap entries of the part's pages in the guest's mapping
     * @param guestPage the guest's page {@code i} of the part (4096 bytes from position 0)
     * @param mapper    maps a span over the guest's part
     * @return how many of the guest's own copies the spans replaced
     * @throws KvmApiException if a span cannot be mapped (the spans mapped before stay: each holds the bytes the guest
     *     held)
     */
    long share(long[] entries, LongFunction<ByteBuffer> guestPage, SpanMapper mapper) {
        checkEntries(entries);
        Taken t;
        synchronized (this) {
            t = closed ? null : taken;
        }
        if (t == null || !t.file().enter()) {
            return 0;
        }
        try {
            long shared = 0;
            byte[] held = new byte[PAGE];
            long heldAt = 0;
            for (Span span : t.spans()) {
                if (holdsSpan(span, heldAt, t, entries, guestPage, held)) {
                    mapper.map(span.start() * PAGE, span.pages() * PAGE, t.file().fd(), heldAt);
                    for (long i = span.start(); i < span.start() + span.pages(); i++) {
                        shared += OwnPages.residentOwn(entries[(int) i]) ? 1 : 0;
                    }
                }
                heldAt += span.pages() * PAGE;
            }
            return shared;
        } finally {
            t.file().exit();
        }
    }

    private void checkEntries(long[] entries) {
        if (entries.length != length / PAGE) {
            throw new IllegalArgumentException(entries.length + " pagemap entries for a part of " + length / PAGE
                    + " pages");
        }
    }

    /** Whether the guest reads exactly the span's bytes: its own copies equal them, and the file's pages are theirs. */
    private static boolean holdsSpan(Span span, long heldAt, Taken t, long[] entries, LongFunction<ByteBuffer> guestPage,
            byte[] held) {
        for (long j = 0; j < span.pages(); j++) {
            int i = (int) (span.start() + j);
            if (OwnPages.residentOwn(entries[i])) {
                if (!readHeld(t.file(), heldAt + j * PAGE, held)
                        || guestPage.apply(i).slice(0, PAGE).mismatch(ByteBuffer.wrap(held)) != -1) {
                    return false;
                }
            } else if (OwnPages.isOwn(entries[i]) || t.changed().get(i)) {
                return false; // swapped out (not read here), or the file's page where the copies differ
            }
        }
        return true;
    }

    /**
     * This guest's copies that differ from the file, in spans, in a new sealed memory file; null if it has none. Which
     * pages of the spans differ is found again from the bytes written, so it holds for every page the file holds.
     */
    private Taken takeFrom(long[] entries, LongFunction<ByteBuffer> guestPage, FilePages file) {
        byte[] filePage = new byte[PAGE];
        BitSet copies = new BitSet(entries.length);
        for (int i = 0; i < entries.length; i++) {
            if (OwnPages.residentOwn(entries[i])) {
                if (!file.readPage(fileStart + (long) i * PAGE, filePage)) {
                    return null; // the file cannot be read: nothing is known of what differs
                }
                if (guestPage.apply(i).slice(0, PAGE).mismatch(ByteBuffer.wrap(filePage)) != -1) {
                    copies.set(i);
                }
            }
        }
        if (copies.isEmpty()) {
            return null;
        }
        List<Span> spans = spansCovering(copies, MAX_SPANS);
        BitSet changed = new BitSet(entries.length);
        long total = spans.stream().mapToLong(Span::pages).sum() * PAGE;
        boolean[] readable = {true};
        OwnedFd held = SealedMemoryFile.make(name, total, "the common copies " + name, writer -> {
            byte[] page = new byte[PAGE];
            long at = 0;
            for (Span span : spans) {
                for (long i = span.start(); i < span.start() + span.pages() && readable[0]; i++, at += PAGE) {
                    guestPage.apply(i).slice(0, PAGE).get(page);
                    readable[0] = file.readPage(fileStart + i * PAGE, filePage);
                    changed.set((int) i, !Arrays.equals(page, filePage));
                    writer.write(page, PAGE, at);
                }
            }
        });
        if (!readable[0]) {
            held.close(); // the file became unreadable (closed): nothing is known of what differs
            return null;
        }
        return new Taken(held, List.copyOf(spans), changed);
    }

    private static boolean readHeld(OwnedFd file, long at, byte[] dst) {
        return LibC.pread(file.fd(), dst, PAGE, at) == PAGE;
    }

    /**
     * The fewest pages in at most {@code maxSpans} spans that cover every page of {@code pages}: one span from the
     * first page to the last, cut at the {@code maxSpans - 1} widest gaps between them (the earlier gap first among
     * equal ones).
     */
    static List<Span> spansCovering(BitSet pages, int maxSpans) {
        if (maxSpans < 1) {
            throw new IllegalArgumentException("maxSpans must be at least 1: " + maxSpans);
        }
        int[] set = pages.stream().toArray();
        if (set.length == 0) {
            return List.of();
        }
        List<int[]> gaps = new ArrayList<>(); // {index in set after the gap, width}
        for (int k = 1; k < set.length; k++) {
            int width = set[k] - set[k - 1] - 1;
            if (width > 0) {
                gaps.add(new int[] {k, width});
            }
        }
        gaps.sort((a, b) -> a[1] != b[1] ? Integer.compare(b[1], a[1]) : Integer.compare(a[0], b[0]));
        boolean[] cutBefore = new boolean[set.length];
        for (int g = 0; g < Math.min(maxSpans - 1, gaps.size()); g++) {
            cutBefore[gaps.get(g)[0]] = true;
        }
        List<Span> spans = new ArrayList<>();
        int first = set[0];
        for (int k = 1; k <= set.length; k++) {
            if (k == set.length || cutBefore[k]) {
                spans.add(new Span(first, set[k - 1] - first + 1L));
                if (k < set.length) {
                    first = set[k];
                }
            }
        }
        return spans;
    }

    /** Closes the memory file, once taken; guests that mapped it keep their mappings. Later shares do nothing. */
    @Override
    public synchronized void close() {
        closed = true;
        if (taken != null) {
            taken.file().close();
        }
    }

    @Override
    public String toString() {
        return String.format("CommonCopies[%s, [0x%x, +0x%x)]", name, fileStart, length);
    }
}
