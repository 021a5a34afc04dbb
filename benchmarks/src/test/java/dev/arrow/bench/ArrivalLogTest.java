package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ArrivalLogTest {
    private final AtomicLong clock = new AtomicLong();

    private static void feed(ArrivalLog log, String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        log.accept(b, 0, b.length);
    }

    @Test
    void countsOnlyTheBytesAfterTheReadyLine() throws Exception {
        ArrivalLog log = new ArrivalLog(10, clock::get);
        feed(log, "[ kernel says hi ]\nrea");
        assertThat(log.awaitReady(Duration.ZERO)).isFalse();
        clock.set(1_000);
        feed(log, "dy\nabcd");
        assertThat(log.awaitReady(Duration.ZERO)).isTrue();
        assertThat(log.preamble()).isEqualTo("[ kernel says hi ]\nready\n");
        clock.set(5_000);
        feed(log, "efghij");
        assertThat(log.awaitComplete(Duration.ZERO)).isTrue();
        ArrivalLog.Arrivals a = log.arrivals();
        assertThat(a.bytes()).isEqualTo(10);
        assertThat(a.firstNanos()).isEqualTo(1_000);
        assertThat(a.lastNanos()).isEqualTo(5_000);
        assertThat(a.firstArrivalBytes()).isEqualTo(4);
        assertThat(a.firstToLastNanos()).isEqualTo(4_000);
    }

    @Test
    void aBrokenReadyLineDoesNotCount() throws Exception {
        ArrivalLog log = new ArrivalLog(1, clock::get);
        feed(log, "rready\n");
        assertThat(log.awaitReady(Duration.ZERO)).isTrue();
        ArrivalLog other = new ArrivalLog(1, clock::get);
        feed(other, "readyx\nready");
        assertThat(other.awaitReady(Duration.ZERO)).isFalse();
        assertThat(other.arrivals().bytes()).isZero();
    }

    @Test
    void isIncompleteUntilTheTargetIsIn() throws Exception {
        ArrivalLog log = new ArrivalLog(1 << 20, clock::get);
        feed(log, "ready\n");
        feed(log, "x".repeat(1000));
        assertThat(log.awaitComplete(Duration.ofMillis(1))).isFalse();
        assertThat(log.arrivals().bytes()).isEqualTo(1000);
    }

    @Test
    void rateLeavesOutTheFirstArrivalWhichCameAtTheIntervalsStart() {
        // 1 MiB + 1 byte: 1 byte at t = 0, the MiB by t = 0.5 s: 2 MiB/s
        ArrivalLog.Arrivals a = new ArrivalLog.Arrivals((1 << 20) + 1, 0, 500_000_000L, 1);
        assertThat(a.mibPerSecond()).isCloseTo(2.0, within(1e-9));
        assertThat(new ArrivalLog.Arrivals(1, 7, 7, 1).mibPerSecond()).isNaN();
    }

    @Test
    void needsAPositiveTarget() {
        assertThatThrownBy(() -> new ArrivalLog(0, clock::get)).isInstanceOf(IllegalArgumentException.class);
    }
}
