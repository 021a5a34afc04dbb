package dev.arrow.backend.kvm;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link KernelPanicWatch}: the first panic line's message, bounded, while every byte passes on (tier 1). */
class KernelPanicWatchTest {

    private static KernelPanicWatch watchAfter(String console, ByteArrayOutputStream passedOn) throws IOException {
        KernelPanicWatch watch = new KernelPanicWatch(passedOn);
        byte[] bytes = console.getBytes(StandardCharsets.UTF_8);
        watch.write(bytes, 0, 3); // both write paths
        for (int i = 3; i < bytes.length; i++) {
            watch.write(bytes[i]);
        }
        return watch;
    }

    @Test
    void remembersTheFirstPanicsMessageAndPassesEveryByteOn() throws IOException {
        String console = "[    1.000000] sysrq: Trigger a crash\r\n"
                + "[    1.000100] Kernel panic - not syncing: sysrq triggered crash\r\n"
                + "[    1.000200] CPU: 0 PID: 52 Comm: guestapp Not tainted 6.1.0 #1\r\n"
                + "[    1.000300] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---\r\n"
                + "[    1.000400] Kernel panic - not syncing: a second one\r\n";
        ByteArrayOutputStream passedOn = new ByteArrayOutputStream();
        KernelPanicWatch watch = watchAfter(console, passedOn);
        assertThat(watch.panicMessage()).contains("sysrq triggered crash");
        assertThat(passedOn.toString(StandardCharsets.UTF_8)).isEqualTo(console);
    }

    @Test
    void ordinaryLinesAndAnUnfinishedPanicLineAreNoPanic() throws IOException {
        KernelPanicWatch watch = watchAfter("Run /init as init process\nKernel panic - not syncing: cut", new ByteArrayOutputStream());
        assertThat(watch.panicMessage()).isEmpty();
    }

    @Test
    void theMessageIsBoundedAndPrintable() throws IOException {
        String longMessage = "\u0007" + "x".repeat(5000);
        KernelPanicWatch watch = watchAfter("Kernel panic - not syncing: " + longMessage + "\n", new ByteArrayOutputStream());
        assertThat(watch.panicMessage().orElseThrow()).hasSize(KernelPanicWatch.MAX_MESSAGE).matches("x+");
        assertThat(KernelPanicWatch.messageOf("Kernel panic - not syncing: \r")).contains("(no message)");
    }
}
