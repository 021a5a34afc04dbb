package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading what passt printed: its start (for start failures) and its end (logged at close). */
class PasstLogTest {

    @Test
    void theStartOfTheLogLosesTheSyslogNoise(@TempDir Path tmp) throws IOException {
        Path log = write(tmp, "Failed to send 42 bytes to syslog\nMTU: 65520\nFailed to send 7 bytes to syslog\nUDP: bound\n");
        assertThat(PasstLog.read(log)).isEqualTo("MTU: 65520\nUDP: bound");
    }

    @Test
    void theEndOfTheLogHoldsItsLastBytesOnly(@TempDir Path tmp) throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            text.append("TCP: index ").append(i).append(", ACK timeout, retry\n");
            text.append("Failed to send 40 bytes to syslog\n");
        }
        Path log = write(tmp, text.toString());
        String end = PasstLog.readEnd(log, 200);
        assertThat(end).endsWith("TCP: index 999, ACK timeout, retry").doesNotContain("syslog")
                .doesNotContain("index 990,");
        assertThat(end.length()).isLessThanOrEqualTo(200);
    }

    @Test
    void aShortOrMissingLogIsReadWholeOrAsNothing(@TempDir Path tmp) throws IOException {
        assertThat(PasstLog.readEnd(write(tmp, "one line\n"), 4096)).isEqualTo("one line");
        assertThat(PasstLog.readEnd(tmp.resolve("absent.log"), 4096)).isEmpty();
    }

    private static Path write(Path dir, String text) throws IOException {
        Path log = dir.resolve("passt.log");
        Files.writeString(log, text, StandardCharsets.UTF_8);
        return log;
    }
}
