package dev.arrow.internal;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Cuts a byte stream into UTF-8 lines: {@code \n} ends a line and a {@code \r} right before it is
 * dropped (a tty turns {@code \n} into {@code \r\n}); lines longer than the limit are cut into pieces;
 * malformed UTF-8 becomes U+FFFD. Not thread-safe.
 */
public final class LineSplitter {

    private final int maxLineBytes;
    private final Consumer<String> lines;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    public LineSplitter(int maxLineBytes, Consumer<String> lines) {
        if (maxLineBytes < 1) {
            throw new IllegalArgumentException("maxLineBytes " + maxLineBytes + " must be positive");
        }
        this.maxLineBytes = maxLineBytes;
        this.lines = Objects.requireNonNull(lines, "lines");
    }

    /** Feeds bytes; complete lines are delivered before it returns. */
    public void accept(byte[] bytes, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, bytes.length);
        for (int i = offset; i < offset + length; i++) {
            byte b = bytes[i];
            if (b == '\n') {
                emit(true);
            } else {
                line.write(b);
                if (line.size() >= maxLineBytes) {
                    emit(false);
                }
            }
        }
    }

    /** Delivers a last line that had no terminator, if any. */
    public void finish() {
        if (line.size() > 0) {
            emit(false);
        }
    }

    private void emit(boolean terminated) {
        byte[] bytes = line.toByteArray();
        int length = bytes.length;
        if (terminated && length > 0 && bytes[length - 1] == '\r') {
            length--;
        }
        line.reset();
        lines.accept(new String(bytes, 0, length, StandardCharsets.UTF_8));
    }
}
