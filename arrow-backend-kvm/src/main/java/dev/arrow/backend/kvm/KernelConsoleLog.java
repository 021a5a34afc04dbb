package dev.arrow.backend.kvm;

import dev.arrow.kvm.device.TokenBucket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The guest's serial console when the app's stdio goes over virtio: the kernel's own log (with
 * {@code debugConsole()}), logged line by line through SLF4J logger {@value #LOGGER_NAME}, at INFO
 * when debugging was asked for and at WARN otherwise (a quiet guest writes nothing there, so
 * anything that appears is unexpected). Lines are cut at {@value #MAX_LINE} characters; carriage
 * returns and other control characters are dropped; a partial last line is logged on
 * {@link #close()}. Thread-safe.
 *
 * <p>The guest decides what it writes (the app is root in it and can write the port), so what
 * reaches the log is limited per arrow ({@link Limits}): a rate of lines and of bytes, each with a
 * burst ({@link TokenBucket}s), and a total. A line over a limit is dropped and counted; the first
 * drop of each kind is said once, at WARN, and {@link #close()} says how many lines and bytes
 * were dropped in all.
 */
final class KernelConsoleLog extends OutputStream {
    static final String LOGGER_NAME = "dev.arrow.guest.console";
    static final int MAX_LINE = 1024;
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER_NAME);

    /**
     * How much console output one arrow may log: {@code linesPerSecond} and {@code bytesPerSecond}
     * sustained, bursts of {@code lineBurst} lines and {@code byteBurst} bytes, and
     * {@code totalBytes} over its life. A line costs its length plus one byte (its end).
     */
    record Limits(long linesPerSecond, long lineBurst, long bytesPerSecond, long byteBurst, long totalBytes) {
        /** A debug boot's log (a few hundred lines) passes whole; a flood gets 16 KiB/s, 4 MiB in all. */
        static final Limits DEFAULT = new Limits(50, 1000, 16 * 1024, 128 * 1024, 4 * 1024 * 1024);

        Limits {
            if (linesPerSecond < 1 || lineBurst < 1 || bytesPerSecond < 1 || byteBurst <= MAX_LINE
                    || totalBytes <= MAX_LINE) {
                throw new IllegalArgumentException("console limits must be positive, with a byte burst and total above "
                        + MAX_LINE + " (the longest line): " + this);
            }
        }
    }

    private final Consumer<String> lines;
    private final Consumer<String> notices;
    private final Limits limits;
    private final TokenBucket lineBucket;
    private final TokenBucket byteBucket;
    private final byte[] line = new byte[MAX_LINE];
    private int length;
    private long loggedBytes;
    private long droppedLines;
    private long droppedBytes;
    private boolean rateNoticed;
    private boolean totalNoticed;
    private boolean closed;

    /** @param prefix put before each line, e.g. the VM's name */
    KernelConsoleLog(boolean debug, String prefix) {
        this(debug ? text -> LOG.info("{}{}", prefix, text) : text -> LOG.warn("{}{}", prefix, text),
                text -> LOG.warn("{}{}", prefix, text), Limits.DEFAULT, System::nanoTime);
    }

    /** Hands each line (without its newline) to {@code lines}, within the default limits. */
    KernelConsoleLog(Consumer<String> lines) {
        this(lines, LOG::warn, Limits.DEFAULT, System::nanoTime);
    }

    /**
     * @param lines     gets each line within the limits
     * @param notices   gets what the limits did (a first drop, the final count)
     * @param nanoClock the clock of the rate limits
     */
    KernelConsoleLog(Consumer<String> lines, Consumer<String> notices, Limits limits, LongSupplier nanoClock) {
        this.lines = lines;
        this.notices = notices;
        this.limits = limits;
        this.lineBucket = new TokenBucket(limits.linesPerSecond(), limits.lineBurst(), nanoClock);
        this.byteBucket = new TokenBucket(limits.bytesPerSecond(), limits.byteBurst(), nanoClock);
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

    /** Logs a partial last line, then how much the limits dropped (if anything). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (length > 0) {
            emit();
        }
        if (droppedLines > 0) {
            notices.accept(droppedLines + " line(s) (" + droppedBytes + " bytes) of guest console output were dropped "
                    + "by its limits");
        }
    }

    /** Lines the limits dropped so far. */
    synchronized long droppedLines() {
        return droppedLines;
    }

    private void emit() {
        int n = length;
        length = 0;
        long cost = n + 1L;
        if (loggedBytes + cost > limits.totalBytes()) {
            drop(cost);
            if (!totalNoticed) {
                totalNoticed = true;
                notices.accept("guest console output reached its limit of " + limits.totalBytes()
                        + " bytes for this arrow; the rest is dropped (counted)");
            }
            return;
        }
        if (lineBucket.available() < 1 || byteBucket.available() < cost) {
            drop(cost);
            if (!rateNoticed) {
                rateNoticed = true;
                notices.accept("guest console output exceeds its limit of " + limits.linesPerSecond() + " lines and "
                        + limits.bytesPerSecond() + " bytes per second (bursts of " + limits.lineBurst() + " lines, "
                        + limits.byteBurst() + " bytes); lines over it are dropped (counted)");
            }
            return;
        }
        lineBucket.tryTake(1);
        byteBucket.tryTake(cost);
        loggedBytes += cost;
        lines.accept(new String(line, 0, n, StandardCharsets.UTF_8));
    }

    private void drop(long bytes) {
        droppedLines++;
        droppedBytes += bytes;
    }
}
