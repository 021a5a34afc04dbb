package dev.arrow.image.init;

import dev.arrow.image.GuestPath;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A file init writes before the app starts, delivered inside the spec (a {@code file} record) rather than
 * in the initramfs: how a clone of a template gets files of its own. Init creates the parent
 * directories (0755) and gives the file exactly {@code mode}. The content is copied in and out.
 *
 * @param path    where init writes it: not {@value ArrowInit#GUEST_PATH} and not inside {@link #RESERVED_DIRECTORIES}
 * @param mode    permission bits, 0..07777
 * @param content the bytes; at most {@link SpecFile#MAX_BYTES} with the rest of the spec
 */
public record LaunchFile(GuestPath path, int mode, byte[] content) {
    /** Directories init refuses to write a file into: Arrow's own and the kernel's file systems. */
    public static final List<String> RESERVED_DIRECTORIES = List.of("/arrow", "/proc", "/sys", "/dev");

    public LaunchFile {
        Objects.requireNonNull(path, "path");
        content = Objects.requireNonNull(content, "content").clone();
        if (mode < 0 || mode > 07777)
            throw new InvalidLaunchSpecException(String.format("mode 0%o of %s has bits outside 07777: pass permission bits"
                    + " only (e.g. 0644)", mode, path));
        checkPath(path, "file path");
    }

    /** The rules of a path init writes or binds a file at; {@code what} names it in the message. */
    static void checkPath(GuestPath path, String what) {
        if (path.isRoot() || path.value().equals(ArrowInit.GUEST_PATH))
            throw new InvalidLaunchSpecException(what + " " + path + " is " + (path.isRoot() ? "the root directory" : "init itself")
                    + ": pass a path such as /data/input");
        for (String dir : RESERVED_DIRECTORIES) {
            if (path.value().equals(dir) || path.value().startsWith(dir + "/"))
                throw new InvalidLaunchSpecException(what + " " + path + " is inside " + dir + " (" + String.join(", ",
                        RESERVED_DIRECTORIES) + " are Arrow's own or kernel file systems): put the file elsewhere, e.g. /data/"
                        + path.fileName());
        }
    }

    /** A copy of the content. */
    @Override
    public byte[] content() {
        return content.clone();
    }

    /** The content's length in bytes. */
    public int length() {
        return content.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LaunchFile other && path.equals(other.path) && mode == other.mode
                && Arrays.equals(content, other.content);
    }

    @Override
    public int hashCode() {
        return Objects.hash(path, mode, Arrays.hashCode(content));
    }

    @Override
    public String toString() {
        return "LaunchFile[" + path + ", mode 0" + Integer.toOctalString(mode) + ", " + content.length + " bytes]";
    }
}
