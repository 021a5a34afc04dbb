package dev.arrow.backend.kvm;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.ArrowTemplate;
import dev.arrow.VmStatistics;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.testing.BootTest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 4: free page reporting gives a guest's freed memory back to the host. A busybox guest writes 40 MiB into
 * its tmpfs {@code /tmp} (page-cache pages, touched), removes the file (the pages go back to its page allocator)
 * and waits; the host's resident pages of that guest's RAM ({@link VmStatistics#residentGuestBytes()}) must drop by
 * most of the 40 MiB within seconds. The control: with {@code -Darrow.freePageReporting=false} they stay.
 * A clone of a template has the device too (restored from the template's state) and returns memory the same way;
 * its own pages are measured as the anonymous pages of the template RAM's mappings (the clone's copy-on-write
 * copies), since its resident figure also counts the template file's pages, which a clone's write to a page the
 * template never touched adds to the file and a discard leaves there.
 *
 * <p>The file is zeros: once the guest idles with it, the VMM's drop of pages equal to their backing
 * ({@link RunningVm#appStarted()}) would give its pages back as well, before or after the first sample. That is not
 * what these tests measure, so it is off for them ({@link RunningVm#DROP_PAGES_PROPERTY}).
 */
@BootTest
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class FreePageReportingBootTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final long FILE = 40L << 20;
    /** The guest waits for a line on stdin after each step, so the host samples at known points. */
    private static final String SCRIPT = "dd if=/dev/zero of=/tmp/x bs=1M count=40 2>/dev/null && echo filled && read a"
            + " && rm /tmp/x && echo freed && read b";
    /** Linux reports 2 s after a free at the earliest, a free list at a time; generous for a busy lab. */
    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final Pattern SMAPS_HEADER = Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    @BeforeAll
    static void prerequisites() {
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        System.setProperty(RunningVm.DROP_PAGES_PROPERTY, "false");
    }

    @AfterAll
    static void dropPagesAgain() {
        System.clearProperty(RunningVm.DROP_PAGES_PROPERTY);
    }

    private static Arrow busybox() {
        return Arrow.of(BUSYBOX).args("sh", "-c", SCRIPT).memory(128, MiB);
    }

    /** Guest RAM on the host when the file is there, and the least seen within {@code wait} after it was removed. */
    record Figures(String what, long filled, long freed, Duration took) {
        long returned() {
            return filled - freed;
        }

        @Override
        public String toString() {
            return String.format("%s %d MiB with the 40 MiB file, %d MiB after rm (%d MiB returned in %d ms)",
                    what, filled >> 20, freed >> 20, returned() >> 20, took.toMillis());
        }
    }

    /**
     * Runs the script's steps in {@code p}, measuring with {@code measure}; after the removal polls until {@code enough}
     * bytes came back or {@code wait} passed.
     */
    private static Figures fillAndFree(ArrowProcess p, String what, LongSupplier measure, long enough, Duration wait)
            throws IOException, InterruptedException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        OutputStream in = p.getOutputStream();
        assertThat(out.readLine()).isEqualTo("filled");
        Thread.sleep(500); // the dd's last pages settle
        long filled = measure.getAsLong();
        in.write('\n');
        in.flush();
        assertThat(out.readLine()).isEqualTo("freed");
        Instant removed = Instant.now();
        long least = measure.getAsLong();
        Duration took = Duration.ZERO;
        while (Duration.between(removed, Instant.now()).compareTo(wait) < 0 && filled - least < enough) {
            Thread.sleep(250);
            long now = measure.getAsLong();
            if (now < least) {
                least = now;
                took = Duration.between(removed, Instant.now());
            }
        }
        in.write('\n');
        in.close();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the guest ends after its second line").isTrue();
        assertThat(p.exitValue()).isZero();
        return new Figures(what, filled, least, took);
    }

    private static Figures fillAndFree(ArrowProcess p, long enough, Duration wait) throws IOException, InterruptedException {
        return fillAndFree(p, "resident guest RAM", () -> p.statistics().orElseThrow().residentGuestBytes(), enough, wait);
    }

    /** Bytes of anonymous pages in this process's mappings of template RAM: the clones' copy-on-write copies. */
    private static long cloneCopiesBytes() {
        try {
            long kib = 0;
            boolean templateRam = false;
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                if (SMAPS_HEADER.matcher(line).lookingAt()) {
                    templateRam = line.contains("memfd:" + VmBuilder.TEMPLATE_RAM_FILE_NAME);
                } else if (templateRam && line.startsWith("Anonymous:")) {
                    kib += Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            return kib << 10;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void memoryTheGuestFreesGoesBackToTheHost() throws Exception {
        Figures f;
        try (ArrowProcess p = busybox().start()) {
            f = fillAndFree(p, FILE * 3 / 4, PATIENCE);
        }
        System.out.println("free page reporting on: " + f);
        assertThat(f.filled()).as("the file is in guest RAM").isGreaterThanOrEqualTo(FILE);
        assertThat(f.returned()).as("most of the 40 MiB back on the host within %s: %s", PATIENCE, f)
                .isGreaterThanOrEqualTo(FILE * 3 / 4);
    }

    @Test
    void withoutReportingTheFreedMemoryStaysResident() throws Exception {
        Figures f;
        System.setProperty(KvmLauncher.FREE_PAGE_REPORTING_PROPERTY, "false");
        try (ArrowProcess p = busybox().start()) {
            f = fillAndFree(p, Long.MAX_VALUE, Duration.ofSeconds(8));
        } finally {
            System.clearProperty(KvmLauncher.FREE_PAGE_REPORTING_PROPERTY);
        }
        System.out.println("free page reporting off: " + f);
        assertThat(f.filled()).isGreaterThanOrEqualTo(FILE);
        assertThat(f.returned()).as("nothing reports the free pages: %s", f).isLessThan(FILE / 8);
    }

    @Test
    void aCloneOfATemplateReturnsFreedMemoryToo() throws Exception {
        Figures f;
        try (ArrowTemplate template = Arrow.of(BUSYBOX).args("true").memory(128, MiB).template();
             ArrowProcess clone = template.start(c -> c.args("sh", "-c", SCRIPT))) {
            f = fillAndFree(clone, "the clone's own pages (anonymous in template RAM)",
                    FreePageReportingBootTest::cloneCopiesBytes, FILE * 3 / 4, PATIENCE);
        }
        System.out.println("free page reporting in a clone: " + f);
        assertThat(f.filled()).as("the file is in the clone's own pages").isGreaterThanOrEqualTo(FILE);
        assertThat(f.returned()).as("most of the clone's copies of the freed pages dropped within %s: %s", PATIENCE, f)
                .isGreaterThanOrEqualTo(FILE * 3 / 4);
    }
}
