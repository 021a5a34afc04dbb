package dev.arrow.backend.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.BootPhase;
import dev.arrow.GuestOutputStatistics;
import dev.arrow.Input;
import dev.arrow.OutputFrame;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.arrow.backend.kvm.BootTestSupport.guestAppArrow;
import static dev.arrow.backend.kvm.BootTestSupport.stdout;
import static dev.arrow.backend.kvm.BootTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tier 4: the app's stdio over the virtio console and the entropy device, through the public API
 * on full Linux boots (see docs/virtio.md): separate stdout and stderr, byte-exact bulk transfers
 * both ways, back-pressure, end-of-file, entropy at boot, and destroy() as SIGTERM through init's
 * control port. Runs where the host KVM can boot Linux, i.e. in the lab.
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class VirtioConsoleBootTest {
    private static final int SIXTEEN_MIB = 16 << 20;
    /** Byte {@code i} of guestapp's stream {@code s} (1 stdout, 2 stderr; 3 for what the host sends). */
    static byte pattern(long i, int s) {
        int x = (int) i * (int) 2654435761L;
        return (byte) ((x >>> 24) ^ (s * 0x5a));
    }

    /**
     * Reads {@code p}'s {@code stream} to its end on another thread, checking it against pattern {@code s}; returns
     * the length. A mismatch or a failed read says what the VMM did with the stream ({@link #counters}).
     */
    private static CompletableFuture<Long> readPattern(ArrowProcess p, OutputFrame.Stream stream, int s) {
        InputStream in = stream == OutputFrame.Stream.STDOUT ? p.getInputStream() : p.getErrorStream();
        return CompletableFuture.supplyAsync(() -> {
            byte[] buf = new byte[64 * 1024];
            long pos = 0;
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    for (int j = 0; j < n; j++) {
                        if (buf[j] != pattern(pos + j, s)) {
                            throw new AssertionError(stream + " differs at byte " + (pos + j) + "; " + counters(p, stream));
                        }
                    }
                    pos += n;
                }
            } catch (IOException e) {
                throw new AssertionError("reading " + stream + " failed after " + pos + " bytes; " + counters(p, stream), e);
            }
            return pos;
        }, runnable -> {
            Thread t = new Thread(runnable, "reader-" + s);
            t.setDaemon(true);
            t.start();
        });
    }

    /** What the VMM did with {@code p}'s {@code stream}: the console's and the pump's counters, for failure messages. */
    private static String counters(ArrowProcess p, OutputFrame.Stream stream) {
        return "the VMM's " + stream + " counters: " + p.statistics().map(st -> String.valueOf(st.guestOutput().get(stream)))
                .orElse("none (no statistics)");
    }

    /** Asserts that {@code p}'s {@code stream} carried {@code expected} bytes; the failure carries the VMM's counters. */
    private static void assertLength(ArrowProcess p, OutputFrame.Stream stream, long actual, long expected) {
        assertThat(actual).as(() -> stream + " bytes; " + counters(p, stream)).isEqualTo(expected);
    }

    /** Every byte the VMM took from the guest reached its Output: none dropped or left behind, on either stream. */
    private static void assertNothingDropped(ArrowProcess p) {
        Map<OutputFrame.Stream, GuestOutputStatistics> streams = p.statistics().orElseThrow().guestOutput();
        assertThat(streams).containsOnlyKeys(OutputFrame.Stream.STDOUT, OutputFrame.Stream.STDERR);
        streams.forEach((stream, c) -> {
            assertThat(c.dropped() + c.waiting()).as("%s: dropped or left behind; %s", stream, c).isZero();
            assertThat(c.delivered()).as("%s: delivered all it took; %s", stream, c).isEqualTo(c.fromGuest());
        });
    }

    private static void log(String what, long startNanos) {
        System.out.printf("[virtio-console] %s in %d ms%n", what, (System.nanoTime() - startNanos) / 1_000_000);
    }

    @Test
    void stdoutAndStderrArriveSeparately() throws Exception {
        try (ArrowProcess p = guestAppArrow("stderr").start()) {
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
                try {
                    return text(p.getErrorStream());
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            assertThat(stdout(p)).isEqualTo("to-stdout\n");
            assertThat(err.get(2, TimeUnit.MINUTES)).isEqualTo("to-stderr\n");
            assertThat(p.waitFor()).isZero();
        }
    }

    @Test
    void sixteenMebibytesOnStdoutAndOnStderrArriveByteExact() throws Exception {
        long start = System.nanoTime();
        try (ArrowProcess p = guestAppArrow("streams", Integer.toString(SIXTEEN_MIB)).start()) {
            CompletableFuture<Long> out = readPattern(p, OutputFrame.Stream.STDOUT, 1);
            CompletableFuture<Long> err = readPattern(p, OutputFrame.Stream.STDERR, 2);
            assertLength(p, OutputFrame.Stream.STDOUT, out.get(8, TimeUnit.MINUTES), SIXTEEN_MIB);
            assertLength(p, OutputFrame.Stream.STDERR, err.get(1, TimeUnit.MINUTES), SIXTEEN_MIB);
            assertThat(p.waitFor()).isZero();
            assertNothingDropped(p);
        }
        log("2 x 16 MiB out", start);
    }

    @Test
    void sixteenMebibytesOfStdinComeBackByteExact() throws Exception {
        long start = System.nanoTime();
        try (ArrowProcess p = guestAppArrow("echo").start()) {
            CompletableFuture<Long> echoed = readPattern(p, OutputFrame.Stream.STDOUT, 3);
            byte[] chunk = new byte[48 * 1024 + 3]; // not a multiple of the guest's 4 KiB receive buffers
            try (OutputStream in = p.getOutputStream()) {
                for (long pos = 0; pos < SIXTEEN_MIB; ) {
                    int n = (int) Math.min(chunk.length, SIXTEEN_MIB - pos);
                    for (int j = 0; j < n; j++) {
                        chunk[j] = pattern(pos + j, 3);
                    }
                    in.write(chunk, 0, n);
                    pos += n;
                }
            } // close: end-of-file for the app, which then exits
            assertLength(p, OutputFrame.Stream.STDOUT, echoed.get(8, TimeUnit.MINUTES), SIXTEEN_MIB);
            assertThat(p.waitFor()).isZero();
            assertNothingDropped(p);
        }
        log("16 MiB in and back", start);
    }

    @Test
    void emptyStdinIsEndOfFileAtOnce() throws Exception {
        try (ArrowProcess p = guestAppArrow("echo").stdin(Input.empty()).start()) {
            assertThat(stdout(p)).isEmpty();
            assertThat(p.waitFor(3, TimeUnit.MINUTES)).as("the app saw end-of-file and exited").isTrue();
            assertThat(p.exitValue()).isZero();
        }
    }

    @Test
    void aReaderThatStopsReadingStopsTheApp() throws Exception {
        int size = 8 << 20; // far more than the host buffers and the guest's ring hold together
        try (ArrowProcess p = guestAppArrow("streams", Integer.toString(size)).start()) {
            CompletableFuture<Long> err = readPattern(p, OutputFrame.Stream.STDERR, 2);
            assertThat(p.waitFor(5, TimeUnit.SECONDS)).as("finished without anyone reading stdout").isFalse();
            assertThat(err.isDone()).as("stderr ended while stdout was blocked").isFalse();
            CompletableFuture<Long> out = readPattern(p, OutputFrame.Stream.STDOUT, 1);
            assertLength(p, OutputFrame.Stream.STDOUT, out.get(5, TimeUnit.MINUTES), size);
            assertLength(p, OutputFrame.Stream.STDERR, err.get(1, TimeUnit.MINUTES), size);
            assertThat(p.waitFor()).isZero();
            assertNothingDropped(p);
            System.out.println("[virtio-console] a reader that stops: " + counters(p, OutputFrame.Stream.STDOUT));
        }
    }

    /**
     * The VM ends at init's halt mark, with output still in the guest's ring (nobody read stdout): the console takes
     * it out of guest memory after the guest stopped (the memory stays mapped until the streams ended), and it
     * arrives whole. No driver reset happens on this path (the guest kernel never shuts down), so nothing is salvaged
     * at one. 256 KiB: more than the host holds (the pipe to getInputStream(), the pump's chunk and the port's buffer:
     * 144 KiB), less than the ring can hold.
     */
    @Test
    void outputStillInTheRingWhenTheGuestShutsDownArrivesWhole() throws Exception {
        int size = 256 << 10;
        try (ArrowProcess p = guestAppArrow("streams", Integer.toString(size)).start()) {
            CompletableFuture<Long> err = readPattern(p, OutputFrame.Stream.STDERR, 2);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!p.timeline().reached(BootPhase.EXITED) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(p.timeline().reached(BootPhase.EXITED)).as("the VM ended with stdout unread").isTrue();
            CompletableFuture<Long> out = readPattern(p, OutputFrame.Stream.STDOUT, 1);
            assertLength(p, OutputFrame.Stream.STDOUT, out.get(1, TimeUnit.MINUTES), size);
            assertLength(p, OutputFrame.Stream.STDERR, err.get(1, TimeUnit.MINUTES), size);
            assertThat(p.waitFor()).isZero();
            assertNothingDropped(p);
            System.out.println("[virtio-console] unread at shutdown: " + counters(p, OutputFrame.Stream.STDOUT));
            assertThat(p.statistics().orElseThrow().guestOutput().get(OutputFrame.Stream.STDOUT).salvaged())
                    .as("bytes taken out of the ring at a driver reset: none, the VM ended at init's halt mark").isZero();
        }
    }

    @Test
    void stdoutCarriesOnlyTheAppsBytesEvenWithTheKernelLogOn() throws Exception {
        try (ArrowProcess p = guestAppArrow("hello", "quiet").debugConsole().start()) {
            assertThat(stdout(p)).isEqualTo("hello quiet\n");
            assertThat(p.waitFor()).isZero();
        }
    }

    @Test
    void aQuietBootWritesNothingToTheSerialPortAndDebugConsoleWritesTheKernelLogThere() throws Exception {
        long quiet;
        try (ArrowProcess p = guestAppArrow("hello", "quiet").start()) {
            assertThat(stdout(p)).isEqualTo("hello quiet\n");
            assertThat(p.waitFor()).isZero();
            quiet = p.statistics().orElseThrow().serialOutputBytes();
        }
        long debug;
        try (ArrowProcess p = guestAppArrow("hello", "loud").debugConsole().start()) {
            assertThat(stdout(p)).isEqualTo("hello loud\n");
            assertThat(p.waitFor()).isZero();
            debug = p.statistics().orElseThrow().serialOutputBytes();
        }
        System.out.printf("[virtio-console] serial port bytes: %d quiet, %d with debugConsole()%n", quiet, debug);
        assertThat(quiet).as("bytes on the serial port without debugConsole()").isZero();
        assertThat(debug).as("the kernel log on the serial port with debugConsole()").isGreaterThan(1000);
    }

    @Test
    void entropyIsThereWhenTheAppStarts() throws Exception {
        Map<String, String> report = new LinkedHashMap<>();
        try (ArrowProcess p = guestAppArrow("entropy").start()) {
            for (String line : stdout(p).split("\n")) {
                int colon = line.indexOf(": ");
                report.put(line.substring(0, colon), line.substring(colon + 2));
            }
            assertThat(p.waitFor()).isZero();
        }
        System.out.println("[virtio-console] entropy report " + report);
        assertThat(report.get("getrandom-nonblock")).as("the random pool was ready when the app started").isEqualTo("ok");
        assertThat(report.get("hwrng-current")).startsWith("virtio_rng");
        assertThat(report.get("hwrng-bytes")).as("bytes read from the virtio entropy device").isEqualTo("64");
        assertThat(report.get("random-ms")).as("blocking getrandom(GRND_RANDOM)").doesNotContain("failed");
        assertThat(Integer.parseInt(report.get("random-ms").split(" ")[0])).as("blocking getrandom took ms").isLessThan(100);
        assertThat(report.get("dev-random")).as("32 bytes read from /dev/random").startsWith("32 bytes in ");
        assertThat(Integer.parseInt(report.get("dev-random").split(" ")[3])).as("reading /dev/random took ms").isLessThan(100);
        // seeded once, the hwrng thread sleeps without a timer (kernel/guest.patches/hwrng-seeds-once.patch): 6.1's
        // own would wake once or twice in 3 s at this uptime (every max(1 s, uptime / 2)) to fetch again
        assertThat(report.get("hwrng-wakeups-3s")).as("the hwrng thread's context switches over 3 s of the app").isEqualTo("0");
    }

    @Test
    void destroyEndsALongSleepWithSigterm() throws Exception {
        try (ArrowProcess p = guestAppArrow("sleep", "1000").start()) {
            assertThat(p.supportsNormalTermination()).isTrue();
            assertThat(p.waitFor(2, TimeUnit.SECONDS)).isFalse();
            long start = System.nanoTime();
            p.destroy();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("ended after destroy()").isTrue();
            log("destroy() of a sleeping app", start);
            assertThat(p.outcome().join()).isEqualTo(new ArrowOutcome.Signaled(15));
        }
    }

    @Test
    void destroyLetsTheAppHandleSigtermAndItsLastOutputArrives() throws Exception {
        try (ArrowProcess p = guestAppArrow("term-exit", "7").start()) {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("waiting");
            p.destroy();
            assertThat(out.readLine()).isEqualTo("terminating");
            assertThat(out.readLine()).isNull();
            assertThat(p.waitFor()).isEqualTo(7);
            assertThat(p.outcome().join()).isEqualTo(new ArrowOutcome.Exited(7));
        }
    }
}
