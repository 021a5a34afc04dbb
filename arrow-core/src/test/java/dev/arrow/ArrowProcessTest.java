package dev.arrow;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ArrowProcessTest {

    @TempDir
    Path dir;
    private Path binary;

    @BeforeEach
    void createBinary() throws IOException {
        binary = Files.write(dir.resolve("hello"), new byte[]{0x7f, 'E', 'L', 'F'});
    }

    private Arrow arrow(FakeLauncher launcher) {
        return Arrow.of(binary).launcher(launcher);
    }

    private static String read(InputStream in) throws IOException {
        return new String(in.readAllBytes(), UTF_8);
    }

    // ---- streams ----

    @Test
    void stdoutAndStderrAreSeparateStreams() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("out 1\n");
            g.err("err 1\n");
            g.out("out 2\n");
            g.err("err 2\n");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            assertThat(read(p.getInputStream())).isEqualTo("out 1\nout 2\n");
            assertThat(read(p.getErrorStream())).isEqualTo("err 1\nerr 2\n");
            assertThat(p.waitFor()).isZero();
        }
    }

    @Test
    void outputStaysReadableAfterTheGuestEnded() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("late reader");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            p.waitFor();
            assertThat(fake.only().released).isTrue();
            assertThat(read(p.getInputStream())).isEqualTo("late reader");
        }
    }

    @Test
    void largeOutputFlowsThroughTheBoundedPipeAndStallsTheGuestUntilRead() throws Exception {
        byte[] data = new byte[1 << 20];
        new Random(42).nextBytes(data);
        CountDownLatch written = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            for (int i = 0; i < data.length; i += 1000) {
                byte[] chunk = java.util.Arrays.copyOfRange(data, i, Math.min(data.length, i + 1000));
                g.out(chunk);
            }
            written.countDown();
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            assertThat(written.await(300, TimeUnit.MILLISECONDS))
                    .as("the guest cannot write 1 MiB into a 64 KiB pipe nobody reads").isFalse();
            assertThat(p.getInputStream().readAllBytes()).isEqualTo(data);
            assertThat(p.waitFor()).isZero();
        }
    }

    @Test
    void destroyForciblyReleasesAGuestBlockedOnAFullPipe() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            byte[] chunk = new byte[4096];
            while (!Thread.currentThread().isInterrupted()) {
                g.out(chunk);
            }
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            Thread.sleep(100);
            p.destroyForcibly();
            assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.Destroyed());
            assertThat(p.getInputStream().readAllBytes()).hasSizeLessThanOrEqualTo(64 * 1024).isNotEmpty();
        }
    }

    // ---- exit values and outcomes ----

    @ParameterizedTest
    @ValueSource(ints = {0, 3, 255})
    void exitCodesArePassedThrough(int code) throws Exception {
        try (ArrowProcess p = arrow(new FakeLauncher(g -> new ArrowOutcome.Exited(code))).start()) {
            assertThat(p.waitFor()).isEqualTo(code);
            assertThat(p.exitValue()).isEqualTo(code);
            assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.Exited(code));
            assertThat(p.isAlive()).isFalse();
        }
    }

    @Test
    void signalMapsTo128PlusItsNumber() throws Exception {
        try (ArrowProcess p = arrow(new FakeLauncher(g -> new ArrowOutcome.Signaled(11))).start()) {
            assertThat(p.waitFor()).isEqualTo(139);
            assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.Signaled(11));
        }
    }

    @Test
    void startFailureInTheGuestIsAnOutcome() throws Exception {
        ArrowOutcome notFound = new ArrowOutcome.StartFailed(ArrowOutcome.StartFailed.Kind.NOT_FOUND, "/app: ENOENT");
        try (ArrowProcess p = arrow(new FakeLauncher(g -> notFound)).start()) {
            assertThat(p.waitFor()).isEqualTo(383);
            assertThat(p.outcome().get()).isEqualTo(notFound);
        }
    }

    @Test
    void aGuestThatDiesWithoutOutcomeIsReportedCrashed() throws Exception {
        try (ArrowProcess p = arrow(new FakeLauncher(g -> {
            throw new IllegalStateException("triple fault");
        })).start()) {
            assertThat(p.waitFor()).isEqualTo(381);
            assertThat(p.outcome().get()).isEqualTo(
                    new ArrowOutcome.GuestCrashed("fake guest threw java.lang.IllegalStateException: triple fault"));
        }
    }

    @Test
    void aBackendFailingItsOutcomeIsReportedCrashed() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            never.await();
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            fake.only().failOutcome(new IllegalStateException("vCPU thread died"));
            assertThat(p.waitFor()).isEqualTo(381);
            assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.GuestCrashed(
                    "the backend failed: java.lang.IllegalStateException: vCPU thread died"));
        }
    }

    @Test
    void exitValueThrowsWhileAliveAndWaitForTimesOut() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.awaitStop();
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            assertThat(p.isAlive()).isTrue();
            assertThatThrownBy(p::exitValue)
                    .isInstanceOf(IllegalThreadStateException.class)
                    .hasMessage("arrow process " + p.id() + " (" + binary + ") has not exited");
            assertThat(p.waitFor(50, TimeUnit.MILLISECONDS)).isFalse();
            assertThat(p.onExit()).isNotDone();
        }
    }

    @Test
    void onExitCompletesWithTheProcessAndCannotBeCompletedByTheUser() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            go.await();
            return new ArrowOutcome.Exited(4);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            CompletableFuture<Process> onExit = p.onExit();
            p.onExit().complete(p);
            p.outcome().complete(new ArrowOutcome.Exited(9));
            assertThat(p.isAlive()).isTrue();
            go.countDown();
            assertThat(onExit.get(5, TimeUnit.SECONDS)).isSameAs(p);
            assertThat(p.exitValue()).isEqualTo(4);
        }
    }

    // ---- destroy, timeout, close ----

    @Test
    void destroyAsksTheGuestToStopGracefully() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.awaitStop();
            g.out("bye\n");
            return new ArrowOutcome.Signaled(15);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            assertThat(p.supportsNormalTermination()).isTrue();
            p.destroy();
            assertThat(p.waitFor()).isEqualTo(143);
            assertThat(read(p.getInputStream())).isEqualTo("bye\n");
            assertThat(fake.only().stopCalls).hasValue(1);
            assertThat(fake.only().killCalls).hasValue(0);
        }
    }

    @Test
    void destroyKillsTheVmAfterTheGracePeriodWhenTheGuestIgnoresIt() throws Exception {
        FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
        try (ArrowProcess p = arrow(fake).gracePeriod(Duration.ofMillis(300)).start()) {
            long t0 = System.nanoTime();
            p.destroy();
            assertThat(p.isAlive()).isTrue();
            assertThat(p.waitFor()).isEqualTo(393);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
            assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.Destroyed());
            assertThat(fake.only().stopCalls).hasValue(1);
            assertThat(fake.only().killCalls).hasValue(1);
        }
    }

    @Test
    void destroyKillsAtOnceWhenTheBackendCannotStopGracefully() throws Exception {
        FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
        fake.gracefulStop = false;
        try (ArrowProcess p = arrow(fake).start()) {
            assertThat(p.supportsNormalTermination()).isFalse();
            p.destroy();
            assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(393);
            assertThat(fake.only().stopCalls).hasValue(0);
            assertThat(fake.only().killCalls).hasValue(1);
        }
    }

    @Test
    void destroyForciblyStopsTheVmAtOnce() throws Exception {
        FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
        try (ArrowProcess p = arrow(fake).start()) {
            assertThat(p.destroyForcibly()).isSameAs(p);
            assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.Destroyed());
            assertThat(fake.only().stopCalls).hasValue(0);
            p.destroy();
            p.destroyForcibly();
            assertThat(fake.only().killCalls).hasValue(1);
        }
    }

    @Test
    void timeoutStopsTheVmAndIsReported() throws Exception {
        FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
        try (ArrowProcess p = arrow(fake).timeout(Duration.ofMillis(200)).start()) {
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.TimedOut(Duration.ofMillis(200)));
            assertThat(p.exitValue()).isEqualTo(380);
        }
    }

    @Test
    void aGuestEndingBeforeTheTimeoutKeepsItsOutcome() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> new ArrowOutcome.Exited(0));
        try (ArrowProcess p = arrow(fake).timeout(Duration.ofMillis(100)).start()) {
            assertThat(p.waitFor()).isZero();
            Thread.sleep(200);
            assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.Exited(0));
            assertThat(fake.only().killCalls).hasValue(0);
        }
    }

    @Test
    void closeStopsARunningGuestReleasesTheBackendAndClosesStreams() throws Exception {
        FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
        ArrowProcess p = arrow(fake).start();
        p.close();
        FakeSession session = fake.only();
        assertThat(session.released).isTrue();
        assertThat(p.isAlive()).isFalse();
        assertThat(p.exitValue()).isEqualTo(393);
        assertThat(p.outcome().get()).isEqualTo(new ArrowOutcome.Destroyed());
        assertThatThrownBy(() -> p.getInputStream().read()).isInstanceOf(IOException.class).hasMessage("Stream closed");
        assertThatThrownBy(() -> p.getOutputStream().write(1)).isInstanceOf(IOException.class);
        int closes = session.closeCalls.get();
        p.close();
        assertThat(session.closeCalls).hasValue(closes);
    }

    @Test
    void theBackendIsReleasedWhenTheGuestEndsEvenWithoutClose() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> new ArrowOutcome.Exited(0));
        ArrowProcess p = arrow(fake).start();
        assertThat(p.waitFor()).isZero();
        assertThat(fake.only().released).isTrue();
        p.close();
    }

    @Test
    void onReleasedCompletesOnceTheBackendReleasedTheClosedArrow() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> g.runForever());
        fake.releaseDelayMillis = 200; // a backend that releases closed arrows on a thread of its own
        ArrowProcess p = arrow(fake).start();
        CompletableFuture<Void> released = p.onReleased();
        assertThat(released).as("not before the close").isNotDone();
        p.close();
        assertThat(p.outcome()).isCompletedWithValue(new ArrowOutcome.Destroyed());
        released.get(10, TimeUnit.SECONDS);
        assertThat(fake.only().released).isTrue();
        assertThat(p.onReleased()).as("asked again after the release").isCompleted();
    }

    // ---- stdin ----

    private static ArrowOutcome echo(FakeSession.Context g) throws IOException {
        g.out(g.stdin().readAllBytes());
        return new ArrowOutcome.Exited(0);
    }

    @Test
    void stdinPipeReachesTheGuestAndClosingItEndsTheInput() throws Exception {
        FakeLauncher fake = new FakeLauncher(ArrowProcessTest::echo);
        try (ArrowProcess p = arrow(fake).start()) {
            OutputStream in = p.getOutputStream();
            in.write("hello\n".getBytes(UTF_8));
            in.write("world\n".getBytes(UTF_8));
            in.close();
            in.close();
            assertThat(read(p.getInputStream())).isEqualTo("hello\nworld\n");
            assertThat(p.waitFor()).isZero();
        }
    }

    @Test
    void stdinFromAFile() throws Exception {
        byte[] content = new byte[200_000];
        new Random(7).nextBytes(content);
        Path file = Files.write(dir.resolve("input"), content);
        try (ArrowProcess p = arrow(new FakeLauncher(ArrowProcessTest::echo)).stdin(Input.file(file)).start()) {
            assertThat(p.getInputStream().readAllBytes()).isEqualTo(content);
            assertThat(p.waitFor()).isZero();
            assertThatThrownBy(() -> p.getOutputStream().write(1))
                    .isInstanceOf(IOException.class)
                    .hasMessage("Stream closed: stdin is not a pipe; start the process with Input.pipe() to write to it");
        }
    }

    @Test
    void emptyStdinEndsAtOnce() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("read " + g.stdin().readAllBytes().length + " bytes");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).stdin(Input.empty()).start()) {
            assertThat(read(p.getInputStream())).isEqualTo("read 0 bytes");
            assertThat(fake.only().stdinClosed).isTrue();
        }
    }

    @Test
    void writingStdinAfterTheGuestEndedFails() throws Exception {
        try (ArrowProcess p = arrow(new FakeLauncher(g -> new ArrowOutcome.Exited(0))).start()) {
            p.waitFor();
            assertThatThrownBy(() -> p.getOutputStream().write(new byte[]{1, 2}))
                    .isInstanceOf(IOException.class)
                    .hasMessage("Stream closed: the guest has ended");
        }
    }

    @Test
    void missingStdinFileFailsStartAndLaunchesNothing() {
        FakeLauncher fake = new FakeLauncher(g -> new ArrowOutcome.Exited(0));
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> arrow(fake).stdin(Input.file(missing)).start())
                .isInstanceOf(IoRedirectException.class)
                .hasMessageStartingWith("cannot open " + missing + " for the guest's stdin: ")
                .hasMessageEndingWith("; give a readable file");
        assertThat(fake.sessions).isEmpty();
    }

    // ---- output redirects ----

    @Test
    void outputToFilesAndAppend() throws Exception {
        Path out = dir.resolve("out.txt");
        Path err = Files.writeString(dir.resolve("err.txt"), "earlier\n");
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("to file\n");
            g.err("appended\n");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).stdout(Output.file(out)).stderr(Output.appendTo(err)).start()) {
            assertThat(p.waitFor()).isZero();
            assertThat(p.getInputStream().read()).isEqualTo(-1);
            assertThat(p.getErrorStream().read()).isEqualTo(-1);
        }
        assertThat(Files.readString(out)).isEqualTo("to file\n");
        assertThat(Files.readString(err)).isEqualTo("earlier\nappended\n");
    }

    @Test
    void unwritableOutputFileFailsStart() {
        Path impossible = dir.resolve("no-such-dir").resolve("out.txt");
        FakeLauncher fake = new FakeLauncher(g -> new ArrowOutcome.Exited(0));
        assertThatThrownBy(() -> arrow(fake).stderr(Output.file(impossible)).start())
                .isInstanceOf(IoRedirectException.class)
                .hasMessageStartingWith("cannot open " + impossible + " for the guest's output: ");
        assertThat(fake.sessions).isEmpty();
    }

    @Test
    void discardedOutputIsDropped() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("x".repeat(200_000));
            g.err("kept");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).stdout(Output.discard()).start()) {
            assertThat(p.waitFor()).isZero();
            assertThat(p.getInputStream().read()).isEqualTo(-1);
            assertThat(read(p.getErrorStream())).isEqualTo("kept");
        }
    }

    @Test
    void inheritedOutputGoesToSystemOutAndErr() throws Exception {
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("to stdout\n");
            g.err("to stderr\n");
            return new ArrowOutcome.Exited(0);
        });
        try {
            System.setOut(new PrintStream(out, true, UTF_8));
            System.setErr(new PrintStream(err, true, UTF_8));
            try (ArrowProcess p = arrow(fake).stdout(Output.inherit()).stderr(Output.inherit()).start()) {
                assertThat(p.waitFor()).isZero();
            }
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        assertThat(out.toString(UTF_8)).isEqualTo("to stdout\n");
        assertThat(err.toString(UTF_8)).isEqualTo("to stderr\n");
    }

    @Test
    void lineConsumersGetEveryLineBeforeWaitForReturns() throws Exception {
        List<String> out = new CopyOnWriteArrayList<>();
        List<String> err = new CopyOnWriteArrayList<>();
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("first\r\nsec");
            g.out("ond\n\nü");
            g.out("ber\nno newline");
            g.err("warn\n");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).stdout(Output.consumer(out::add)).stderr(Output.consumer(err::add)).start()) {
            assertThat(p.waitFor()).isZero();
            assertThat(out).containsExactly("first", "second", "", "über", "no newline");
            assertThat(err).containsExactly("warn");
        }
    }

    @Test
    void aThrowingConsumerLosesTheRestOfItsStreamButNotTheProcess() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("one\ntwo\nthree\n");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).stdout(Output.consumer(line -> {
            seen.add(line);
            if (line.equals("two")) {
                throw new IllegalStateException("consumer bug");
            }
        })).start()) {
            assertThat(p.waitFor()).isZero();
            assertThat(seen).containsExactly("one", "two");
        }
    }

    @Test
    void waitingFromTheProcesssOwnConsumerIsRefused() throws Exception {
        AtomicReference<ArrowProcess> self = new AtomicReference<>();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            started.await();
            g.out("line\n");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).stdout(Output.consumer(line -> {
            try {
                self.get().waitFor();
            } catch (Throwable t) {
                thrown.set(t);
            }
        })).start()) {
            self.set(p);
            started.countDown();
            assertThat(p.waitFor()).isZero();
            assertThat(thrown.get()).isInstanceOf(IllegalStateException.class)
                    .hasMessage("waitFor() called from a line or log consumer of arrow process " + p.id() + " (" + binary
                            + ") would wait forever for its own end; wait from another thread");
        }
    }

    @Test
    void closeDoesNotWaitForABlockedConsumer() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("block\n");
            return new ArrowOutcome.Exited(0);
        });
        ArrowProcess p = arrow(fake).stdout(Output.consumer(line -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        })).start();
        assertThat(p.waitFor(200, TimeUnit.MILLISECONDS)).as("the consumer has not taken its line yet").isFalse();
        p.close();
        assertThat(p.isAlive()).isFalse();
        assertThat(p.exitValue()).isZero();
        release.countDown();
    }

    // ---- launch failures, identity, concurrency ----

    @Test
    void launchFailuresKeepTheirTypeAndReleaseTheRedirects() {
        FakeLauncher fake = new FakeLauncher(g -> new ArrowOutcome.Exited(0));
        KvmPermissionException denied = KvmPermissionException.denied(Path.of("/dev/kvm"), "alice");
        fake.failure = denied;
        assertThatThrownBy(() -> arrow(fake).stdout(Output.consumer(l -> { })).start()).isSameAs(denied);
        assertThat(denied).hasMessage("permission denied opening /dev/kvm (EACCES) as user alice; add the user to group"
                + " kvm (sudo usermod -aG kvm alice) and log in again");
        awaitNoLineThreads();
    }

    private static void awaitNoLineThreads() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().endsWith("-lines"))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("a line delivery thread is still running");
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void unexpectedBackendErrorsBecomeVmmExceptions() {
        FakeLauncher fake = new FakeLauncher(g -> new ArrowOutcome.Exited(0));
        fake.failure = new IllegalStateException("boom");
        assertThatThrownBy(() -> arrow(fake).start())
                .isInstanceOf(VmmException.class)
                .hasMessage("the backend dev.arrow.FakeLauncher failed to start the VM: java.lang.IllegalStateException: boom")
                .hasCauseReference(fake.failure);
    }

    @Test
    void aSessionThatFailsAfterLaunchIsReleased() {
        FakeSession[] made = new FakeSession[1];
        dev.arrow.spi.ArrowLauncher broken = (spec, out, err) -> {
            FakeSession s = new FakeSession(spec, out, err, FakeSession.Context::runForever, true) {
                @Override
                public OutputStream stdin() {
                    throw new IllegalStateException("no console");
                }
            };
            made[0] = s;
            s.start();
            return s;
        };
        assertThatThrownBy(() -> Arrow.of(binary).launcher(broken).start())
                .isInstanceOf(VmmException.class)
                .hasMessageStartingWith("wiring up the VM started by ")
                .hasMessageEndingWith(" failed: java.lang.IllegalStateException: no console");
        assertThat(made[0].released).isTrue();
    }

    @Test
    void pidIsUnsupportedAndIdsAreUnique() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> new ArrowOutcome.Exited(0));
        try (ArrowProcess a = arrow(fake).start(); ArrowProcess b = arrow(fake).start()) {
            assertThatThrownBy(a::pid).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessage("an Arrow process runs in a microVM inside this JVM and has no host process id or"
                            + " handle; use id() to tell processes apart");
            assertThatThrownBy(a::toHandle).isInstanceOf(UnsupportedOperationException.class);
            assertThat(a.id()).isNotEqualTo(b.id());
            assertThat(a.spec().binary()).isEqualTo(binary);
        }
    }

    @Test
    void manyProcessesRunConcurrentlyWithoutMixingTheirStreams() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            String me = g.spec().args().get(0);
            for (int i = 0; i < 50; i++) {
                g.out(me + " " + i + "\n");
                g.err(me + "\n");
            }
            return new ArrowOutcome.Exited(Integer.parseInt(me) % 256);
        });
        int count = 40;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int n = 0; n < count; n++) {
                String me = Integer.toString(n);
                results.add(pool.submit(() -> {
                    try (ArrowProcess p = arrow(fake).args(me).start()) {
                        String out = read(p.getInputStream());
                        String err = read(p.getErrorStream());
                        int code = p.waitFor();
                        StringBuilder expected = new StringBuilder();
                        for (int i = 0; i < 50; i++) {
                            expected.append(me).append(' ').append(i).append('\n');
                        }
                        assertThat(out).isEqualTo(expected.toString());
                        assertThat(err).isEqualTo((me + "\n").repeat(50));
                        assertThat(code).isEqualTo(Integer.parseInt(me));
                        return me;
                    }
                }));
            }
            for (Future<String> r : results) {
                r.get(20, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(fake.sessions).hasSize(count).allMatch(s -> s.released);
    }
}
