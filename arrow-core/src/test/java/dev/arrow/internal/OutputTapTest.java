package dev.arrow.internal;

import dev.arrow.OutputFrame;
import dev.arrow.spi.OutputSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class OutputTapTest {

    private static final OutputSink NOWHERE = (bytes, offset, length) -> { };

    private static void write(OutputSink sink, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        sink.write(bytes, 0, bytes.length);
    }

    @Test
    void aStuckConsumerSlowsTheWriterOnlyUntilTheTapIsAborted() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        OutputTap tap = new OutputTap("test", List.of(frame -> {
            try {
                never.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }), List.of());
        OutputSink sink = tap.tap(OutputFrame.Stream.STDOUT, NOWHERE);
        Thread writer = new Thread(() -> write(sink, "line\n".repeat(OutputTap.QUEUE_FRAMES * 3)));
        writer.start();
        writer.join(500);
        assertThat(writer.isAlive()).as("held back by the full queue").isTrue();
        tap.abort();
        writer.join(5000);
        assertThat(writer.isAlive()).as("released by abort()").isFalse();
        tap.finish();
        tap.release();
        assertThat(tap.drained()).succeedsWithin(5, TimeUnit.SECONDS);
        assertThat(tap.logs()).hasSize(OutputTap.TAIL_LINES).allMatch(f -> f.line().equals("line"));
    }

    @Test
    void watchersSeeEveryLineOnTheWritersThreadAndALastLineWithoutNewlineAtFinish() {
        List<String> seen = new CopyOnWriteArrayList<>();
        OutputTap tap = new OutputTap("test", List.of(), List.of(f -> seen.add(f.stream() + " " + f.line())));
        OutputSink out = tap.tap(OutputFrame.Stream.STDOUT, NOWHERE);
        OutputSink err = tap.tap(OutputFrame.Stream.STDERR, NOWHERE);
        write(out, "a\nb");
        write(err, "e\r\n");
        assertThat(seen).containsExactly("STDOUT a", "STDERR e");
        tap.finish();
        write(out, "after the end\n");
        assertThat(seen).containsExactly("STDOUT a", "STDERR e", "STDOUT b");
        assertThat(tap.drained()).isDone();
    }

    @Test
    void theTailKeepsEachStreamWithinItsBounds() {
        OutputTail tail = new OutputTail(3, 10);
        tail.add(new OutputFrame(OutputFrame.Stream.STDERR, "error"));
        for (int i = 0; i < 5; i++) {
            tail.add(new OutputFrame(OutputFrame.Stream.STDOUT, "o" + i));
        }
        tail.add(new OutputFrame(OutputFrame.Stream.STDOUT, "0123456789"));
        assertThat(tail.snapshot()).extracting(OutputFrame::line).containsExactly("error", "0123456789");
        tail.add(new OutputFrame(OutputFrame.Stream.STDOUT, "a line longer than the byte bound"));
        assertThat(tail.snapshot()).as("the newest line is kept even when alone over the bound")
                .extracting(OutputFrame::line).containsExactly("error", "a line longer than the byte bound");
    }
}
