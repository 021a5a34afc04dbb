package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static dev.arrow.backend.kvm.BootTestSupport.BUSYBOX;
import static dev.arrow.backend.kvm.BootTestSupport.assumeBusybox;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tier 4: the guest's clock runs and its timers fire on time. Twenty 50 ms sleeps in a row, each
 * measured by the guest's own uptime; every one must end within a second.
 *
 * <p>A guest whose clock stops still boots and runs whatever never waits for a timer, so other
 * tests only see it as a rare stall: a TCP sender that never probes a zero window, an SMP boot
 * that waits forever. This happened in the lab when its kernel's KVM kept a rough guess of the TSC
 * rate (docs/lab.md); the test says so in terms of what the guest saw: its clock event device, the
 * TSC rate it was told and whether high-resolution timers came up.
 */
@BootTest
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class GuestClockBootTest {
    private static final int SLEEPS = 20;

    @BeforeAll
    static void prerequisites() {
        assumeBusybox();
    }

    @Test
    void fiftyMillisecondSleepsEndOnTime() throws Exception {
        String script = "cat /sys/devices/system/clockevents/clockevent0/current_device;"
                + " dmesg | grep -E 'tsc: Detected|kvm-clock: using sched offset';"
                + " grep -m2 'Tick Device: mode' /proc/timer_list;"
                + " i=0; read before rest < /proc/uptime;"
                + " while [ $i -lt " + SLEEPS + " ]; do sleep 0.05; read after rest < /proc/uptime;"
                + " echo \"slept $before $after\"; before=$after; i=$((i+1)); done";
        String output;
        boolean ended;
        try (ArrowProcess p = Arrow.of(BUSYBOX).args("sh", "-c", script).memory(64, MiB).start()) {
            StreamTranscript transcript = StreamTranscript.of(p.getInputStream(), "guest-stdout");
            ended = p.waitFor(60, TimeUnit.SECONDS);
            output = ended ? transcript.whole(10_000) : transcript.soFar();
        }
        String context = "the guest printed:\n" + output;
        assertThat(ended).as("%d sleeps of 50 ms ended within 60 s (a guest whose clock stands still never wakes); %s",
                SLEEPS, context).isTrue();
        int sleeps = 0;
        for (String line : output.split("\n")) {
            if (!line.startsWith("slept ")) {
                continue;
            }
            String[] f = line.split(" ");
            double slept = Double.parseDouble(f[2]) - Double.parseDouble(f[1]);
            assertThat(slept).as("a 50 ms sleep by the guest's uptime (%s); %s", line, context).isBetween(0.0, 1.0);
            sleeps++;
        }
        assertThat(sleeps).as("sleeps reported; %s", context).isEqualTo(SLEEPS);
    }
}
