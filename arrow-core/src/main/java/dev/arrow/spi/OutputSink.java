package dev.arrow.spi;

/**
 * Receives one output stream of the guest program (stdout or stderr). Provided by arrow-core to
 * {@link ArrowLauncher#launch}; written by the backend.
 *
 * <p>{@link #write} never throws. It may block while the user has not read earlier output (a bounded
 * pipe, like an OS pipe, so a guest that writes faster than the host reads is slowed down), but never
 * after the process was destroyed or closed: then writes return at once and the bytes are dropped.
 * Writes after the session's outcome completed are dropped too. Thread-safe.
 */
public interface OutputSink {

    /** Delivers {@code length} bytes of {@code bytes} from {@code offset}. */
    void write(byte[] bytes, int offset, int length);
}
