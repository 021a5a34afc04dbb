package dev.arrow.internal.kvm;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Line assembly of the kernel's serial log (tier 1). */
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
}
