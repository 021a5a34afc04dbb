package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.arrow.backend.kvm.BootTestSupport.guestAppArrow;
import static dev.arrow.backend.kvm.BootTestSupport.stdout;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tier 4: a guest that fails on purpose, through the public API on full Linux boots. A real kernel
 * panic, the app killing PID 1, the app filling the guest's RAM, flooding the serial port and
 * draining the entropy device: each ends with its own accurate outcome within {@link #END_BOUND}
 * (generous for the lab, which is one to two orders of magnitude slower than hardware KVM), the
 * next arrow in the same JVM runs to exit 0, and nothing is left behind (fds, threads, child
 * processes, mappings, admitted guest RAM). Runs where the host KVM can boot Linux, i.e. in the lab.
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class GuestFailureBootTest {
    /** How long a failing arrow may take from start() to its end (on hardware KVM: about a second). */
    private static final Duration END_BOUND = Duration.ofSeconds(90);
    private static final Duration FLOOD_TIMEOUT = Duration.ofSeconds(10);
    private Resources before;

    /**
     * What an arrow must give back: open fds, the threads of its VM and session ({@code arrow-vm<n>-...},
     * {@code arrow-kvm<n>-...}), child processes, mappings, its admitted guest RAM.
     */
    private record Resources(long fds, long arrowThreads, long children, long mappings, int admittedVms) {
        static Resources now() throws IOException {
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                return new Resources(fds.count(),
                        Thread.getAllStackTraces().keySet().stream()
                                .filter(t -> t.getName().matches("arrow-(vm|kvm)\\d+-.*")).count(),
                        ProcessHandle.current().descendants().count(),
                        Files.readAllLines(Path.of("/proc/self/maps")).size(),
                        GuestRamAdmission.JVM.liveCount());
            }
        }
    }

    @BeforeAll
    static void warmUp() throws Exception {
        nextArrowRuns(); // warm up class loading, the JIT and the JDK's shared threads
    }

    @BeforeEach
    void measure() throws Exception {
        Thread.sleep(500);
        BootTestSupport.awaitNoBlankVms();
        before = Resources.now();
    }

    /** The JVM goes on: the next arrow starts and exits 0; then everything the failed one held is released. */
    @AfterEach
    void theJvmGoesOnAndNothingLeaks() throws Exception {
        nextArrowRuns();
        Thread.sleep(500);
        BootTestSupport.awaitNoBlankVms();
        Resources after = Resources.now();
        assertThat(after.fds()).as("open fds").isLessThanOrEqualTo(before.fds());
        assertThat(after.arrowThreads()).as("threads of arrows").isZero();
        assertThat(after.children()).as("child processes (passt)").isLessThanOrEqualTo(before.children());
        assertThat(after.admittedVms()).as("VMs whose guest RAM is still admitted").isZero();
        // the JVM may map some of its own (JIT, GC, a new thread's malloc arena); a leaked guest's RAM also
        // stays admitted (checked above)
        assertThat(after.mappings()).as("mappings").isLessThanOrEqualTo(before.mappings() + 16);
    }

    private static void nextArrowRuns() throws Exception {
        try (ArrowProcess p = guestAppArrow("hello", "next").start()) {
            assertThat(stdout(p)).isEqualTo("hello next\n");
            assertThat(p.waitFor()).isZero();
        }
    }

    /** What became of one failing arrow: its outcome, its stdout and how long it took from start(). */
    private record Ended(ArrowOutcome outcome, String stdout, Duration took) {
    }

    private static Ended run(Arrow arrow) throws Exception {
        long start = System.nanoTime();
        try (ArrowProcess p = arrow.start()) {
            String out = stdout(p);
            assertThat(p.waitFor(END_BOUND.toSeconds(), TimeUnit.SECONDS)).as("ended within " + END_BOUND).isTrue();
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).as("start() to the end").isLessThan(END_BOUND);
            return new Ended(p.outcome().join(), out, took);
        }
    }

    @Test
    void aKernelPanicIsAGuestCrashNamingThePanic() throws Exception {
        Ended ended = run(guestAppArrow("sysrq-crash"));
        assertThat(ended.outcome()).isInstanceOf(ArrowOutcome.GuestCrashed.class);
        assertThat(((ArrowOutcome.GuestCrashed) ended.outcome()).reason())
                .startsWith("the guest kernel panicked (\"sysrq triggered crash\") and rebooted");
        assertThat(ended.outcome().exitValue()).isEqualTo(381);
    }

    @Test
    void initSurvivesTheAppsSigkillAndTheAppsExitCodeComesBack() throws Exception {
        Ended ended = run(guestAppArrow("kill-init", "7"));
        assertThat(ended.stdout()).isEqualTo("init alive after SIGKILL\n");
        assertThat(ended.outcome()).isEqualTo(new ArrowOutcome.Exited(7));
    }

    @Test
    void anAppFillingTheGuestsRamIsKilledByTheGuestsOomKiller() throws Exception {
        Ended ended = run(guestAppArrow("fill-ram"));
        assertThat(ended.stdout()).as("the app filled RAM before it died").startsWith("filled 8 MiB\n")
                .doesNotContain("allocation failed");
        assertThat(ended.outcome()).isEqualTo(new ArrowOutcome.Signaled(9));
    }

    /**
     * The app writes short lines to the serial port (the kernel's console) as fast as it can until the
     * timeout: the JVM's log gets no more lines than the console limits allow, one notice when the
     * limit is first hit and one count of what was dropped when the arrow is closed.
     */
    @Test
    void aSerialFloodIsRateLimitedInTheLogAndEndsByTheTimeout() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        Ended ended;
        try {
            System.setErr(new PrintStream(new TeeStream(stderr, captured), true, StandardCharsets.UTF_8));
            ended = run(guestAppArrow("serial-flood").timeout(FLOOD_TIMEOUT));
        } finally {
            System.setErr(stderr);
        }
        assertThat(ended.outcome()).isEqualTo(new ArrowOutcome.TimedOut(FLOOD_TIMEOUT));
        List<String> log;
        synchronized (captured) {
            log = captured.toString(StandardCharsets.UTF_8).lines()
                    .filter(l -> l.contains(KernelConsoleLog.LOGGER_NAME)).toList();
        }
        Matcher first = Pattern.compile(" - (\\S+): f$").matcher(log.stream()
                .filter(l -> l.matches(".* - \\S+: f$")).findFirst().orElseThrow());
        assertThat(first.find()).isTrue();
        String arrow = " - " + first.group(1) + ": ";
        List<String> ours = log.stream().filter(l -> l.contains(arrow)).toList();
        long floodLines = ours.stream().filter(l -> l.endsWith(": f")).count();
        KernelConsoleLog.Limits limits = KernelConsoleLog.Limits.DEFAULT;
        long allowed = limits.lineBurst() + limits.linesPerSecond() * (ended.took().toSeconds() + 1);
        assertThat(floodLines).as("flood lines logged in %s", ended.took()).isBetween(1L, allowed);
        assertThat(ours.stream().filter(l -> l.contains("guest console output exceeds its limit"))).hasSize(1);
        assertThat(ours.stream().filter(l -> l.matches(".*: \\d+ line\\(s\\) \\(\\d+ bytes\\) of guest console output were "
                + "dropped by its limits$"))).hasSize(1);
    }

    /**
     * The app reads the burst and two more seconds' worth of {@code /dev/hwrng}: the device's rate
     * holds, so the guest needs at least those two seconds, and the arrow ends by itself.
     */
    @Test
    void drainingTheEntropyDeviceIsRateLimited() throws Exception {
        long bytes = VirtioRng.BURST_BYTES + 2 * VirtioRng.BYTES_PER_SECOND;
        Ended ended = run(guestAppArrow("hwrng-read", Long.toString(bytes)));
        assertThat(ended.outcome()).isEqualTo(new ArrowOutcome.Exited(0));
        Matcher m = Pattern.compile("hwrng: (\\d+) bytes in (\\d+) ms\n").matcher(ended.stdout());
        assertThat(m.matches()).as(ended.stdout()).isTrue();
        assertThat(Long.parseLong(m.group(1))).isEqualTo(bytes);
        assertThat(Long.parseLong(m.group(2))).as("ms the guest took (the rate allows no less than 2000)")
                .isGreaterThanOrEqualTo(1800);
    }

    /** Copies what is written to two streams (the real stderr, and a buffer the test reads). */
    private static final class TeeStream extends java.io.OutputStream {
        private final PrintStream original;
        private final ByteArrayOutputStream copy;

        TeeStream(PrintStream original, ByteArrayOutputStream copy) {
            this.original = original;
            this.copy = copy;
        }

        @Override
        public void write(int b) {
            original.write(b);
            synchronized (copy) {
                copy.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            original.write(b, off, len);
            synchronized (copy) {
                copy.write(b, off, len);
            }
        }
    }
}
