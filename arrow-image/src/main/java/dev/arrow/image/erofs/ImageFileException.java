package dev.arrow.image.erofs;

import dev.arrow.image.ImageException;

/**
 * A file given for a read-only image that cannot go into it: a name that is not a plain file name, two files of one
 * name, bad mode bits, a host file that is missing or that changed while the image was built.
 */
public final class ImageFileException extends ImageException {
    private static final long serialVersionUID = 1L;

    public ImageFileException(String message) {
        super(message);
    }
}
