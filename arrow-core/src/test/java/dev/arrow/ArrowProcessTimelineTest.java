package dev.arrow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.config.ArrowSpec;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The timeline every ArrowProcess keeps, with fake backends (tier 1). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ArrowProcessTimelineTest {
    @TempDir
    Path dir;
    Path binary;

    @BeforeEach
    void createBinary() throws IOException {
        binary = Files.write(dir.resolve("hello"), new byte[] {0x7f, 'E', 'L', 'F'});
    }

    /** A backend that reports phases the way the KVM backend does, around a fake guest. */
    static final class ReportingLauncher implements ArrowLauncher {
        final FakeLauncher fake;
        volatile BootEvents events;

        ReportingLauncher(FakeGuest guest) {
            fake = new FakeLauncher(guest);
        }

        @Override
        public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
            throw new AssertionError("arrow-core must call the variant with boot events");
        }

        @Override
        public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents e) {
            events = e;
            e.host(BootPhase.IMAGE_ASSEMBLED, System.nanoTime());
            e.host(BootPhase.VM_CREATED, System.nanoTime());
            e.host(BootPhase.INIT_STARTED, System.nanoTime()); // a guest phase reported as host: ignored
            e.guest(BootPhase.INIT_STARTED, 1_000, System.nanoTime());
            e.guest(BootPhase.INIT_STARTED, 9_999, System.nanoTime()); // first wins
            e.guest(BootPhase.FIRST_OUTPUT, 5, System.nanoTime()); // a host phase reported as guest: ignored
            return fake.launch(spec, stdout, stderr);
        }
    }

    @Test
    void aBackendWithoutTelemetryStillGetsTheHostSidePhases() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.out("hi\n");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = Arrow.of(binary).launcher(fake).stdout(Output.discard()).start()) {
            p.waitFor();
            BootTimeline t = p.timeline();
            assertThat(t.entries()).extracting(BootTimeline.Entry::phase)
                    .containsExactly(BootPhase.START, BootPhase.SPEC_VALIDATED, BootPhase.FIRST_OUTPUT, BootPhase.EXITED);
            assertThat(t.sinceStart(BootPhase.START)).hasValueSatisfying(d -> assertThat(d).isZero());
            assertThat(p.statistics()).isEmpty();
        }
    }

    @Test
    void phasesReportedByTheBackendAreRecordedOnceAndGuestMarksKeepTheirUptime() throws Exception {
        ReportingLauncher launcher = new ReportingLauncher(g -> new ArrowOutcome.Exited(0));
        try (ArrowProcess p = Arrow.of(binary).launcher(launcher).start()) {
            p.waitFor();
            BootTimeline t = p.timeline();
            assertThat(t.entries()).extracting(BootTimeline.Entry::phase).containsExactly(BootPhase.START,
                    BootPhase.SPEC_VALIDATED, BootPhase.IMAGE_ASSEMBLED, BootPhase.VM_CREATED, BootPhase.INIT_STARTED,
                    BootPhase.EXITED);
            assertThat(t.entry(BootPhase.INIT_STARTED).orElseThrow().guestUptimeNanos()).hasValue(1_000);
            assertThat(t.entries()).extracting(BootTimeline.Entry::sinceStartNanos).isSorted();
        }
    }

    @Test
    void firstOutputIsStampedOnceWhicheverStreamComesFirst() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> {
            g.err("e");
            Thread.sleep(20);
            g.out("o");
            return new ArrowOutcome.Exited(0);
        });
        try (ArrowProcess p = Arrow.of(binary).launcher(fake).stdout(Output.discard()).stderr(Output.discard()).start()) {
            p.waitFor();
            BootTimeline t = p.timeline();
            assertThat(t.between(BootPhase.FIRST_OUTPUT, BootPhase.EXITED).orElseThrow()).isGreaterThanOrEqualTo(
                    java.time.Duration.ofMillis(15));
        }
    }

    @Test
    void aDestroyedProcessEndsItsTimelineWithExited() throws Exception {
        FakeLauncher fake = new FakeLauncher(g -> g.runForever());
        ArrowProcess p = Arrow.of(binary).launcher(fake).start();
        assertThat(p.timeline().reached(BootPhase.EXITED)).isFalse();
        p.destroyForcibly();
        p.waitFor();
        assertThat(p.timeline().reached(BootPhase.EXITED)).isTrue();
        p.close();
    }
}
