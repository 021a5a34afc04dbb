package dev.arrow.kvm.net;

import java.io.IOException;

/**
 * The peer of a length-prefixed frame stream broke the framing: a length of zero or above the
 * limit, or an end of stream inside a frame. The stream cannot be resynchronised; the backend
 * stops.
 */
public final class FrameStreamException extends IOException {
    public FrameStreamException(String message) {
        super(message);
    }
}
