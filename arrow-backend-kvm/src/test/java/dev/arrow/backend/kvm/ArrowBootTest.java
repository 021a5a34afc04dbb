package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.Input;
import dev.arrow.NotReadyException;
import dev.arrow.Output;
import dev.arrow.OutputFrame;
import dev.arrow.Wait;
import dev.arrow.testing.BootTest;
import dev.arrow.testing.FreePort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.arrow.config.Net;

import static dev.arrow.backend.kvm.BootTestSupport.guestAppArrow;
import static dev.arrow.backend.kvm.BootTestSupport.stdout;
import static dev.arrow.backend.kvm.BootTestSupport.text;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Tier 4: full Linux boots through Arrow's own VMM (the guest kernel, our init and a static test
 * program), driven through the public API. Runs where the host KVM can boot Linux, i.e. in the lab.
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ArrowBootTest {
    @Test
    void readmeExampleRunsAsWritten() throws Exception {
        int port = FreePort.onLoopback(); // README says 8080; any free host port shows the same
        try (ArrowProcess p = Arrow.of(BootTestSupport.guestApp()).args("hello", "a").env("K", "v")
                .memory(64, MiB).cpus(1).net(Net.user().forward(port, 80)).start()) {
            String out = stdout(p);
            int code = p.waitFor();
            assertThat(out).isEqualTo("hello a\n");
            assertThat(code).isZero();
            assertThat(p.outcome().join()).isEqualTo(new ArrowOutcome.Exited(0));
        }
    }

    @Test
    void environmentReachesTheApp() throws Exception {
        try (ArrowProcess p = guestAppArrow("env", "GREETING").env("GREETING", "hi there").start()) {
            assertThat(stdout(p)).isEqualTo("GREETING=hi there\n");
            assertThat(p.waitFor()).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3, 255})
    void exitCodesComeBack(int code) throws Exception {
        try (ArrowProcess p = guestAppArrow("exit", Integer.toString(code)).start()) {
            assertThat(p.waitFor()).isEqualTo(code);
            assertThat(p.exitValue()).isEqualTo(code);
            assertThat(p.outcome().join()).isEqualTo(new ArrowOutcome.Exited(code));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {9, 11, 15})
    void deathBySignalComesBack(int signal) throws Exception {
        try (ArrowProcess p = guestAppArrow("signal", Integer.toString(signal)).start()) {
            assertThat(p.waitFor()).isEqualTo(128 + signal);
            assertThat(p.outcome().join()).isEqualTo(new ArrowOutcome.Signaled(signal));
        }
    }

    @Test
    void stdinReachesTheApp() throws Exception {
        try (ArrowProcess p = guestAppArrow("echo-line").stdin(Input.pipe()).start()) {
            p.getOutputStream().write("ping from the host\n".getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush();
            assertThat(stdout(p)).isEqualTo("got: ping from the host\n");
            assertThat(p.waitFor()).isZero();
        }
    }

    @Test
    void destroyEndsALongSleep() throws Exception {
        try (ArrowProcess p = guestAppArrow("sleep", "1000").start()) {
            assertThat(p.waitFor(2, TimeUnit.SECONDS)).isFalse();
            assertThat(p.isAlive()).isTrue();
            p.destroy();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("ended after destroy()").isTrue();
            assertThat(p.isAlive()).isFalse();
            assertThat(p.outcome().join()).as("destroy() delivers SIGTERM to the app").isEqualTo(new ArrowOutcome.Signaled(15));
            assertThat(p.exitValue()).isEqualTo(143);
        }
    }

    @Test
    void destroyForciblyStopsTheVmAtOnce() throws Exception {
        try (ArrowProcess p = guestAppArrow("sleep", "1000").start()) {
            assertThat(p.waitFor(2, TimeUnit.SECONDS)).isFalse();
            p.destroyForcibly();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("ended after destroyForcibly()").isTrue();
            assertThat(p.outcome().join()).isInstanceOf(ArrowOutcome.Destroyed.class);
            assertThat(p.exitValue()).isEqualTo(393);
        }
    }

    @Test
    void appThatExitsBeforeItsChildEndsTheArrow() throws Exception {
        try (ArrowProcess p = guestAppArrow("fork").start()) {
            assertThat(stdout(p)).isEqualTo("parent forked\n");
            assertThat(p.waitFor()).isEqualTo(5);
        }
    }

    @Test
    void twoVcpusBothComeUp() throws Exception {
        try (ArrowProcess p = guestAppArrow("cpus").cpus(2).start()) {
            assertThat(stdout(p)).isEqualTo("cpus: 2\n");
            assertThat(p.waitFor()).isZero();
        }
    }

    @Test
    void twentyArrowsStartedConcurrentlyAllFinish() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(20);
        Map<String, ArrowProcess> started = new ConcurrentHashMap<>();
        try {
            List<Callable<String>> runs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String tag = "arrow-" + i;
                runs.add(() -> {
                    try (ArrowProcess p = guestAppArrow("hello", tag).start()) {
                        started.put(tag, p);
                        String out = stdout(p);
                        int code = p.waitFor();
                        // an unexpected end says how it ended (e.g. GuestCrashed with its reason)
                        return code + ":" + out + (code == 0 ? "" : " (" + p.outcome().join() + ")");
                    }
                });
            }
            // Bounded, so that arrows that never finish are named with where each one got to.
            List<Future<String>> results = pool.invokeAll(runs, 6, TimeUnit.MINUTES);
            StringBuilder unfinished = new StringBuilder();
            for (int i = 0; i < 20; i++) {
                if (results.get(i).isCancelled()) {
                    ArrowProcess p = started.get("arrow-" + i);
                    unfinished.append("\narrow-").append(i).append(": ")
                            .append(p == null ? "start() did not return" : "alive=" + p.isAlive() + " " + p.timeline());
                }
            }
            assertThat(unfinished.toString()).as("arrows that did not finish within 6 minutes").isEmpty();
            for (int i = 0; i < 20; i++) {
                assertThat(results.get(i).get()).isEqualTo("0:hello arrow-" + i + "\n");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void startAndCloseCyclesLeaveNoFdsThreadsOrMappingsBehind() throws Exception {
        for (int i = 0; i < 5; i++) { // warm up class loading, JIT, thread pools
            try (ArrowProcess p = guestAppArrow("hello").start()) {
                p.waitFor();
            }
        }
        Thread.sleep(500);
        BootTestSupport.awaitNoBlankVms();
        long fds = BootTestSupport.countFds();
        int threads = ManagementFactory.getThreadMXBean().getThreadCount();
        long mappings = BootTestSupport.countMappings();

        for (int i = 0; i < 200; i++) {
            ArrowProcess p = guestAppArrow("sleep", "1000").start();
            p.close();
            assertThat(p.isAlive()).isFalse();
        }
        for (int i = 0; i < 5; i++) { // and a few that ran to the end
            try (ArrowProcess p = guestAppArrow("hello").start()) {
                assertThat(p.waitFor()).isZero();
            }
        }
        Thread.sleep(500);
        BootTestSupport.awaitNoBlankVms();
        assertThat(BootTestSupport.countFds()).as("open fds").isLessThanOrEqualTo(fds);
        assertThat(BootTestSupport.liveThreadsSettledTo(threads)).as("live threads").isLessThanOrEqualTo(threads);
        // The JVM itself may map a few more pages (JIT code cache, GC); one leaked guest RAM mapping
        // per cycle would add 200.
        assertThat(BootTestSupport.countMappings()).as("mappings").isLessThanOrEqualTo(mappings + 20);
    }



    @Test
    void aLogMessageWaitReturnsOnceTheProgramPrintedItAndConsumersSeeBothStreams() throws Exception {
        List<OutputFrame> frames = new CopyOnWriteArrayList<>();
        try (ArrowProcess p = guestAppArrow("term-exit", "4").logConsumer(frames::add).stdout(Output.discard())
                .waitingFor(Wait.forLogMessage("^waiting$", 1).withStartupTimeout(Duration.ofSeconds(60))).start()) {
            assertThat(p.isAlive()).isTrue();
            assertThat(p.logs()).contains(new OutputFrame(OutputFrame.Stream.STDOUT, "waiting"));
            p.destroy();
            assertThat(p.waitFor()).isEqualTo(4);
            assertThat(frames).contains(new OutputFrame(OutputFrame.Stream.STDOUT, "waiting"),
                    new OutputFrame(OutputFrame.Stream.STDOUT, "terminating"));
        }
        try (ArrowProcess p = guestAppArrow("stderr").redirectErrorStream(true).waitingFor(Wait.forExit()).start()) {
            assertThat(stdout(p)).isEqualTo("to-stdout\nto-stderr\n");
            assertThat(p.logs()).extracting(OutputFrame::stream).containsOnly(OutputFrame.Stream.STDOUT);
        }
    }

    @Test
    void withRedirectErrorStreamLinesWrittenInTurnToStdoutAndStderrArriveInTheirOrder() throws Exception {
        int lines = 400;
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < lines; i++) expected.append(i % 2 == 0 ? "out " : "err ").append(i).append('\n');
        try (ArrowProcess p = guestAppArrow("alternate", Integer.toString(lines)).redirectErrorStream(true).start()) {
            String merged = stdout(p);
            assertThat(p.waitFor()).isZero();
            assertThat(merged).isEqualTo(expected.toString());
            assertThat(text(p.getErrorStream())).isEmpty();
        }
    }

    @Test
    void aSignalSentThroughInitReachesTheProgram() throws Exception {
        try (ArrowProcess p = guestAppArrow("sleep", "1000").start()) {
            assertThat(p.waitFor(2, TimeUnit.SECONDS)).isFalse();
            p.signal(10); // SIGUSR1: its default action ends the program
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("ended by SIGUSR1").isTrue();
            assertThat(p.outcome().join()).isEqualTo(new ArrowOutcome.Signaled(10));
            assertThat(p.exitValue()).isEqualTo(138);
        }
    }

    @Test
    void aStartupTimeoutClosesTheArrowAndCarriesItsOutput() {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> guestAppArrow("term-exit", "0").net(Net.user().forward(0, 80))
                .waitingFor(Wait.forHttp("/").withStartupTimeout(Duration.ofSeconds(20))).start())
                .isInstanceOfSatisfying(NotReadyException.class, e -> {
                    assertThat(e.getMessage()).contains("was not ready after", "HTTP GET / answering with status 200",
                            "STDOUT: waiting");
                    assertThat(e.output()).contains(new OutputFrame(OutputFrame.Stream.STDOUT, "waiting"));
                    assertThat(e.outcome()).as("still running when the timeout elapsed").isEmpty();
                });
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(60));
        assertThat(ProcessHandle.current().children().filter(h -> h.info().command().orElse("").contains("passt")))
                .as("the closed arrow's passt is gone").isEmpty();
    }
}
