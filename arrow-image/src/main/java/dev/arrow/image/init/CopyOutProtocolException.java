package dev.arrow.image.init;

import java.io.IOException;

/** The guest broke the framing of {@value InitProtocol#FILES_PORT_NAME} ({@link CopyOutDecoder}); the stream is unusable. */
public final class CopyOutProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    public CopyOutProtocolException(String message) {
        super("malformed copy-out stream from the guest: " + message);
    }
}
