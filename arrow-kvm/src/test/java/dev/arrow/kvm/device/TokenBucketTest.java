package dev.arrow.kvm.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
    static final long SECOND = 1_000_000_000L;
    final AtomicLong now = new AtomicLong(123_456_789L);

    private TokenBucket bucket(long rate, long burst) {
        return new TokenBucket(rate, burst, now::get);
    }

    @Test
    void startsFullAndGivesNoMoreThanItsBurst() {
        TokenBucket b = bucket(10, 100);
        assertThat(b.available()).isEqualTo(100);
        assertThat(b.tryTake(60)).isTrue();
        assertThat(b.tryTake(41)).as("only 40 left").isFalse();
        assertThat(b.available()).as("a refused take takes nothing").isEqualTo(40);
        assertThat(b.takeUpTo(50)).isEqualTo(40);
        assertThat(b.takeUpTo(1)).isZero();
    }

    @Test
    void refillsAtItsRateUpToItsBurst() {
        TokenBucket b = bucket(10, 100);
        b.takeUpTo(100);
        now.addAndGet(SECOND / 2);
        assertThat(b.available()).isEqualTo(5);
        now.addAndGet(3 * SECOND);
        assertThat(b.available()).isEqualTo(35);
        now.addAndGet(3600 * SECOND);
        assertThat(b.available()).as("never above the burst").isEqualTo(100);
    }

    @Test
    void timeTowardsAPartialTokenIsNotLost() {
        TokenBucket b = bucket(3, 10); // one token every 333.33 ms
        b.takeUpTo(10);
        for (int i = 0; i < 30; i++) {
            now.addAndGet(100_000_000L); // 3 s in steps of 100 ms, each asking
            b.available();
        }
        assertThat(b.available()).isEqualTo(9);
    }

    @Test
    void aSustainedDemandGetsTheRateAndNoMore() {
        TokenBucket b = bucket(1000, 50);
        long served = 0;
        for (int ms = 0; ms < 10_000; ms++) {
            served += b.takeUpTo(1_000_000);
            now.addAndGet(SECOND / 1000);
        }
        assertThat(served).as("burst + 10 s at 1000/s").isEqualTo(50 + 10 * 1000 - 1);
    }

    @Test
    void saysHowLongUntilEnoughTokens() {
        TokenBucket b = bucket(10, 100);
        assertThat(b.nanosUntil(100)).isZero();
        b.takeUpTo(100);
        assertThat(b.nanosUntil(1)).isEqualTo(SECOND / 10);
        now.addAndGet(SECOND / 20);
        assertThat(b.nanosUntil(1)).as("half the wait is spent").isEqualTo(SECOND / 20);
        assertThat(b.nanosUntil(5)).isEqualTo(SECOND / 2 - SECOND / 20);
        assertThat(b.nanosUntil(1_000_000)).as("capped at the burst").isEqualTo(10 * SECOND - SECOND / 20);
        now.addAndGet(b.nanosUntil(5));
        assertThat(b.available()).isEqualTo(5);
    }

    @Test
    void aClockThatGoesBackAddsNothing() {
        TokenBucket b = bucket(10, 100);
        b.takeUpTo(100);
        now.addAndGet(-SECOND);
        assertThat(b.available()).isZero();
        now.addAndGet(SECOND + SECOND / 10);
        assertThat(b.available()).isEqualTo(1);
    }

    @Test
    void theLargestRatesAndBurstsDoNotOverflow() {
        TokenBucket b = bucket(TokenBucket.MAX, TokenBucket.MAX);
        b.takeUpTo(TokenBucket.MAX);
        now.addAndGet(SECOND - 1);
        assertThat(b.available()).isBetween(TokenBucket.MAX - 5, TokenBucket.MAX);
        now.addAndGet(Long.MAX_VALUE / 2);
        assertThat(b.available()).isEqualTo(TokenBucket.MAX);
        assertThat(b.nanosUntil(TokenBucket.MAX)).isZero();
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> bucket(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> bucket(1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> bucket(TokenBucket.MAX + 1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> bucket(1, 1).tryTake(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
