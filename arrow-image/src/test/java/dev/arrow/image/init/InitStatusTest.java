package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.image.init.InitStatus.StartFailure;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InitStatusTest {
    @Test
    void parsesEveryRecordKind() {
        assertThat(InitStatus.parse("arrow-status exited 0\n")).contains(new InitStatus.Exited(0));
        assertThat(InitStatus.parse("arrow-status exited 255")).contains(new InitStatus.Exited(255));
        assertThat(InitStatus.parse("arrow-status signaled 9\n")).contains(new InitStatus.Signaled(9));
        assertThat(InitStatus.parse("arrow-status not-found /arrow/app: No such file or directory\n"))
                .contains(new InitStatus.StartFailed(StartFailure.NOT_FOUND, "/arrow/app: No such file or directory"));
        assertThat(InitStatus.parse("arrow-status not-executable /x: Permission denied"))
                .contains(new InitStatus.StartFailed(StartFailure.NOT_EXECUTABLE, "/x: Permission denied"));
        assertThat(InitStatus.parse("arrow-status exec-format /x: Exec format error"))
                .contains(new InitStatus.StartFailed(StartFailure.EXEC_FORMAT, "/x: Exec format error"));
        assertThat(InitStatus.parse("arrow-status start-failed malformed spec /arrow/spec: no record 'end'\r\n"))
                .contains(new InitStatus.StartFailed(StartFailure.OTHER, "malformed spec /arrow/spec: no record 'end'"));
        assertThat(InitStatus.parse("arrow-mark app-exec 789484831\n")).contains(new InitStatus.Mark("app-exec", 789484831L));
    }

    @Test
    void finalRecordsAreTheOnesThatEndTheApp() {
        assertThat(new InitStatus.Exited(1).isFinal()).isTrue();
        assertThat(new InitStatus.Signaled(1).isFinal()).isTrue();
        assertThat(new InitStatus.StartFailed(StartFailure.OTHER, "").isFinal()).isTrue();
        assertThat(new InitStatus.Mark("x", 1).isFinal()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "\n", "hello", "arrow-status", "arrow-status ", "arrow-status exited", "arrow-status exited -1",
        "arrow-status exited 256", "arrow-status exited 1 2", "arrow-status exited +1", "arrow-status exited 0x1",
        "arrow-status exited 99999999999999999999999", "arrow-status signaled 0", "arrow-status signaled 65",
        "arrow-status exploded 1", "arrow-status  exited 0", "ARROW-STATUS exited 0", "arrow-mark", "arrow-mark x",
        "arrow-mark  1", "arrow-mark x -1", "arrow-mark x 1.5", "arrow-mark bad/name 1", "arrow-mark x 9223372036854775808",
        "arrow-status exited 0\u0000", "arrow-status not-found a\u0007b", "arrow-status not-found caf\u00e9",
        "arrow-status not-found \u2603", "arrow-status exited 0\n\n",
    })
    void garbageGivesNothing(String line) {
        assertThat(InitStatus.parse(line)).isEmpty();
    }

    @Test
    void overlongLinesGiveNothing() {
        String ok = "arrow-status start-failed " + "m".repeat(1023 - 26);
        assertThat(ok).hasSize(1023);
        assertThat(InitStatus.parse(ok + "\n")).isPresent();
        assertThat(InitStatus.parse(ok + "m\n")).isEmpty();
    }

    @Test
    void randomBytesNeverThrow() {
        Random random = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            byte[] b = new byte[random.nextInt(40)];
            random.nextBytes(b);
            if (i % 2 == 0 && b.length > 13) System.arraycopy("arrow-status ".getBytes(StandardCharsets.US_ASCII), 0, b, 0, 13);
            Optional<InitStatus> r = InitStatus.parse(b, 0, b.length);
            assertThat(r).isNotNull();
        }
        assertThat(InitStatus.parse(null)).isEmpty();
        assertThat(InitStatus.parse(new byte[4], 3, 5)).isEmpty();
        assertThat(InitStatus.parse(new byte[4], -1, 1)).isEmpty();
    }
}
