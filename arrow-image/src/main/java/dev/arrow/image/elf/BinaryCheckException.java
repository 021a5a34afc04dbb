package dev.arrow.image.elf;

import dev.arrow.image.ImageException;
import java.nio.file.Path;

/** A program Arrow cannot run in its guest; {@link #reason()} says why and the message how to fix it. */
public final class BinaryCheckException extends ImageException {
    private static final long serialVersionUID = 1L;

    /** What is wrong with the file. */
    public enum Reason {
        NOT_FOUND,
        NOT_REGULAR_FILE,
        UNREADABLE,
        /** Not an ELF file at all (text, archive, ...). */
        NOT_ELF,
        /** A {@code #!} script: the interpreter would have to be in the guest too. */
        SCRIPT,
        /** The file ends before its ELF headers or segments do. */
        TRUNCATED,
        /** Inconsistent ELF headers (bad header sizes, zero segments). */
        MALFORMED,
        /** A 32-bit ELF. */
        NOT_64_BIT,
        /** A 64-bit ELF for another architecture (or byte order). */
        WRONG_MACHINE,
        /** An object file, core dump or shared library instead of a program. */
        NOT_EXECUTABLE,
        /** Needs a dynamic loader (PT_INTERP), which the guest does not have. */
        DYNAMICALLY_LINKED
    }

    private final Reason reason;
    private final transient Path path;

    public BinaryCheckException(Reason reason, Path path, String message) {
        super(message);
        this.reason = reason;
        this.path = path;
    }

    public BinaryCheckException(Reason reason, Path path, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.path = path;
    }

    public Reason reason() {
        return reason;
    }

    public Path path() {
        return path;
    }
}
