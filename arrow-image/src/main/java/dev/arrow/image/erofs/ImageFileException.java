package dev.arrow.image.erofs;

import dev.arrow.image.ImageException;
import java.nio.file.Path;

/**
 * A file given for a read-only image that cannot go into it: a name that is not a plain file name, two files of one
 * name, bad mode bits, a host file that is missing or that changed while the image was built.
 */
public final class ImageFileException extends ImageException {
    private static final long serialVersionUID = 1L;

    public ImageFileException(String message) {
        super(message);
    }

    /** Two files of one image are named {@code name}. */
    public static ImageFileException duplicateName(String name) {
        return new ImageFileException("two image files are named \"" + name + "\": give each file its own name");
    }

    /** The host file {@code path} does not exist. */
    public static ImageFileException missingHostFile(Path path) {
        return new ImageFileException("host file " + path + " does not exist: fix the path or create the file");
    }

    /** The host file {@code path} is a directory, device or other non-regular file. */
    public static ImageFileException notARegularFile(Path path) {
        return new ImageFileException("host file " + path + " is not a regular file: pass a regular file (not a directory or device)");
    }

    /** This user may not read the host file {@code path}. */
    public static ImageFileException unreadableHostFile(Path path) {
        return new ImageFileException("host file " + path + " is not readable by this user: make it readable");
    }

    /** The host file {@code path} changed ({@code how}) while it was read for an image. */
    public static ImageFileException changedWhileRead(Path path, String how) {
        return new ImageFileException("host file " + path + " " + how + " while its image was built:"
                + " build the image once the file is complete");
    }
}
