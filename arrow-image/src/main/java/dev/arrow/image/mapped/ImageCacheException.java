package dev.arrow.image.mapped;

import dev.arrow.image.ImageException;

/** The read-only image cache cannot be used: its directory cannot be created or written, or a build failed there. */
public final class ImageCacheException extends ImageException {
    private static final long serialVersionUID = 1L;

    public ImageCacheException(String message, Throwable cause) {
        super(message, cause);
    }
}
