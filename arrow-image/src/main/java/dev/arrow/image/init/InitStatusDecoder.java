package dev.arrow.image.init;

import java.util.Optional;

/**
 * Turns the byte stream of the status port into {@link InitStatus} records: collects bytes up to
 * a newline and parses the line. Lines longer than {@link InitProtocol#STATUS_LINE_MAX_BYTES} are dropped
 * whole, as are lines that do not parse; the decoder's memory stays bounded whatever the guest
 * writes. Not thread-safe: one decoder per status port.
 */
public final class InitStatusDecoder {
    private final byte[] line = new byte[InitProtocol.STATUS_LINE_MAX_BYTES];
    private int length;
    private boolean overlong;
    private long ignoredLines;

    /** Feeds one byte; returns a record when it completes a valid line. */
    public Optional<InitStatus> accept(byte b) {
        if (b == '\n') {
            Optional<InitStatus> result = overlong ? Optional.empty() : InitStatus.parse(line, 0, length);
            if (result.isEmpty()) ignoredLines++;
            length = 0;
            overlong = false;
            return result;
        }
        if (overlong) return Optional.empty();
        if (length == line.length - 1) { // no room left for the newline that must end the line
            overlong = true;
            length = 0;
            return Optional.empty();
        }
        line[length++] = b;
        return Optional.empty();
    }

    /** Lines dropped so far because they were too long or did not parse. */
    public long ignoredLines() {
        return ignoredLines;
    }
}
