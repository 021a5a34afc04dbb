package dev.arrow.image.erofs;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.CharBuffer;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;

/**
 * A regular file of a read-only image: its name in the image's root directory, its permission bits (owner and group
 * are root) and where its bytes come from.
 *
 * @param name    a plain file name: 1 to {@value #MAX_NAME_BYTES} bytes of UTF-8, no {@code /} or NUL, not {@code .}
 *                or {@code ..}
 * @param mode    permission bits, {@code 0} to {@code 07777} (for example {@code 0755})
 * @param content the bytes
 */
public record ImageFile(String name, int mode, FileContent content) {
    /** The longest name a directory entry holds, in bytes of UTF-8. */
    public static final int MAX_NAME_BYTES = 255;
    /** The permission bits a mode may carry (setuid, setgid, sticky and rwx for all three). */
    public static final int PERMISSION_BITS = 07777;

    /** Orders files as their directory does: by the unsigned bytes of their UTF-8 names. */
    public static final Comparator<ImageFile> BY_NAME = Comparator.comparing(f -> nameBytes(f.name()), Arrays::compareUnsigned);

    public ImageFile {
        checkName(name);
        checkMode(name, mode);
        Objects.requireNonNull(content, "content");
    }

    /** The host file {@code path} as {@code name}, streamed from the host when the image is written. */
    public static ImageFile hostFile(String name, Path path, int mode) {
        return new ImageFile(name, mode, new FileContent.HostFile(path));
    }

    /** {@code bytes} as the file {@code name}. */
    public static ImageFile bytes(String name, byte[] bytes, int mode) {
        return new ImageFile(name, mode, new FileContent.Bytes(bytes));
    }

    /**
     * The UTF-8 bytes of a valid name.
     *
     * @throws ImageFileException if {@code name} is not a plain file name
     */
    static byte[] nameBytes(String name) {
        checkName(name);
        return utf8(name);
    }

    static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        String fix = ": name each image file with a plain file name (no directories), for example \"app\" or \"0\"";
        if (name.isEmpty()) throw new ImageFileException("an image file has an empty name" + fix);
        if (name.equals(".") || name.equals("..")) throw new ImageFileException("an image file is named \"" + name + "\"" + fix);
        if (name.indexOf('/') >= 0) throw new ImageFileException("image file name \"" + name + "\" contains '/'" + fix);
        if (name.indexOf('\0') >= 0) throw new ImageFileException("image file name \"" + name.replace("\0", "\\0") + "\" contains NUL" + fix);
        int length = utf8(name).length;
        if (length > MAX_NAME_BYTES) {
            throw new ImageFileException("image file name \"" + name + "\" has " + length + " bytes of UTF-8, more than "
                    + MAX_NAME_BYTES + ": give it a shorter name");
        }
    }

    private static void checkMode(String name, int mode) {
        if ((mode & ~PERMISSION_BITS) != 0) {
            throw new ImageFileException("image file \"" + name + "\" has mode 0" + Integer.toOctalString(mode)
                    + ", which is not permission bits: give 0 to 07777 (for example 0755), the file type is implied");
        }
    }

    private static byte[] utf8(String name) {
        try {
            ByteBuffer encoded = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(name));
            byte[] bytes = new byte[encoded.remaining()];
            encoded.get(bytes);
            return bytes;
        } catch (CharacterCodingException e) {
            throw new ImageFileException("image file name \"" + name + "\" is not valid Unicode (an unpaired surrogate):"
                    + " give it a name of whole characters");
        }
    }
}
