package dev.arrow.image.init;

import java.util.Locale;

/**
 * Where init connects the app's stdin, stdout and stderr; {@link #specName()} is the value of the
 * spec file's {@code stdio} record.
 */
public enum Stdio {
    /**
     * The serial console ({@code /dev/console} = ttyS0) for all three, in raw mode: one byte per VM
     * exit, stdout and stderr mixed, no end-of-file on stdin. The default.
     */
    SERIAL,
    /**
     * The virtio console's named ports {@code arrow.stdin}, {@code arrow.stdout} and
     * {@code arrow.stderr}, plus {@code arrow.control} read by init itself (see
     * {@code docs/virtio.md}): separate streams, back-pressure, end-of-file, graceful stop.
     */
    VIRTIO;

    /** The spec file value: {@code serial} or {@code virtio}. */
    public String specName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
