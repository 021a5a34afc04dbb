package dev.arrow;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Arrow#waitingFor(WaitStrategy)} against a fake backend (tier 1). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class StartupWaitTest {

    @TempDir
    Path dir;
    private Path binary;

    @BeforeEach
    void createBinary() throws IOException {
        binary = Files.write(dir.resolve("app"), new byte[]{0x7f, 'E', 'L', 'F'});
    }

    private Arrow arrow(FakeLauncher launcher) {
        return Arrow.of(binary).launcher(launcher).stdout(Output.discard()).stderr(Output.discard());
    }

    @Test
    void startReturnsOnceTheLogMessageWasPrintedTheGivenNumberOfTimes() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("starting\nready 1\n");
            Thread.sleep(200);
            g.err("ready 2\n");
            release.await();
            return new ArrowOutcome.Exited(0);
        });
        long t0 = System.nanoTime();
        try (ArrowProcess p = arrow(fake).waitingFor(Wait.forLogMessage("ready \\d", 2)).start()) {
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
            assertThat(p.isAlive()).isTrue();
            release.countDown();
        }
    }

    @Test
    void aTimeoutClosesTheArrowAndThrowsWithItsLastOutput() {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("booting\n");
            g.err("cannot bind :80\n");
            return g.runForever();
        });
        assertThatThrownBy(() -> arrow(fake)
                .waitingFor(Wait.forLogMessage("listening", 1).withStartupTimeout(Duration.ofMillis(300))).start())
                .isInstanceOfSatisfying(NotReadyException.class, e -> {
                    assertThat(e.getMessage()).contains("was not ready after", "log message /listening/ (seen 0 of 1)",
                            "STDOUT: booting", "STDERR: cannot bind :80");
                    assertThat(e.output()).containsExactly(new OutputFrame(OutputFrame.Stream.STDOUT, "booting"),
                            new OutputFrame(OutputFrame.Stream.STDERR, "cannot bind :80"));
                    assertThat(e.outcome()).isEmpty();
                    assertThat(e.waited()).isGreaterThanOrEqualTo(Duration.ofMillis(300));
                });
        assertThat(fake.only().released).as("the arrow was closed").isTrue();
    }

    @Test
    void aStartThatFailsItsWaitReturnsOnlyOnceTheBackendReleasedTheArrow() {
        FakeLauncher fake = new FakeLauncher(g -> g.runForever());
        fake.releaseDelayMillis = 300; // a backend that releases closed arrows on a thread of its own
        assertThatThrownBy(() -> arrow(fake)
                .waitingFor(Wait.forLogMessage("listening", 1).withStartupTimeout(Duration.ofMillis(100))).start())
                .isInstanceOf(NotReadyException.class);
        assertThat(fake.only().released).as("released before start() threw").isTrue();
    }

    @Test
    void anArrowThatEndsBeforeItIsReadyFailsAtOnceWithItsOutcome() {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.err("config missing\n");
            return new ArrowOutcome.Exited(2);
        });
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> arrow(fake).waitingFor(Wait.forLogMessage("listening", 1)).start())
                .isInstanceOfSatisfying(NotReadyException.class, e -> {
                    assertThat(e.getMessage()).contains("ended (Exited[code=2], exit value 2) before it was ready",
                            "STDERR: config missing");
                    assertThat(e.outcome()).contains(new ArrowOutcome.Exited(2));
                });
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("no wait for the timeout").isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void forExitIsReadyWhenTheProgramEnded() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            Thread.sleep(100);
            g.out("done\n");
            return new ArrowOutcome.Exited(3);
        });
        try (ArrowProcess p = arrow(fake).waitingFor(Wait.forExit()).start()) {
            assertThat(p.isAlive()).isFalse();
            assertThat(p.exitValue()).isEqualTo(3);
            assertThat(p.logs()).containsExactly(new OutputFrame(OutputFrame.Stream.STDOUT, "done"));
        }
    }

    @Test
    void forPortWaitsUntilTheForwardedPortAcceptsAndStaysOpen() throws Exception {
        int port = freePort();
        CountDownLatch release = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            Thread.sleep(500); // refused until the "program" listens
            try (ServerSocket server = new ServerSocket(port, 10, InetAddress.getLoopbackAddress())) {
                Thread acceptor = new Thread(() -> acceptAndHold(server));
                acceptor.setDaemon(true);
                acceptor.start();
                release.await();
            }
            return new ArrowOutcome.Exited(0);
        });
        fake.hostPorts = Map.of(PortForward.tcp(0, 80), port);
        long t0 = System.nanoTime();
        try (ArrowProcess p = arrow(fake).net(Net.user().forward(0, 80)).waitingFor(Wait.forPort(80)).start()) {
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
            assertThat(p.hostPort(80)).isEqualTo(port);
            release.countDown();
        }
    }

    @Test
    void inAVmThatBootedAKernelNetworkChecksBeginOnceTheProgramWasExecuted() throws Exception {
        try (ServerSocket listening = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> acceptAndHold(listening));
            acceptor.setDaemon(true);
            acceptor.start();
            FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
            fake.hostPorts = Map.of(PortForward.tcp(0, 80), listening.getLocalPort());
            long[] appExecuted = new long[1];
            ArrowLauncher booting = new ArrowLauncher() {
                @Override
                public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
                    throw new AssertionError("arrow-core launches with boot events");
                }

                @Override
                public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events) {
                    events.host(BootPhase.KERNEL_LOADED, System.nanoTime());
                    Thread init = new Thread(() -> {
                        try {
                            Thread.sleep(400);
                        } catch (InterruptedException e) {
                            return;
                        }
                        appExecuted[0] = System.nanoTime();
                        events.guest(BootPhase.APP_EXECUTED, 1, appExecuted[0]);
                    });
                    init.setDaemon(true);
                    init.start();
                    return fake.launch(spec, stdout, stderr);
                }
            };
            try (ArrowProcess p = arrow(fake).launcher(booting).net(Net.user().forward(0, 80))
                    .waitingFor(Wait.forPort(80)).start()) {
                assertThat(appExecuted[0]).as("the program was executed before the port was probed").isNotZero();
                assertThat(p.timeline().reached(BootPhase.APP_EXECUTED)).isTrue();
            }
        }
    }

    @Test
    void forPortIsNotFooledByAConnectionTheForwardAcceptsAndThenCloses() throws Exception {
        try (ServerSocket passtLike = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Thread closer = new Thread(() -> {
                while (true) {
                    try (Socket s = passtLike.accept()) {
                        s.setSoLinger(true, 0); // reset, as passt does when the guest refuses
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            closer.setDaemon(true);
            closer.start();
            FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
            fake.hostPorts = Map.of(PortForward.tcp(0, 80), passtLike.getLocalPort());
            assertThatThrownBy(() -> arrow(fake).net(Net.user().forward(0, 80))
                    .waitingFor(Wait.forPort(80).withStartupTimeout(Duration.ofSeconds(1))).start())
                    .isInstanceOf(NotReadyException.class)
                    .hasMessageContaining("guest TCP port 80 (host 127.0.0.1:" + passtLike.getLocalPort() + ")");
        }
    }

    @Test
    void forHttpWaitsForTheStatusAndTheBody() throws Exception {
        int port = freePort();
        CountDownLatch release = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            try (ServerSocket server = new ServerSocket(port, 10, InetAddress.getLoopbackAddress())) {
                Thread http = new Thread(() -> serveHttp(server, new String[]{"503", "200 warming up", "200 ok"}));
                http.setDaemon(true);
                http.start();
                release.await();
            }
            return new ArrowOutcome.Exited(0);
        });
        fake.hostPorts = Map.of(PortForward.tcp(0, 8080), port);
        try (ArrowProcess p = arrow(fake).net(Net.user().forward(0, 8080))
                .waitingFor(Wait.forHttp("/health").forResponsePredicate(body -> body.equals("ok"))).start()) {
            assertThat(p.isAlive()).isTrue();
            release.countDown();
        }
    }

    @Test
    void forHttpTimesOutNamingTheLastStatus() throws Exception {
        int port = freePort();
        FakeLauncher fake = new FakeLauncher(g -> {
            try (ServerSocket server = new ServerSocket(port, 10, InetAddress.getLoopbackAddress())) {
                Thread http = new Thread(() -> serveHttp(server, new String[]{"404"}));
                http.setDaemon(true);
                http.start();
                return g.runForever();
            }
        });
        fake.hostPorts = Map.of(PortForward.tcp(0, 80), port);
        assertThatThrownBy(() -> arrow(fake).net(Net.user().forward(0, 80))
                .waitingFor(Wait.forHttp("/").withStartupTimeout(Duration.ofMillis(800))).start())
                .isInstanceOf(NotReadyException.class)
                .hasMessageContaining("HTTP GET / answering with status 200").hasMessageContaining("last answer: status 404");
    }

    @Test
    void allOfWaitsForEachWithinItsOwnTimeout() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("a\n");
            Thread.sleep(100);
            g.out("b\n");
            release.await();
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).waitingFor(Wait.allOf(Wait.forLogMessage("^b$", 1), Wait.forLogMessage("^a$", 1)))
                .start()) {
            assertThat(p.logs()).extracting(OutputFrame::line).containsExactly("a", "b");
            release.countDown();
        }
        FakeLauncher never = new FakeLauncher(FakeSession.Context::runForever);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> arrow(never).waitingFor(Wait.allOf(Wait.forLogMessage("x", 1), Wait.forLogMessage("y", 1))
                .withStartupTimeout(Duration.ofMillis(300))).start())
                .isInstanceOf(NotReadyException.class).hasMessageContaining("/x/");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void aCheckOfAPortThatIsNotForwardedSaysHowToForwardIt() {
        FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
        assertThatThrownBy(() -> arrow(fake).net(Net.user().forward(0, 80)).waitingFor(Wait.forPort(443)).start())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("guest TCP port 443 is not forwarded").hasMessageContaining("forward(0, 443)");
        assertThat(fake.only().released).isTrue();
    }

    @Test
    void logPatternsSeeEachLineWithItsNewlineAsTestcontainersDoes() {
        Wait.LogMessage testcontainersStyle = Wait.forLogMessage(".*started.*\\n", 1);
        assertThat(testcontainersStyle.matches("server started on 80")).isTrue();
        assertThat(Wait.forLogMessage("^ready$", 1).matches("ready")).isTrue();
        assertThat(Wait.forLogMessage("^ready$", 1).matches("not ready yet")).isFalse();
    }

    @Test
    void strategiesRejectNonsense() {
        assertThatThrownBy(() -> Wait.forLogMessage("x", 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Wait.forPort(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Wait.forHttp("health")).hasMessageContaining("\"/health\"");
        assertThatThrownBy(() -> Wait.forExit().withStartupTimeout(Duration.ZERO)).hasMessageContaining("not positive");
        assertThatThrownBy(Wait::allOf).isInstanceOf(IllegalArgumentException.class);
        assertThat(Wait.allOf(Wait.forExit().withStartupTimeout(Duration.ofSeconds(5)),
                Wait.forPort(1).withStartupTimeout(Duration.ofSeconds(9))).startupTimeout()).isEqualTo(Duration.ofSeconds(9));
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void acceptAndHold(ServerSocket server) {
        try {
            while (true) {
                Socket s = server.accept(); // held open until the server closes
                s.getInputStream();
            }
        } catch (IOException e) {
            // closed
        }
    }

    /** Answers each request with the next of {@code answers} ("status body"), the last one from then on. */
    private static void serveHttp(ServerSocket server, String[] answers) {
        int n = 0;
        while (true) {
            try (Socket s = server.accept()) {
                InputStream in = s.getInputStream();
                StringBuilder request = new StringBuilder();
                while (!request.toString().endsWith("\r\n\r\n")) {
                    int b = in.read();
                    if (b < 0) {
                        break;
                    }
                    request.append((char) b);
                }
                String[] answer = answers[Math.min(n++, answers.length - 1)].split(" ", 2);
                byte[] body = (answer.length > 1 ? answer[1] : "").getBytes(StandardCharsets.UTF_8);
                OutputStream out = s.getOutputStream();
                out.write(("HTTP/1.1 " + answer[0] + " X\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            } catch (IOException e) {
                return;
            }
        }
    }
}
