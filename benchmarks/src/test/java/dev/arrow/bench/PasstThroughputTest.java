package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.testing.FreePort;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The harness's transfers against tcp-bench run as a plain host process (it is a static Linux
 * program; no VM, no passt: its own CPU time stands in for passt's).
 */
class PasstThroughputTest {
    private Process tcpBench;
    private PasstThroughput bench;
    private ScheduledExecutorService watchdog;

    @BeforeEach
    void startTcpBench() throws Exception {
        int port = FreePort.onLoopback();
        tcpBench = new ProcessBuilder(NativePrograms.require("tcp-bench").toString(), Integer.toString(port))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String line = new BufferedReader(new InputStreamReader(tcpBench.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        assertThat(line).isEqualTo("listening " + port);
        watchdog = Executors.newSingleThreadScheduledExecutor();
        bench = new PasstThroughput(port, tcpBench.pid(), ProcessCpu.ticksPerSecond(), Duration.ofSeconds(20), watchdog,
                Map::of);
    }

    @AfterEach
    void stop() throws Exception {
        watchdog.shutdownNow();
        tcpBench.destroyForcibly();
        tcpBench.waitFor(10, TimeUnit.SECONDS);
    }

    @Test
    void movesTheRequestedBytesBothWaysAndReadsTheCpuTimeOfBothProcesses() throws Exception {
        long bytes = 32L << 20;
        Map<String, Object> in = bench.transfer(PasstThroughput.Direction.HOST_TO_GUEST, bytes, 0);
        Map<String, Object> out = bench.transfer(PasstThroughput.Direction.GUEST_TO_HOST, bytes, 0);
        for (Map<String, Object> t : new Map[] {in, out}) {
            assertThat(t).containsEntry("bytes", bytes).containsEntry("complete", true).containsEntry("warmup", false);
            assertThat((Long) t.get("nanos")).isPositive();
            assertThat((Long) t.get("timedBytes")).isBetween(1L, bytes);
            assertThat((Long) t.get("clientThreadCpuNanos")).isPositive();
            assertThat(t).containsKeys("jvmCpu", "passtCpu", "vmExits");
            assertThat((Map<?, ?>) t.get("jvmThreadCpuNanos")).as("this JVM's threads that used CPU").isNotEmpty();
        }
        assertThat(in).containsEntry("direction", "host-to-guest");
        assertThat(out).containsEntry("direction", "guest-to-host");
        bench.quit();
        assertThat(tcpBench.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(tcpBench.exitValue()).isZero();
    }

    @Test
    void exitsAreGivenPerMebibyte() {
        assertThat(PasstThroughput.perMib(Map.of("mmio-read", 30L), 2 << 20)).isEqualTo("{mmio-read=15.0}");
        assertThat(PasstThroughput.perMib(Map.of(), 0)).isEqualTo("{}");
    }

    @Test
    void aWarmUpIsMarkedAsOne() throws Exception {
        Map<String, Object> t = bench.transfer(PasstThroughput.Direction.GUEST_TO_HOST, 1 << 20, -1);
        assertThat(t).containsEntry("warmup", true).containsEntry("round", -1);
    }
}
