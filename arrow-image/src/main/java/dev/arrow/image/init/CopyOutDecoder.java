package dev.arrow.image.init;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Reads the frames init writes on {@value InitProtocol#FILES_PORT_NAME} (init.c, "Copy-out") and hands each copy to a
 * {@link Listener}. A frame is one type byte, a little-endian 32-bit copy id, a little-endian 32-bit payload length
 * and the payload:
 * <ul>
 *   <li>{@code B} begins a copy: the guest path asked for;</li>
 *   <li>{@code D} a directory, {@code F} a regular file: 32-bit mode, then the path relative to the copied root
 *       ({@code ""} for the root itself); a file's bytes follow in {@code C} frames of at most {@value #CHUNK_BYTES};</li>
 *   <li>{@code L} a symbolic link: relative path, NUL, target;</li>
 *   <li>{@code E} ends the copy: 32-bit errno (0: the copy is whole), then init's message.</li>
 * </ul>
 * Copies do not interleave: every frame between a {@code B} and its {@code E} carries the {@code B}'s id. The guest is
 * not trusted: an unknown type, a payload over its bound or a frame outside its copy is a {@link CopyOutProtocolException},
 * after which the stream is not read further. Paths and targets are decoded as UTF-8 and passed on unchecked.
 */
public final class CopyOutDecoder {
    /** The most file content one {@code C} frame carries. */
    public static final int CHUNK_BYTES = 65536;
    /** The most bytes of any frame's payload. */
    static final int MAX_PAYLOAD_BYTES = CHUNK_BYTES;
    static final int HEADER_BYTES = 9;

    /** Receives the copies of one stream, in order, on the decoding thread. */
    public interface Listener {
        /** Copy {@code id} of {@code guestPath} begins ({@link InitProtocol#COPY_OUT_EXIT_ID}: sent after the app ended). */
        void begin(long id, String guestPath);

        void directory(String path, int mode);

        void file(String path, int mode);

        /** Bytes of the file of the last {@link #file} call. */
        void content(byte[] bytes, int offset, int length);

        void symlink(String path, String target);

        /** The copy ends: whole when {@code errno} is 0, else failed for init's {@code message}. */
        void end(int errno, String message);
    }

    private final InputStream in;
    private final byte[] header = new byte[HEADER_BYTES];
    private final byte[] payload = new byte[MAX_PAYLOAD_BYTES];

    public CopyOutDecoder(InputStream in) {
        this.in = Objects.requireNonNull(in, "in");
    }

    /**
     * Decodes frames until the stream ends.
     *
     * @throws CopyOutProtocolException if a frame is malformed
     * @throws IOException              if reading fails; an {@link EOFException} if the stream ends inside a frame
     */
    public void run(Listener listener) throws IOException {
        long open = -1; // the id of the copy between its B and E frames
        while (readFully(header, HEADER_BYTES, true)) {
            char type = (char) (header[0] & 0xFF);
            long id = le32(header, 1);
            long length = le32(header, 5);
            if (length > MAX_PAYLOAD_BYTES) {
                throw new CopyOutProtocolException("frame '" + printable(type) + "' of " + length + " bytes, more than "
                        + MAX_PAYLOAD_BYTES);
            }
            int n = (int) length;
            readFully(payload, n, false);
            if (type == 'B') {
                if (open >= 0) {
                    throw new CopyOutProtocolException("copy " + id + " begins inside copy " + open);
                }
                open = id;
                listener.begin(id, text(0, n));
                continue;
            }
            if (open < 0 || id != open) {
                throw new CopyOutProtocolException("frame '" + printable(type) + "' of copy " + id + " outside it (open: "
                        + (open < 0 ? "none" : open) + ")");
            }
            switch (type) {
                case 'D', 'F' -> {
                    requireAtLeast(type, n, 4);
                    int mode = (int) le32(payload, 0);
                    if (type == 'D') {
                        listener.directory(text(4, n - 4), mode);
                    } else {
                        listener.file(text(4, n - 4), mode);
                    }
                }
                case 'C' -> listener.content(payload, 0, n);
                case 'L' -> {
                    int nul = indexOfNul(n);
                    if (nul < 0) {
                        throw new CopyOutProtocolException("link frame of copy " + id + " without the NUL after its path");
                    }
                    listener.symlink(text(0, nul), text(nul + 1, n - nul - 1));
                }
                case 'E' -> {
                    requireAtLeast(type, n, 4);
                    long errno = le32(payload, 0);
                    open = -1;
                    listener.end((int) Math.min(errno, Integer.MAX_VALUE), text(4, n - 4));
                }
                default -> throw new CopyOutProtocolException("unknown frame type '" + printable(type) + "'");
            }
        }
        if (open >= 0) {
            throw new EOFException("the guest's files stream ended inside copy " + open);
        }
    }

    private boolean readFully(byte[] buffer, int n, boolean endAllowed) throws IOException {
        int got = 0;
        while (got < n) {
            int r = in.read(buffer, got, n - got);
            if (r < 0) {
                if (got == 0 && endAllowed) {
                    return false;
                }
                throw new EOFException("the guest's files stream ended inside a frame (" + got + " of " + n + " bytes)");
            }
            got += r;
        }
        return true;
    }

    private static void requireAtLeast(char type, int n, int min) throws CopyOutProtocolException {
        if (n < min) {
            throw new CopyOutProtocolException("frame '" + type + "' of " + n + " bytes, fewer than " + min);
        }
    }

    private int indexOfNul(int n) {
        for (int i = 0; i < n; i++) {
            if (payload[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private String text(int offset, int length) {
        return new String(payload, offset, length, StandardCharsets.UTF_8);
    }

    private static long le32(byte[] b, int offset) {
        return (b[offset] & 0xFFL) | (b[offset + 1] & 0xFFL) << 8 | (b[offset + 2] & 0xFFL) << 16 | (b[offset + 3] & 0xFFL) << 24;
    }

    private static String printable(char c) {
        return c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\x%02x", (int) c);
    }
}
