package dev.arrow;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Where a guest output stream (stdout or stderr) goes, as a value, like
 * {@link ProcessBuilder.Redirect}. The default is {@link #pipe()}.
 */
public sealed interface Output permits Output.Pipe, Output.Inherit, Output.ToFile, Output.Discard, Output.Lines {

    /**
     * To {@link ArrowProcess#getInputStream()} / {@link ArrowProcess#getErrorStream()} through a bounded
     * buffer: read it, or the guest stalls once the buffer is full (as with an OS pipe).
     */
    static Output pipe() {
        return Pipe.INSTANCE;
    }

    /** To this JVM's {@link System#out} (stdout) or {@link System#err} (stderr), as set when the process starts. */
    static Output inherit() {
        return Inherit.INSTANCE;
    }

    /** Into {@code file}, created or truncated when the process starts. */
    static Output file(Path file) {
        return new ToFile(file, false);
    }

    /** Appended to {@code file}, created if missing. */
    static Output appendTo(Path file) {
        return new ToFile(file, true);
    }

    /** Dropped. */
    static Output discard() {
        return Discard.INSTANCE;
    }

    /**
     * Line by line to {@code lineConsumer}, on a thread of the process: UTF-8 text without the line
     * terminator ({@code \n} or {@code \r\n}); a last line without terminator is delivered at the end;
     * lines longer than {@value Lines#MAX_LINE_BYTES} bytes are delivered in pieces.
     * {@link ArrowProcess#waitFor()} returns after the last line was delivered. If the consumer throws,
     * the exception is logged and the rest of the stream is discarded. The consumer must not wait for
     * its own process.
     */
    static Output consumer(Consumer<String> lineConsumer) {
        return new Lines(lineConsumer);
    }

    /** See {@link #pipe()}. */
    record Pipe() implements Output {
        static final Pipe INSTANCE = new Pipe();
    }

    /** See {@link #inherit()}. */
    record Inherit() implements Output {
        static final Inherit INSTANCE = new Inherit();
    }

    /** See {@link #file(Path)} and {@link #appendTo(Path)}. */
    record ToFile(Path file, boolean append) implements Output {
        public ToFile {
            Objects.requireNonNull(file, "file");
        }
    }

    /** See {@link #discard()}. */
    record Discard() implements Output {
        static final Discard INSTANCE = new Discard();
    }

    /** See {@link #consumer(Consumer)}. */
    record Lines(Consumer<String> lineConsumer) implements Output {
        /** Longest line delivered in one piece. */
        public static final int MAX_LINE_BYTES = 64 * 1024;

        public Lines {
            Objects.requireNonNull(lineConsumer, "lineConsumer");
        }
    }
}
