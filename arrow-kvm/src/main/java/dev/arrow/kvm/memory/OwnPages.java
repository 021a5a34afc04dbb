package dev.arrow.kvm.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The pages of a private file mapping that this process holds its own copy of (it wrote them), read from
 * {@code /proc/self/pagemap}: one 64-bit entry per 4 KiB page of the address space, whose bit 63 says the
 * page is present, bit 62 that it is swapped out, and bit 61 that it is a page of a file (or of shared
 * anonymous memory). A present page that is not a file's is the mapping's own copy; a swapped-out page of a
 * private mapping is one too. The flag bits are readable without privileges (only the frame numbers are not).
 * See Documentation/admin-guide/mm/pagemap.rst.
 */
final class OwnPages {
    static final long PAGE_SIZE = 4096;
    private static final Path PAGEMAP = Path.of("/proc/self/pagemap");
    private static final long PRESENT = 1L << 63;
    private static final long SWAPPED = 1L << 62;
    private static final long FILE_OR_SHARED = 1L << 61;
    /** Entries read per call: 512 KiB of entries, 1 GiB of address space. */
    private static final int BATCH = 64 * 1024;

    /** A run of own pages, {@code [offset, offset + length)} from the start of the range asked about. */
    record Run(long offset, long length, boolean swapped) {
    }

    private OwnPages() {
    }

    /**
     * The runs of own pages of this process in the page-aligned range {@code [address, address + length)}, in
     * address order; a run is all present or all swapped out.
     *
     * @throws IOException if {@code /proc/self/pagemap} cannot be read
     */
    static List<Run> in(long address, long length) throws IOException {
        RunCollector runs = new RunCollector();
        read(address, length, runs::add);
        return runs.finish();
    }

    /** Where {@link #read} hands the entries. */
    @FunctionalInterface
    interface EntrySink {
        /** The pagemap entry of page {@code page} of the range (0 for its first page). */
        void page(long page, long entry);
    }

    /**
     * Hands {@code sink} the pagemap entry of each page of the page-aligned range {@code [address, address + length)},
     * in address order, reading {@value #BATCH} entries at a time.
     *
     * @throws IOException if {@code /proc/self/pagemap} cannot be read
     */
    static void read(long address, long length, EntrySink sink) throws IOException {
        if (((address | length) & (PAGE_SIZE - 1)) != 0 || length <= 0) {
            throw new IllegalArgumentException(String.format("[0x%x, +0x%x) is not a page-aligned range", address, length));
        }
        long pages = length / PAGE_SIZE;
        try (FileChannel pagemap = FileChannel.open(PAGEMAP, StandardOpenOption.READ)) {
            ByteBuffer entries = ByteBuffer.allocateDirect((int) Math.min(pages, BATCH) * Long.BYTES)
                    .order(ByteOrder.nativeOrder());
            for (long done = 0; done < pages; ) {
                int n = (int) Math.min(pages - done, BATCH);
                entries.clear().limit(n * Long.BYTES);
                long at = (address / PAGE_SIZE + done) * Long.BYTES;
                while (entries.hasRemaining()) {
                    if (pagemap.read(entries, at + entries.position()) < 0) {
                        throw new IOException(PAGEMAP + " ended before the entry of page 0x"
                                + Long.toHexString(address + done * PAGE_SIZE));
                    }
                }
                for (int i = 0; i < n; i++) {
                    sink.page(done + i, entries.getLong(i * Long.BYTES));
                }
                done += n;
            }
        }
    }

    /** Whether {@code entry} is a page in host memory that is the mapping's own: not a file's, not swapped out. */
    static boolean residentOwn(long entry) {
        return (entry & PRESENT) != 0 && (entry & (FILE_OR_SHARED | SWAPPED)) == 0;
    }

    /** Whether {@code entry} is a page that is the mapping's own: in host memory and not a file's, or swapped out. */
    static boolean isOwn(long entry) {
        return (entry & SWAPPED) != 0 || ((entry & PRESENT) != 0 && (entry & FILE_OR_SHARED) == 0);
    }

    /** The runs of own pages among {@code entries}, the pagemap entries of consecutive pages from offset 0. */
    static List<Run> of(long[] entries) {
        RunCollector runs = new RunCollector();
        for (int i = 0; i < entries.length; i++) {
            runs.add(i, entries[i]);
        }
        return runs.finish();
    }

    /** Joins consecutive own pages of the same kind into runs. */
    private static final class RunCollector {
        private final List<Run> runs = new ArrayList<>();
        private long start = -1;
        private long count;
        private boolean swapped;

        void add(long page, long entry) {
            boolean own = isOwn(entry);
            boolean isSwapped = (entry & SWAPPED) != 0;
            if (own && start >= 0 && start + count == page && swapped == isSwapped) {
                count++;
                return;
            }
            flush();
            if (own) {
                start = page;
                count = 1;
                swapped = isSwapped;
            }
        }

        List<Run> finish() {
            flush();
            return runs;
        }

        private void flush() {
            if (start >= 0) {
                runs.add(new Run(start * PAGE_SIZE, count * PAGE_SIZE, swapped));
                start = -1;
                count = 0;
            }
        }
    }
}
