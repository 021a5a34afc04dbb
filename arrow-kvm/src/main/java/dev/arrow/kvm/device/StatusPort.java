package dev.arrow.kvm.device;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The guest-to-VMM status channel (I/O ports 0xF4..0xF7): Arrow's init writes ASCII lines such as
 * {@code arrow-status exited 0\n}, 4 bytes per {@code outl} to 0xF4 and the last 0..3 bytes of a line one
 * per {@code outb}. This device assembles the bytes into lines and hands each complete line, without its
 * newline, to a listener.
 *
 * <p>A line may be at most {@link #MAX_LINE_BYTES} bytes including its newline. A longer line is
 * dropped as a whole (everything up to and including its newline) and counted in
 * {@link #discardedLines()}; so is a line that is not valid UTF-8. Bytes are never buffered
 * beyond that limit, whatever the guest writes. NUL and other control bytes are passed through
 * as characters; interpreting the line is the listener's business. The bytes of a multi-byte
 * access are taken in order (an {@code outl}'s little-endian value: the guest's bytes in memory order),
 * whatever the offset of the access: a write to 0xF5..0xF7 continues the line like one to 0xF4. Reads
 * return 0.
 *
 * <p>State: {@link #state()} captures the line being assembled as a {@link State};
 * {@link #restore} builds a port that continues it. The counters are statistics, not state.
 *
 * <p>Thread-safe. The listener runs on the writing vCPU thread, under this device's lock.
 */
public final class StatusPort implements BusDevice {

    /** Longest accepted line in bytes, including the terminating newline. */
    public static final int MAX_LINE_BYTES = 1024;

    private final Consumer<String> listener;
    private final byte[] line = new byte[MAX_LINE_BYTES - 1];
    private int length;
    private boolean discarding;
    private long discardedLines;
    private long deliveredLines;

    public StatusPort(Consumer<String> listener) {
        if (listener == null) {
            throw new IllegalArgumentException("status line listener is required");
        }
        this.listener = listener;
    }

    /**
     * The guest's unfinished line: the bytes written since the last newline ({@code line}), or,
     * while a too-long line is being skipped ({@code discarding}), none.
     */
    public record State(byte[] line, boolean discarding) {
        /** @throws IllegalArgumentException for a line no port could hold */
        public State {
            if (line == null) {
                throw new IllegalArgumentException("status port state: line is required");
            }
            if (line.length > MAX_LINE_BYTES - 1) {
                throw new IllegalArgumentException("status port state: a line of " + line.length
                        + " bytes is longer than the " + (MAX_LINE_BYTES - 1) + " a port keeps");
            }
            if (discarding && line.length > 0) {
                throw new IllegalArgumentException("status port state: a line that is being discarded keeps no bytes");
            }
            for (byte b : line) {
                if (b == '\n') {
                    throw new IllegalArgumentException("status port state: an unfinished line contains a newline");
                }
            }
            line = line.clone();
        }

        @Override
        public byte[] line() {
            return line.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof State s && s.discarding == discarding && Arrays.equals(s.line, line);
        }

        @Override
        public int hashCode() {
            return Objects.hash(discarding, Arrays.hashCode(line));
        }

        @Override
        public String toString() {
            return "StatusPort.State[line=" + Arrays.toString(line) + ", discarding=" + discarding + "]";
        }
    }

    /** A port that continues the line of {@code state}, handing complete lines to {@code listener}. */
    public static StatusPort restore(State state, Consumer<String> listener) {
        StatusPort port = new StatusPort(listener);
        synchronized (port) {
            byte[] bytes = state.line();
            System.arraycopy(bytes, 0, port.line, 0, bytes.length);
            port.length = bytes.length;
            port.discarding = state.discarding();
        }
        return port;
    }

    /** The unfinished line as it stands. */
    public synchronized State state() {
        return new State(Arrays.copyOf(line, length), discarding);
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        for (byte b : data) {
            accept(b);
        }
    }

    /** Lines dropped for being too long or not UTF-8. */
    public synchronized long discardedLines() {
        return discardedLines;
    }

    /** Lines handed to the listener. */
    public synchronized long deliveredLines() {
        return deliveredLines;
    }

    /** Bytes of the line being assembled (for diagnostics when the guest ends mid-line). */
    public synchronized int pendingBytes() {
        return length;
    }

    private void accept(byte b) {
        if (b == '\n') {
            if (discarding) {
                discarding = false;
            } else {
                deliver();
            }
            length = 0;
            return;
        }
        if (discarding) {
            return;
        }
        if (length == line.length) {
            discarding = true; // no room for this byte and the newline: the line is too long
            discardedLines++;
            length = 0;
            return;
        }
        line[length++] = b;
    }

    private void deliver() {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(line, 0, length))
                    .toString();
        } catch (CharacterCodingException e) {
            discardedLines++;
            return;
        }
        deliveredLines++;
        listener.accept(text);
    }
}
