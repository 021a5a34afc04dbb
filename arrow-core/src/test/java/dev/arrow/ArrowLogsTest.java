package dev.arrow;

import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.internal.OutputTap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.arrow.OutputFrame.Stream.STDERR;
import static dev.arrow.OutputFrame.Stream.STDOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Log consumers, merged stderr, {@link ArrowProcess#logs()}, host ports and signals, on a fake backend (tier 1). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ArrowLogsTest {

    @TempDir
    Path dir;
    private Path binary;

    @BeforeEach
    void createBinary() throws IOException {
        binary = Files.write(dir.resolve("app"), new byte[]{0x7f, 'E', 'L', 'F'});
    }

    private Arrow arrow(FakeLauncher launcher) {
        return Arrow.of(binary).launcher(launcher);
    }

    private static String read(java.io.InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void everyConsumerGetsEveryTaggedLineAndThePipeStillGetsTheBytes() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("one\r\ntw");
            g.err("warn\n");
            g.out("o\nlast without newline");
            return new ArrowOutcome.Exited(0);
        });
        List<OutputFrame> first = new CopyOnWriteArrayList<>();
        List<OutputFrame> second = new CopyOnWriteArrayList<>();
        try (ArrowProcess p = arrow(fake).logConsumer(first::add).logConsumer(second::add).start()) {
            assertThat(read(p.getInputStream())).isEqualTo("one\r\ntwo\nlast without newline");
            assertThat(read(p.getErrorStream())).isEqualTo("warn\n");
            assertThat(p.waitFor()).isZero();
            assertThat(first).as("delivered before waitFor() returned").containsExactly(
                    new OutputFrame(STDOUT, "one"), new OutputFrame(STDERR, "warn"), new OutputFrame(STDOUT, "two"),
                    new OutputFrame(STDOUT, "last without newline"));
            assertThat(second).isEqualTo(first);
        }
    }

    @Test
    void aConsumerThatThrowsStopsOnlyItself() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("a\nb\nc\n");
            return new ArrowOutcome.Exited(0);
        });
        List<String> good = new CopyOnWriteArrayList<>();
        try (ArrowProcess p = arrow(fake).stdout(Output.discard())
                .logConsumer(f -> { throw new IllegalStateException("broken consumer"); })
                .logConsumer(f -> good.add(f.line())).start()) {
            p.waitFor();
            assertThat(good).containsExactly("a", "b", "c");
        }
    }

    @Test
    void longLinesComeInBoundedPieces() throws Exception {
        byte[] line = "x".repeat(OutputFrame.MAX_LINE_BYTES * 2 + 5).getBytes(StandardCharsets.UTF_8);
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out(line);
            return new ArrowOutcome.Exited(0);
        });
        List<OutputFrame> frames = new CopyOnWriteArrayList<>();
        try (ArrowProcess p = arrow(fake).stdout(Output.discard()).logConsumer(frames::add).start()) {
            p.waitFor();
            assertThat(frames).extracting(f -> f.line().length())
                    .containsExactly(OutputFrame.MAX_LINE_BYTES, OutputFrame.MAX_LINE_BYTES, 5);
        }
    }

    @Test
    void redirectErrorStreamMergesStderrIntoStdout() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            assertThat(g.spec().redirectErrorStream()).as("the guest is told to give the program one channel").isTrue();
            g.out("out\n");
            g.err("err\n");
            return new ArrowOutcome.Exited(0);
        });
        List<OutputFrame> frames = new CopyOnWriteArrayList<>();
        try (ArrowProcess p = arrow(fake).redirectErrorStream(true).stderr(Output.file(dir.resolve("ignored")))
                .logConsumer(frames::add).start()) {
            assertThat(read(p.getInputStream())).isEqualTo("out\nerr\n");
            assertThat(read(p.getErrorStream())).isEmpty();
            p.waitFor();
            assertThat(frames).containsExactly(new OutputFrame(STDOUT, "out"), new OutputFrame(STDOUT, "err"));
        }
        assertThat(dir.resolve("ignored")).doesNotExist();
    }

    @Test
    void logsKeepTheLastLinesOfEachStreamWithinTheirBounds() throws Exception {
        int lines = OutputTap.TAIL_LINES + 500;
        FakeLauncher fake = new FakeLauncher(g -> {
            g.err("the one error\n");
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < lines; i++) {
                out.append("line ").append(i).append('\n');
            }
            g.out(out.toString());
            g.out(("y".repeat(1000) + "\n").repeat(100));
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = arrow(fake).stdout(Output.discard()).start()) {
            p.waitFor();
            List<OutputFrame> logs = p.logs();
            assertThat(logs.get(0)).as("stdout's chatter does not push out stderr").isEqualTo(new OutputFrame(STDERR, "the one error"));
            List<OutputFrame> stdout = logs.stream().filter(f -> f.stream() == STDOUT).toList();
            assertThat(stdout.stream().mapToInt(f -> f.line().length()).sum()).isLessThanOrEqualTo(OutputTap.TAIL_BYTES);
            assertThat(stdout.size()).isLessThanOrEqualTo(OutputTap.TAIL_LINES);
            assertThat(stdout.get(stdout.size() - 1).line()).isEqualTo("y".repeat(1000));
            p.close();
            assertThat(p.logs()).as("kept after close").isEqualTo(logs);
        }
    }

    @Test
    void slf4jConsumerTakesFramesOfBothStreams() {
        org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger("test.arrow");
        Slf4jLogConsumer consumer = new Slf4jLogConsumer(logger).withTag("httpd");
        consumer.accept(new OutputFrame(STDOUT, "hello"));
        consumer.accept(new OutputFrame(STDERR, "oops"));
        assertThatThrownBy(() -> new Slf4jLogConsumer(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void hostPortIsTheOneTheBackendChoseOrTheSpecs() throws Exception {
        FakeLauncher fake = new FakeLauncher(FakeSession.Context::runForever);
        fake.hostPorts = Map.of(PortForward.tcp(0, 80), 41234, PortForward.udp(0, 53), 41235);
        try (ArrowProcess p = arrow(fake).net(Net.user().forward(0, 80).forward(18443, 443).forwardUdp(0, 53)).start()) {
            assertThat(p.hostPort(80)).isEqualTo(41234);
            assertThat(p.hostPort(443)).as("not reported: the spec's own").isEqualTo(18443);
            assertThat(p.hostUdpPort(53)).isEqualTo(41235);
            assertThatThrownBy(() -> p.hostPort(53)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("guest TCP port 53 is not forwarded");
            assertThatThrownBy(() -> p.hostUdpPort(80)).hasMessageContaining("forwardUdp(0, 80)");
        }
        FakeLauncher silent = new FakeLauncher(FakeSession.Context::runForever);
        try (ArrowProcess p = arrow(silent).net(Net.user().forward(0, 80)).start()) {
            assertThatThrownBy(() -> p.hostPort(80)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("did not report");
        }
    }

    @Test
    void signalsReachTheSessionWhileTheProgramRuns() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.awaitStop();
            return new ArrowOutcome.Signaled(15);
        });
        try (ArrowProcess p = arrow(fake).start()) {
            p.signal(10);
            p.signal(1);
            assertThatThrownBy(() -> p.signal(65)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> p.signal(0)).isInstanceOf(IllegalArgumentException.class);
            assertThat(fake.only().signals).containsExactly(10, 1);
            p.destroy();
            assertThat(p.waitFor()).isEqualTo(143);
            p.signal(2);
            assertThat(fake.only().signals).as("none after the end").containsExactly(10, 1);
        }
    }
}
