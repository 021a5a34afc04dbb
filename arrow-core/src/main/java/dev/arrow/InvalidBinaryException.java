package dev.arrow;

import java.nio.file.Path;

/**
 * The program to run cannot be used: missing, unreadable, or not a statically linked x86-64 Linux
 * executable.
 */
public class InvalidBinaryException extends ArrowException {

    private static final long serialVersionUID = 1L;

    private static final String FIX = "give the path of a statically linked x86-64 Linux executable";

    public InvalidBinaryException(String message) {
        super(message);
    }

    public InvalidBinaryException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@code binary} does not exist. */
    public static InvalidBinaryException notFound(Path binary) {
        return new InvalidBinaryException("binary " + binary + " not found (looked at " + binary.toAbsolutePath()
                + "); " + FIX);
    }

    /** {@code binary} is not a regular file. */
    public static InvalidBinaryException notAFile(Path binary) {
        return new InvalidBinaryException("binary " + binary + " is not a regular file; " + FIX);
    }

    /** {@code binary} cannot be read by this JVM. */
    public static InvalidBinaryException notReadable(Path binary) {
        return new InvalidBinaryException("binary " + binary + " is not readable by this JVM's user; make it"
                + " readable (chmod a+r " + binary + ")");
    }
}
