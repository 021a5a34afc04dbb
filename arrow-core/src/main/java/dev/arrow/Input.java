package dev.arrow;

import java.nio.file.Path;
import java.util.Objects;

/** Where the guest program's stdin comes from, as a value. The default is {@link #pipe()}. */
public sealed interface Input permits Input.Pipe, Input.FromFile, Input.Empty {

    /**
     * From {@link ArrowProcess#getOutputStream()}; closing that stream ends the input. Writes are not
     * buffered on the host side.
     */
    static Input pipe() {
        return Pipe.INSTANCE;
    }

    /** The content of {@code file}, opened when the process starts; the input ends after it. */
    static Input file(Path file) {
        return new FromFile(file);
    }

    /** No input: the input ends at once. */
    static Input empty() {
        return Empty.INSTANCE;
    }

    /** See {@link #pipe()}. */
    record Pipe() implements Input {
        static final Pipe INSTANCE = new Pipe();
    }

    /** See {@link #file(Path)}. */
    record FromFile(Path file) implements Input {
        public FromFile {
            Objects.requireNonNull(file, "file");
        }
    }

    /** See {@link #empty()}. */
    record Empty() implements Input {
        static final Empty INSTANCE = new Empty();
    }
}
