package dev.arrow.backend.kvm;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Pointer;
import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.loader.KernelSnapshot;
import dev.arrow.kvm.vmm.BlankVmPool;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.testing.BootTest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Tier 4, a measurement (issue 21, "Where a cold arrow's private memory goes" in docs/idle.md): where a cold, idle
 * arrow's private memory is. One arrow at a time (64 MiB, the test program echoing stdin, like the benchmarks'
 * {@code hello-wait}) is booted per variant (free page reporting order, extra kernel parameters); once it greeted,
 * the host reads its pages from {@code /proc/self/pagemap} every few seconds: guest RAM touched (present anonymous
 * pages) and the kernel image's own copies (present pages of the {@code memfd:arrow-kernel} mapping that are not the
 * file's), and prints them per MiB of guest-physical address. A busybox arrow prints what the guest kernel says of
 * its memory ({@code /proc/meminfo}, {@code buddyinfo}, {@code zoneinfo}, {@code vmstat}, {@code iomem},
 * {@code dmesg}). With {@code ARROW_LAB_OUT} set, each variant's guest RAM (resident pages only, at their
 * guest-physical offsets in a sparse file) and a map of its pages (one byte per page: 0 not resident, 1 RAM touched,
 * 2 image page copied, 3 image page shared, 4 image page not mapped: dumped, not resident, 5 RAM only read: the
 * host's zero page) go to {@code $ARROW_LAB_OUT/census/}, for {@code scripts/guest-pages},
 * which classifies each resident page by its {@code struct page}. The arrows drop their pages equal to their backing
 * once idle ({@link RunningVm#appStarted()}) but in the variant {@code order5-no-drop}. It runs only when asked
 * ({@code ARROW_MEMORY_CENSUS=1} in the lab session's environment): it takes minutes and sets system properties that
 * other tests running at the same time would see.
 */
@BootTest
@Timeout(value = 12, unit = TimeUnit.MINUTES)
@EnabledIfEnvironmentVariable(named = "ARROW_MEMORY_CENSUS", matches = "1",
        disabledReason = "a measurement of several minutes, not a check: run it with ARROW_MEMORY_CENSUS=1 (docs/idle.md)")
class GuestMemoryCensusBootTest {
    private static final long MEMORY = 64L << 20;
    private static final long PAGE = 4096;
    /** Free page reporting waits 2 s after a free and walks a sixteenth of a free list per pass: 30 s to settle. */
    private static final int SETTLE_SECONDS = 30;
    private static final int SAMPLE_EVERY_SECONDS = 5;
    /** The kernel's hash tables, sized for a few files and connections instead of by RAM. */
    private static final String SMALL_HASHES = "dhash_entries=512 ihash_entries=512 mhash_entries=64 mphash_entries=64"
            + " thash_entries=256 uhash_entries=256";
    private static final String GUEST_REPORT = "cat /proc/cmdline /proc/meminfo /proc/buddyinfo /proc/zoneinfo /proc/vmstat"
            + " /proc/iomem; dmesg; ps; echo census-done; read x";

    /** One boot: its name, the system properties it is started with, and the arrow. */
    private record Variant(String name, Map<String, String> properties, boolean busybox) {
        Arrow arrow() {
            Arrow a = busybox ? Arrow.of(BootTestSupport.BUSYBOX).args("sh", "-c", GUEST_REPORT)
                    : Arrow.of(BootTestSupport.guestApp()).args("echo");
            return a.memory(64, MiB).stdin(Input.pipe()).stdout(Output.pipe()).stderr(Output.discard());
        }
    }

    /** Pages of one arrow's guest RAM as the host holds them. */
    record Census(long ramTouched, long zeroPageReads, long imageCopies, long imageShared, long anonymous, byte[] kinds,
                  long hostBase, String imageMapping) {
        static final byte NONE = 0;
        static final byte RAM = 1;
        static final byte COPY = 2;
        static final byte SHARED = 3;
        /** A page of the kernel image this process does not map yet: not resident for this arrow, dumped all the same. */
        static final byte IMAGE_UNMAPPED = 4;
        /** A RAM page the guest only read: the host maps its shared zero page there, which costs nothing. */
        static final byte ZERO_PAGE = 5;

        @Override
        public String toString() {
            return String.format("RAM touched %.2f MiB (and %.2f MiB only read: the host's zero page), image own copies %.2f MiB"
                    + " (private %.2f MiB; smaps Anonymous %.2f MiB), image shared %.2f MiB", mib(ramTouched),
                    mib(zeroPageReads), mib(imageCopies), mib(ramTouched + imageCopies), mib(anonymous), mib(imageShared));
        }

        /** Per MiB of guest-physical address: touched RAM pages / copied image pages, where any. */
        String perMiB() {
            StringBuilder b = new StringBuilder();
            for (int mib = 0; mib < kinds.length / 256; mib++) {
                int ram = 0;
                int copy = 0;
                for (int i = mib * 256; i < (mib + 1) * 256; i++) {
                    ram += kinds[i] == RAM ? 1 : 0;
                    copy += kinds[i] == COPY ? 1 : 0;
                }
                if (ram + copy > 0) {
                    b.append(String.format(" %d:%d/%d", mib, ram, copy));
                }
            }
            return b.toString();
        }
    }

    @Test
    void whereAColdArrowsPrivateMemoryGoes() throws Exception {
        BootTestSupport.assumeBusybox();
        List<Variant> variants = List.of(
                new Variant("order5", Map.of(), false),
                new Variant("order5-no-drop", Map.of(RunningVm.DROP_PAGES_PROPERTY, "false"), false),
                new Variant("busybox-order5", Map.of(), true),
                new Variant("order0", Map.of(KvmLauncher.REPORTING_ORDER_PROPERTY, "0"), false),
                new Variant("order3", Map.of(KvmLauncher.REPORTING_ORDER_PROPERTY, "3"), false),
                new Variant("small-hashes", Map.of(KvmLauncher.DIAGNOSTIC_KERNEL_PARAMETERS_PROPERTY, SMALL_HASHES), false),
                new Variant("nr-cpus-1", Map.of(KvmLauncher.DIAGNOSTIC_KERNEL_PARAMETERS_PROPERTY, "nr_cpus=1"), false),
                new Variant("order0-small-hashes", Map.of(KvmLauncher.REPORTING_ORDER_PROPERTY, "0",
                        KvmLauncher.DIAGNOSTIC_KERNEL_PARAMETERS_PROPERTY, SMALL_HASHES), false));
        List<String> summary = new ArrayList<>();
        for (Variant v : variants) {
            v.properties().forEach(System::setProperty);
            try {
                summary.add(measure(v));
            } finally {
                v.properties().keySet().forEach(System::clearProperty);
            }
            BootTestSupport.awaitNoBlankVms();
        }
        System.out.println("[census] summary");
        summary.forEach(s -> System.out.println("[census] " + s));
    }

    private static String measure(Variant v) throws Exception {
        long started = System.nanoTime();
        ArrowProcess p = v.arrow().start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            OutputStream in = p.getOutputStream();
            long firstOutputMs;
            if (v.busybox()) {
                String line = out.readLine();
                firstOutputMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                while (line != null && !line.equals("census-done")) {
                    System.out.println("[census " + v.name() + " guest] " + line);
                    line = out.readLine();
                }
            } else {
                in.write("hello\n".getBytes(StandardCharsets.UTF_8));
                in.flush();
                assertThat(out.readLine()).isEqualTo("hello");
                firstOutputMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            }
            BlankVmPool.awaitSharedIdle(java.time.Duration.ofSeconds(20));
            long greeted = System.nanoTime();
            Census c = census();
            for (int s = 0; s < SETTLE_SECONDS; s += SAMPLE_EVERY_SECONDS) {
                System.out.printf("[census %s] %2d s after the greeting: %s%n", v.name(),
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - greeted), c);
                Thread.sleep(SAMPLE_EVERY_SECONDS * 1000L);
                c = census();
            }
            System.out.printf("[census %s] settled: %s; start -> first output %d ms%n", v.name(), c, firstOutputMs);
            System.out.printf("[census %s] per MiB (touched RAM pages/copied image pages):%s%n", v.name(), c.perMiB());
            Optional<String> dumped = dump(v.name(), c);
            dumped.ifPresent(d -> System.out.printf("[census %s] guest RAM copied to %s%n", v.name(), d));
            in.write('\n');
            in.close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s ends after a line", v.name()).isTrue();
            return String.format("%-15s %s; start -> first output %d ms", v.name(), c, firstOutputMs);
        } finally {
            p.close();
        }
    }

    private static final Pattern MAPS_LINE = Pattern.compile("([0-9a-f]+)-([0-9a-f]+) (\\S+) ([0-9a-f]+) \\S+ (\\d+)\\s*(.*)");

    private record Mapping(long start, long end, long offset, String name) {
    }

    /** Where the kernel image starts in guest RAM (its lowest load address), once per JVM. */
    private static long kernelStart = -1;
    /** How many bytes of guest RAM the kernel image's mapping covers, set with {@link #kernelStart}. */
    private static long kernelLength;

    private static synchronized long kernelStart() {
        if (kernelStart < 0) {
            Path vmlinux = KernelLocator.fromEnvironment().locate().path();
            try (KernelSnapshot s = KernelSnapshot.load(vmlinux, MEMORY).orElseThrow()) {
                kernelStart = Layout.alignDown(s.kernel().startAddress(), PAGE);
                kernelLength = s.length();
            }
        }
        return kernelStart;
    }

    /**
     * The pages of the one arrow alive (or of the one that touched most, if the blank VM pool holds another): its guest
     * RAM starts {@link #kernelStart()} bytes before its mapping of the kernel image.
     */
    static Census census() throws IOException {
        List<Mapping> maps = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            Matcher m = MAPS_LINE.matcher(line);
            if (m.matches()) {
                maps.add(new Mapping(Long.parseUnsignedLong(m.group(1), 16), Long.parseUnsignedLong(m.group(2), 16),
                        Long.parseUnsignedLong(m.group(4), 16), m.group(6)));
            }
        }
        Census best = null;
        for (Mapping image : maps) {
            if (!image.name().contains("memfd:" + KernelSnapshot.FILE_NAME_PREFIX) || image.offset() != 0
                    || image.name().contains(KernelSnapshot.PATCHED_SUFFIX)) {
                continue;
            }
            long base = image.start() - kernelStart();
            long imageEnd = image.start() + kernelLength; // the spans of text patched alike split its mapping
            if (!covered(maps, base, base + MEMORY)) {
                System.out.printf("[census] %s at 0x%x: guest RAM [0x%x, +64 MiB) is not all mapped%n", image.name(),
                        image.start(), base);
                continue;
            }
            long[] entries = pagemap(base, MEMORY);
            long zeroPfn = zeroPagePfn(entries, base, image.start(), imageEnd);
            byte[] kinds = new byte[entries.length];
            long ram = 0;
            long zeroReads = 0;
            long copies = 0;
            long shared = 0;
            for (int p = 0; p < entries.length; p++) {
                long host = base + p * PAGE;
                boolean present = (entries[p] & (1L << 63)) != 0;
                boolean file = (entries[p] & (1L << 61)) != 0;
                boolean inImage = host >= image.start() && host < imageEnd;
                if (!present) {
                    kinds[p] = inImage ? Census.IMAGE_UNMAPPED : Census.NONE;
                    continue;
                }
                if (inImage) {
                    kinds[p] = file ? Census.SHARED : Census.COPY;
                    if (file) {
                        shared += PAGE;
                    } else {
                        copies += PAGE;
                    }
                } else if (zeroPfn > 0 && (entries[p] & PFN_MASK) == zeroPfn) {
                    kinds[p] = Census.ZERO_PAGE;
                    zeroReads += PAGE;
                } else {
                    kinds[p] = Census.RAM;
                    ram += PAGE;
                }
            }
            Census c = new Census(ram, zeroReads, copies, shared, anonymous(base, base + MEMORY), kinds, base,
                    Long.toHexString(image.start()) + "-" + Long.toHexString(imageEnd));
            if (best == null || c.ramTouched() > best.ramTouched()) {
                best = c; // a blank VM made ahead has touched nothing
            }
        }
        assertThat(best).as("a 64 MiB guest RAM with the kernel image mapped in it, in /proc/self/maps").isNotNull();
        return best;
    }

    private static final long PFN_MASK = (1L << 55) - 1;

    /**
     * The host's zero page, as the frame number that more than one RAM page maps (a private anonymous page is mapped
     * once; only the shared zero page, which a read of an untouched page maps, is mapped many times); 0 if none is or
     * the frame numbers are hidden (they are shown to root only).
     */
    private static long zeroPagePfn(long[] entries, long base, long imageStart, long imageEnd) {
        Map<Long, Integer> counts = new java.util.HashMap<>();
        for (int p = 0; p < entries.length; p++) {
            long host = base + p * PAGE;
            if ((entries[p] & (1L << 63)) != 0 && (entries[p] & (1L << 61)) == 0 && (host < imageStart || host >= imageEnd)
                    && (entries[p] & PFN_MASK) != 0) {
                counts.merge(entries[p] & PFN_MASK, 1, Integer::sum);
            }
        }
        return counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).findFirst().orElse(0L);
    }

    /**
     * Anonymous pages of this process's mappings inside {@code [start, end)}, from /proc/self/smaps: the pages written
     * (guest RAM, and the image's copies), not the zero page that reads map, nor the image file's pages. A part of guest
     * RAM whose mapping the host merged with a neighbouring one is left out (the lab's first 16 MiB): a check, not the figure.
     */
    private static long anonymous(long start, long end) throws IOException {
        long kib = 0;
        boolean inside = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            Matcher m = MAPS_LINE.matcher(line);
            if (m.matches()) {
                long s = Long.parseUnsignedLong(m.group(1), 16);
                inside = s >= start && Long.parseUnsignedLong(m.group(2), 16) <= end;
            } else if (inside && line.startsWith("Anonymous:")) {
                kib += Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return kib << 10;
    }

    /** Whether {@code [start, end)} is wholly mapped (by one mapping or several in a row). */
    private static boolean covered(List<Mapping> maps, long start, long end) {
        long at = start;
        for (Mapping m : maps) {
            if (m.start() <= at && at < m.end()) {
                at = m.end();
            }
        }
        return at >= end;
    }

    private static long[] pagemap(long address, long length) throws IOException {
        int pages = (int) (length / PAGE);
        ByteBuffer buffer = ByteBuffer.allocate(pages * Long.BYTES).order(ByteOrder.nativeOrder());
        try (FileChannel f = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            while (buffer.hasRemaining()) {
                if (f.read(buffer, address / PAGE * Long.BYTES + buffer.position()) < 0) {
                    throw new IOException("pagemap ended early");
                }
            }
        }
        long[] entries = new long[pages];
        buffer.flip().asLongBuffer().get(entries);
        return entries;
    }

    /** Writes the resident pages and the page map under $ARROW_LAB_OUT/census, if that is set. */
    private static Optional<String> dump(String name, Census c) throws IOException {
        String labOut = System.getenv("ARROW_LAB_OUT");
        if (labOut == null) {
            return Optional.empty();
        }
        Path dir = Files.createDirectories(Path.of(labOut, "census"));
        Path ram = dir.resolve(name + ".ram");
        byte[] page = new byte[(int) PAGE];
        try (RandomAccessFile f = new RandomAccessFile(ram.toFile(), "rw")) {
            f.setLength(MEMORY);
            for (int p = 0; p < c.kinds().length; p++) {
                if (c.kinds()[p] != Census.NONE) {
                    new Pointer(c.hostBase() + p * PAGE).read(0, page, 0, page.length);
                    f.seek(p * PAGE);
                    f.write(page);
                }
            }
        }
        Files.write(dir.resolve(name + ".pages"), c.kinds());
        return Optional.of(ram.toString());
    }

    private static double mib(long bytes) {
        return bytes / 1048576.0;
    }
}
