package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InitStatusDecoderTest {
    private static List<InitStatus> feed(InitStatusDecoder d, String text) {
        List<InitStatus> out = new ArrayList<>();
        for (byte b : text.getBytes(StandardCharsets.ISO_8859_1)) d.accept(b).ifPresent(out::add);
        return out;
    }

    @Test
    void splitsTheByteStreamIntoRecords() {
        InitStatusDecoder d = new InitStatusDecoder();
        List<InitStatus> got = feed(d, "arrow-mark init-start 5\narrow-status exited 3\narrow-mark halt 9\n");
        assertThat(got).containsExactly(new InitStatus.Mark("init-start", 5), new InitStatus.Exited(3), new InitStatus.Mark("halt", 9));
        assertThat(d.ignoredLines()).isZero();
    }

    @Test
    void overlongAndGarbageLinesAreDroppedAndTheStreamRecovers() {
        InitStatusDecoder d = new InitStatusDecoder();
        String flood = "arrow-status exited 1" + "x".repeat(5000) + "\n";
        List<InitStatus> got = feed(d, flood + "junk\n" + "arrow-status signaled 11\n");
        assertThat(got).containsExactly(new InitStatus.Signaled(11));
        assertThat(d.ignoredLines()).isEqualTo(2);
    }

    @Test
    void lineOfExactlyTheLimitIsAccepted() {
        InitStatusDecoder d = new InitStatusDecoder();
        String line = "arrow-status start-failed " + "m".repeat(1023 - 26);
        assertThat(feed(d, line + "\n")).hasSize(1);
        assertThat(feed(d, line + "m\n")).isEmpty();
        assertThat(feed(d, "arrow-status exited 0\n")).containsExactly(new InitStatus.Exited(0));
    }
}
