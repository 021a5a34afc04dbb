package dev.arrow.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.BootPhase;
import dev.arrow.BootTimeline;
import dev.arrow.spi.OutputSink;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootRecorderTest {
    @TempDir
    Path dir;

    @Test
    void beginRecordsStartAtZero() {
        BootRecorder r = BootRecorder.begin(7);
        assertThat(r.snapshot().entries()).extracting(BootTimeline.Entry::phase).containsExactly(BootPhase.START);
        assertThat(r.snapshot().sinceStart(BootPhase.START)).contains(Duration.ZERO);
    }

    @Test
    void theFirstReportOfAPhaseWins() {
        BootRecorder r = BootRecorder.begin(1);
        long t = System.nanoTime();
        r.host(BootPhase.VM_CREATED, t + 5_000_000);
        r.host(BootPhase.VM_CREATED, t + 9_000_000);
        assertThat(r.snapshot().sinceStart(BootPhase.VM_CREATED).orElseThrow())
                .isBetween(Duration.ofMillis(4), Duration.ofMillis(6));
    }

    @Test
    void guestReportsOfHostPhasesOrNegativeUptimesAreIgnored() {
        BootRecorder r = BootRecorder.begin(1);
        long now = System.nanoTime();
        r.guest(BootPhase.APP_EXECUTED, 123, now);
        r.guest(BootPhase.FIRST_OUTPUT, 1, now);
        r.guest(BootPhase.GUEST_HALTING, -4, now);
        r.host(BootPhase.APP_EXITED, now); // guest phases come from the guest only
        BootTimeline t = r.snapshot();
        assertThat(t.entries()).extracting(BootTimeline.Entry::phase).containsExactly(BootPhase.START, BootPhase.APP_EXECUTED);
        assertThat(t.guestUptime(BootPhase.APP_EXECUTED)).contains(Duration.ofNanos(123));
    }

    @Test
    void aTimeBeforeTheStartIsClampedToZero() {
        BootRecorder r = BootRecorder.begin(1);
        r.host(BootPhase.VM_CREATED, System.nanoTime() - 1_000_000_000L);
        assertThat(r.snapshot().sinceStart(BootPhase.VM_CREATED)).contains(Duration.ZERO);
    }

    @Test
    void theOutputTapForwardsEveryByteAndStampsTheFirstNonEmptyWrite() {
        BootRecorder r = BootRecorder.begin(1);
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        OutputSink tap = r.tapFirstOutput(seen::write);
        tap.write(new byte[] {1, 2}, 0, 0);
        assertThat(r.snapshot().reached(BootPhase.FIRST_OUTPUT)).isFalse();
        tap.write(new byte[] {1, 2, 3}, 1, 2);
        long first = r.snapshot().entry(BootPhase.FIRST_OUTPUT).orElseThrow().sinceStartNanos();
        tap.write(new byte[] {4}, 0, 1);
        assertThat(seen.toByteArray()).containsExactly(2, 3, 4);
        assertThat(r.snapshot().entry(BootPhase.FIRST_OUTPUT).orElseThrow().sinceStartNanos()).isEqualTo(first);
    }

    @Test
    void finishAddsExitedUnlessTheBackendReportedIt() {
        BootRecorder r = BootRecorder.begin(1);
        long reported = System.nanoTime();
        r.host(BootPhase.EXITED, reported);
        long before = r.snapshot().entry(BootPhase.EXITED).orElseThrow().sinceStartNanos();
        r.finish("bin", "Exited[code=0]");
        assertThat(r.snapshot().entry(BootPhase.EXITED).orElseThrow().sinceStartNanos()).isEqualTo(before);

        BootRecorder other = BootRecorder.begin(2);
        other.finish("bin", "Destroyed[]");
        assertThat(other.snapshot().reached(BootPhase.EXITED)).isTrue();
    }

    @Test
    void phasesAndTheRunAreJfrEvents() throws Exception {
        Path file = dir.resolve("boot.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("dev.arrow.BootPhase");
            recording.enable("dev.arrow.Run");
            recording.start();
            BootRecorder r = BootRecorder.begin(4242);
            r.guest(BootPhase.INIT_STARTED, 777, System.nanoTime());
            r.host(BootPhase.FIRST_OUTPUT);
            r.finish("/bin/hello", "Exited[code=0]");
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().startsWith("dev.arrow.")).toList();
        List<RecordedEvent> phases = events.stream().filter(e -> e.getEventType().getName().equals("dev.arrow.BootPhase"))
                .filter(e -> e.getLong("processId") == 4242).toList();
        assertThat(phases).extracting(e -> e.getString("phase"))
                .containsExactly("start", "init-started", "first-output", "exited");
        RecordedEvent init = phases.get(1);
        assertThat(init.getDuration("guestUptime")).isEqualTo(Duration.ofNanos(777));
        RecordedEvent run = events.stream().filter(e -> e.getEventType().getName().equals("dev.arrow.Run"))
                .filter(e -> e.getLong("processId") == 4242).findFirst().orElseThrow();
        assertThat(run.getString("binary")).isEqualTo("/bin/hello");
        assertThat(run.getString("outcome")).isEqualTo("Exited[code=0]");
        assertThat(run.getDuration()).isPositive();
        assertThat(run.getDuration("startToFirstOutput")).isPositive();
    }
}
