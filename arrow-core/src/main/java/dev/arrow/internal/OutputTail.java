package dev.arrow.internal;

import dev.arrow.OutputFrame;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The last lines the guest program printed, bounded per stream (at most {@code maxLines} lines and
 * {@code maxBytes} bytes of UTF-8 each, the oldest dropped first), so that a chatty stdout does not push
 * out the stderr line that explains a failure. Thread-safe.
 */
public final class OutputTail {

    private record Entry(long sequence, OutputFrame frame, int bytes) {
    }

    private final int maxLines;
    private final long maxBytes;
    private final Map<OutputFrame.Stream, ArrayDeque<Entry>> lines = new EnumMap<>(OutputFrame.Stream.class);
    private final Map<OutputFrame.Stream, Long> bytes = new EnumMap<>(OutputFrame.Stream.class);
    private long sequence;

    public OutputTail(int maxLines, long maxBytes) {
        if (maxLines < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("a tail keeps at least one line and one byte, got " + maxLines
                    + " lines, " + maxBytes + " bytes");
        }
        this.maxLines = maxLines;
        this.maxBytes = maxBytes;
        for (OutputFrame.Stream s : OutputFrame.Stream.values()) {
            lines.put(s, new ArrayDeque<>());
            bytes.put(s, 0L);
        }
    }

    public synchronized void add(OutputFrame frame) {
        int size = frame.line().getBytes(StandardCharsets.UTF_8).length;
        ArrayDeque<Entry> kept = lines.get(frame.stream());
        kept.addLast(new Entry(sequence++, frame, size));
        long total = bytes.get(frame.stream()) + size;
        while (kept.size() > maxLines || (total > maxBytes && kept.size() > 1)) {
            total -= kept.removeFirst().bytes();
        }
        bytes.put(frame.stream(), total);
    }

    /** The lines kept, in the order they were printed. */
    public synchronized List<OutputFrame> snapshot() {
        List<Entry> all = new ArrayList<>();
        lines.values().forEach(all::addAll);
        all.sort((a, b) -> Long.compare(a.sequence(), b.sequence()));
        return all.stream().map(Entry::frame).toList();
    }
}
