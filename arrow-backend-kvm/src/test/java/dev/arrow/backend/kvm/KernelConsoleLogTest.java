package dev.arrow.backend.kvm;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Line assembly and limits of the kernel's serial log (tier 1, the limits on a fake clock). */
class KernelConsoleLogTest {
    final List<String> lines = new ArrayList<>();
    final KernelConsoleLog log = new KernelConsoleLog(lines::add);

    private void feedBytewise(String text) {
        for (byte b : text.getBytes(StandardCharsets.ISO_8859_1)) {
            log.write(b);
            log.flush(); // as the serial port does after every byte
        }
    }

    @Test
    void bytesWrittenOneByOneMakeWholeLines() {
        feedBytewise("reboot: machine restart\r\nsecond\n");
        assertThat(lines).containsExactly("reboot: machine restart", "second");
    }

    @Test
    void controlCharactersAreDroppedAndTabsKept() {
        feedBytewise("a\tb\u001b[0mc\u0000\u007fd\n");
        assertThat(lines).containsExactly("a\tb[0mcd");
    }

    @Test
    void overlongLinesAreCutAtTheLimit() {
        feedBytewise("x".repeat(KernelConsoleLog.MAX_LINE + 5) + "\n");
        assertThat(lines).containsExactly("x".repeat(KernelConsoleLog.MAX_LINE), "xxxxx");
    }

    @Test
    void aPartialLastLineIsLoggedOnClose() {
        feedBytewise("no newline");
        assertThat(lines).isEmpty();
        log.close();
        log.close();
        assertThat(lines).containsExactly("no newline");
    }

    static final long SECOND = 1_000_000_000L;
    final AtomicLong now = new AtomicLong();
    final List<String> notices = new ArrayList<>();

    private KernelConsoleLog limited(KernelConsoleLog.Limits limits) {
        return new KernelConsoleLog(lines::add, notices::add, limits, now::get);
    }

    private static void feed(KernelConsoleLog log, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        log.write(bytes, 0, bytes.length);
    }

    @Test
    void aFloodOfLinesIsCutToTheBurstThenTheRateAndTheDropsAreCounted() {
        KernelConsoleLog log = limited(new KernelConsoleLog.Limits(10, 20, 100_000, 100_000, 10_000_000));
        for (int i = 0; i < 100; i++) {
            feed(log, "line " + i + "\n");
        }
        assertThat(lines).as("the burst").hasSize(20).startsWith("line 0").endsWith("line 19");
        assertThat(notices).singleElement().asString().contains("exceeds its limit of 10 lines");
        now.addAndGet(SECOND);
        for (int i = 100; i < 200; i++) {
            feed(log, "line " + i + "\n");
        }
        assertThat(lines).as("one second later: the rate").hasSize(30).endsWith("line 109");
        assertThat(notices).as("the first drop is said once").hasSize(1);
        log.close();
        assertThat(notices).hasSize(2);
        assertThat(notices.get(1)).startsWith("170 line(s) (").contains("dropped");
        assertThat(log.droppedLines()).isEqualTo(170);
    }

    @Test
    void longLinesAreLimitedByTheirBytes() {
        KernelConsoleLog log = limited(new KernelConsoleLog.Limits(1000, 1000, 2000, 5000, 10_000_000));
        String kilo = "k".repeat(999);
        for (int i = 0; i < 10; i++) {
            feed(log, kilo + "\n"); // 1000 bytes each with the newline
        }
        assertThat(lines).as("5000 bytes of burst").hasSize(5);
        now.addAndGet(SECOND);
        for (int i = 0; i < 10; i++) {
            feed(log, kilo + "\n");
        }
        assertThat(lines).as("2000 bytes a second").hasSize(7);
        assertThat(notices).singleElement().asString().contains("2000 bytes per second");
    }

    @Test
    void theTotalEndsLoggingForGoodWhateverTheRate() {
        KernelConsoleLog log = limited(new KernelConsoleLog.Limits(1000, 1000, 1_000_000, 1_000_000, 4000));
        String line = "x".repeat(999);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 3; i++) {
                feed(log, line + "\n");
            }
            now.addAndGet(3600 * SECOND);
        }
        assertThat(lines).as("4 lines of 1000 bytes fit 4000").hasSize(4);
        assertThat(notices).singleElement().asString().contains("limit of 4000 bytes for this arrow");
        log.close();
        assertThat(notices.get(1)).startsWith("5 line(s) (5000 bytes)");
    }

    @Test
    void aQuietConsoleSaysNothingAtTheEnd() {
        KernelConsoleLog log = limited(KernelConsoleLog.Limits.DEFAULT);
        feed(log, "one\ntwo\n");
        log.close();
        assertThat(lines).containsExactly("one", "two");
        assertThat(notices).isEmpty();
    }

    @Test
    void theDefaultsLetADebugBootThroughAndHoldAFlood() {
        KernelConsoleLog log = limited(KernelConsoleLog.Limits.DEFAULT);
        for (int i = 0; i < 400; i++) {
            feed(log, "[    0.%06d] a typical kernel boot message of about eighty characters, line %d%n".formatted(i, i));
        }
        assertThat(lines).as("a debug boot's log passes whole").hasSize(400);
        assertThat(notices).isEmpty();
        for (int i = 0; i < 100_000; i++) {
            feed(log, "flood\n");
        }
        assertThat(lines).as("a flood in the same instant gets the rest of the line burst").hasSize(1000);
        assertThat(notices).hasSize(1);
    }

    @Test
    void limitsBelowTheLongestLineAreRefused() {
        assertThatThrownBy(() -> new KernelConsoleLog.Limits(1, 1, 1, KernelConsoleLog.MAX_LINE, 1 << 20))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KernelConsoleLog.Limits(0, 1, 1, 1 << 20, 1 << 20))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
