package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.ArrowProcess;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.testing.BootTest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 4: the opt-in to the host's same-page merging ({@link MmapGuestMemory#MERGEABLE_PROPERTY}, issue 21 item 3,
 * docs/security.md). With the host's KSM running, two idle arrows started without the property have no page merged
 * after {@value #UNASKED_SECONDS} s; two started with it have equal guest pages merged (this process's
 * {@code /proc/self/ksm_merging_pages}), and both go on echoing, so that a guest's write to a merged page gets its own
 * copy, and exit 0. The host's KSM settings are restored afterwards.
 */
@BootTest
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class MergeableGuestMemoryBootTest {
    private static final Path KSM = Path.of("/sys/kernel/mm/ksm");
    private static final Path MERGING_PAGES = Path.of("/proc/self/ksm_merging_pages");
    /** KSM's settings while the test runs: a scan fast enough for the lab (the default scans 100 pages per 20 ms). */
    private static final Map<String, String> FAST_SCAN = Map.of("pages_to_scan", "4000", "sleep_millisecs", "20");
    private static final long MERGE_PATIENCE_NANOS = TimeUnit.SECONDS.toNanos(180);
    /** How long two arrows started without the property stay idle with KSM running: their pages must not merge. */
    private static final int UNASKED_SECONDS = 10;

    private final Map<String, String> saved = new LinkedHashMap<>();

    @BeforeEach
    void startKsm() throws IOException {
        assumeTrue(Files.isWritable(KSM.resolve("run")), "this host's kernel has no KSM (CONFIG_KSM) or "
                + KSM.resolve("run") + " is not writable (run as root): nothing to merge guest pages");
        for (String name : List.of("run", "pages_to_scan", "sleep_millisecs")) {
            saved.put(name, Files.readString(KSM.resolve(name)).trim());
        }
        for (Map.Entry<String, String> e : FAST_SCAN.entrySet()) {
            Files.writeString(KSM.resolve(e.getKey()), e.getValue());
        }
        Files.writeString(KSM.resolve("run"), "1");
    }

    @AfterEach
    void restoreKsm() throws Exception {
        System.clearProperty(MmapGuestMemory.MERGEABLE_PROPERTY);
        for (Map.Entry<String, String> e : saved.entrySet()) {
            Files.writeString(KSM.resolve(e.getKey()), e.getValue());
        }
        BootTestSupport.awaitNoBlankVms();
    }

    @Test
    void equalGuestPagesMergeOnlyWhenAskedForAndTheGuestsRunOn() throws Exception {
        try (Echoing a = Echoing.start(); Echoing b = Echoing.start()) {
            // nothing offered, ksmd has nothing to scan (its full scans do not even count up): give it the time
            Thread.sleep(TimeUnit.SECONDS.toMillis(UNASKED_SECONDS));
            assertThat(mergingPages()).as("pages merged in %d s without %s", UNASKED_SECONDS,
                    MmapGuestMemory.MERGEABLE_PROPERTY).isZero();
            a.finish();
            b.finish();
        }
        BootTestSupport.awaitNoBlankVms();

        System.setProperty(MmapGuestMemory.MERGEABLE_PROPERTY, "true");
        try (Echoing a = Echoing.start(); Echoing b = Echoing.start()) {
            long t0 = System.nanoTime();
            long scans = fullScans();
            // equal pages merge at the second scan that finds them unchanged: wait for two more after the first merge
            long merged = mergingPages();
            long lastScan = scans;
            while ((merged == 0 || fullScans() < lastScan + 2) && System.nanoTime() - t0 < MERGE_PATIENCE_NANOS) {
                Thread.sleep(100);
                long now = mergingPages();
                if (merged == 0 && now > 0) {
                    lastScan = fullScans();
                }
                merged = now;
            }
            System.out.printf("[ksm] two idle arrows: %d guest pages merged (%.2f MiB) after %d full scans, %d ms%n",
                    merged, merged * 4096 / (1024.0 * 1024.0), fullScans() - scans,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            assertThat(merged).as("guest pages merged within %d s with %s=true",
                    TimeUnit.NANOSECONDS.toSeconds(MERGE_PATIENCE_NANOS), MmapGuestMemory.MERGEABLE_PROPERTY)
                    .isPositive();
            a.finish();
            b.finish();
        }
    }

    private static long mergingPages() throws IOException {
        return Long.parseLong(Files.readString(MERGING_PAGES).trim());
    }

    private static long fullScans() throws IOException {
        return Long.parseLong(Files.readString(KSM.resolve("full_scans")).trim());
    }

    /** An arrow of the test program echoing its stdin, greeted once: idle until {@link #finish()}. */
    private record Echoing(ArrowProcess process, BufferedReader out, OutputStream in) implements AutoCloseable {
        static Echoing start() throws IOException {
            ArrowProcess p = BootTestSupport.guestAppArrow("echo").stdin(Input.pipe()).stdout(Output.pipe())
                    .stderr(Output.discard()).start();
            Echoing e = new Echoing(p, new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8)), p.getOutputStream());
            e.echoes(List.of("hello"));
            return e;
        }

        void echoes(List<String> lines) throws IOException {
            List<String> back = new ArrayList<>();
            for (String line : lines) {
                in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                in.flush();
                back.add(out.readLine());
            }
            assertThat(back).as("the guest echoes").isEqualTo(lines);
        }

        /** Echoes a few more lines (the guest writes its pages again), closes stdin and checks the exit. */
        void finish() throws Exception {
            echoes(List.of("one", "two", "three"));
            in.close();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("exited after stdin closed").isTrue();
            assertThat(process.exitValue()).isZero();
        }

        @Override
        public void close() {
            process.close();
        }
    }
}
