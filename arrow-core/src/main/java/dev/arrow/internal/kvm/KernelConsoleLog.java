package dev.arrow.internal.kvm;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * The guest's serial console when the app's stdio goes over virtio: the kernel's own log (with
 * {@code debugConsole()}), logged line by line through SLF4J logger {@value #LOGGER_NAME}, at INFO
 * when debugging was asked for and at WARN otherwise (a quiet guest writes nothing there, so
 * anything that appears is unexpected). Lines are cut at {@value #MAX_LINE} characters; carriage
 * returns and other control characters are dropped; a partial last line is logged on
 * {@link #close()}. Thread-safe.
 */
final class KernelConsoleLog extends OutputStream {
    static final String LOGGER_NAME = "dev.arrow.guest.console";
    static final int MAX_LINE = 1024;
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER_NAME);

    private final Consumer<String> lines;
    private final byte[] line = new byte[MAX_LINE];
    private int length;

    /** @param prefix put before each line, e.g. the VM's name */
    KernelConsoleLog(boolean debug, String prefix) {
        this(debug ? text -> LOG.info("{}{}", prefix, text) : text -> LOG.warn("{}{}", prefix, text));
    }

    /** Hands each line (without its newline) to {@code lines}. */
    KernelConsoleLog(Consumer<String> lines) {
        this.lines = lines;
    }

    @Override
    public synchronized void write(int b) {
        if (b == '\n') {
            emit();
            return;
        }
        if (b == '\t' || (b >= 0x20 && b != 0x7f)) {
            line[length++] = (byte) b;
            if (length == line.length) {
                emit();
            }
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        for (int i = 0; i < len; i++) {
            write(b[off + i] & 0xff);
        }
    }

    /** Nothing: the serial port flushes after every byte, and lines are logged whole. */
    @Override
    public void flush() {
    }

    /** Logs a partial last line. */
    @Override
    public synchronized void close() {
        if (length > 0) {
            emit();
        }
    }

    private void emit() {
        String text = new String(line, 0, length, StandardCharsets.UTF_8);
        length = 0;
        lines.accept(text);
    }
}
