package dev.arrow;

import java.util.Objects;

/**
 * One line the guest program printed, tagged with the stream it came from: what
 * {@link Arrow#logConsumer(java.util.function.Consumer) log consumers} receive and
 * {@link ArrowProcess#logs()} keeps. The line is UTF-8 text without its terminator; lines longer than
 * {@value #MAX_LINE_BYTES} bytes come in pieces. With {@link Arrow#redirectErrorStream(boolean)} every
 * line is tagged {@link Stream#STDOUT}.
 *
 * @param stream where the line was printed
 * @param line   the text, without {@code \n} or {@code \r\n}
 */
public record OutputFrame(Stream stream, String line) {

    /** Longest piece of a line in one frame, in bytes of UTF-8. */
    public static final int MAX_LINE_BYTES = 8 * 1024;

    /** The guest program's output streams. */
    public enum Stream { STDOUT, STDERR }

    public OutputFrame {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(line, "line");
    }

    /** E.g. {@code STDERR: listening on :80}. */
    @Override
    public String toString() {
        return stream + ": " + line;
    }
}
