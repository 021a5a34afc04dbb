package dev.arrow.backend.kvm;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Passes the guest's serial output on unchanged and remembers the message of the first kernel panic
 * in it (the line {@value #PANIC_PREFIX}...; the kernel prints it whatever the log level), so that
 * a guest that panics and reboots ({@code panic=-1}) ends with an outcome that says why. The
 * message is cut at {@value #MAX_MESSAGE} characters and made printable. The guest writes the port
 * (its app too, as root), so the message is what the guest's console said, not a host finding.
 * Thread-safe.
 */
final class KernelPanicWatch extends OutputStream {
    static final String PANIC_PREFIX = "Kernel panic - not syncing: ";
    static final int MAX_MESSAGE = 200;
    /** Bytes of a line kept: enough for the timestamp, the prefix and the longest message. */
    private static final int MAX_LINE = 64 + PANIC_PREFIX.length() + MAX_MESSAGE;

    private final OutputStream serial;
    private final byte[] line = new byte[MAX_LINE];
    private int length;
    private volatile String panicMessage;

    /** @param serial where the bytes go on to */
    KernelPanicWatch(OutputStream serial) {
        this.serial = serial;
    }

    @Override
    public void write(int b) throws IOException {
        watch(b);
        serial.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        for (int i = 0; i < len; i++) {
            watch(b[off + i] & 0xff);
        }
        serial.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
        serial.flush();
    }

    @Override
    public void close() throws IOException {
        serial.close();
    }

    /** The message of the first kernel panic seen, e.g. {@code sysrq triggered crash}; empty if none. */
    Optional<String> panicMessage() {
        return Optional.ofNullable(panicMessage);
    }

    private synchronized void watch(int b) {
        if (b == '\n') {
            if (panicMessage == null) {
                panicMessage = messageOf(new String(line, 0, length, StandardCharsets.UTF_8)).orElse(null);
            }
            length = 0;
        } else if (length < line.length) {
            line[length++] = (byte) b; // the rest of a longer line is past any message we keep
        }
    }

    /** The panic message of one console line (with or without its printk timestamp), if it is a panic line. */
    static Optional<String> messageOf(String consoleLine) {
        int at = consoleLine.indexOf(PANIC_PREFIX);
        if (at < 0) {
            return Optional.empty();
        }
        StringBuilder message = new StringBuilder();
        consoleLine.substring(at + PANIC_PREFIX.length()).codePoints()
                .filter(c -> c >= 0x20 && c != 0x7f)
                .limit(MAX_MESSAGE)
                .forEach(message::appendCodePoint);
        String text = message.toString().strip();
        return Optional.of(text.isEmpty() ? "(no message)" : text);
    }
}
