package dev.arrow;

import java.nio.file.FileSystemException;

/**
 * A copy out of the guest ({@link ArrowProcess#copyFileFromGuest}) holds more file content than its limit allows; no
 * part of it was kept on the host.
 */
public final class GuestFileTooLargeException extends FileSystemException {
    private static final long serialVersionUID = 1L;
    private final long limit;

    /**
     * @param guestPath the guest path asked for
     * @param limit     the most bytes of file content the copy could take
     * @param detail    what the guest or the host found, appended to the message; may be null
     */
    public GuestFileTooLargeException(String guestPath, long limit, String detail) {
        super(guestPath, null, "more than the limit of " + limit + " bytes of file content"
                + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")")
                + ": pass a larger limit, or copy a smaller part of it");
        this.limit = limit;
    }

    /** The most bytes of file content the copy could take. */
    public long limit() {
        return limit;
    }
}
