package dev.arrow.image;

import dev.arrow.config.LinuxLimits;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * An absolute, normalised path inside the guest's file system, e.g. {@code /arrow/app}.
 *
 * <p>Valid paths start with {@code /}, have no empty components ({@code //}, trailing
 * {@code /}), no {@code .} or {@code ..} components and no NUL; components are at most 255
 * bytes and the whole path at most 4095 bytes ({@link LinuxLimits#NAME_MAX} and
 * {@link LinuxLimits#MAX_PATH_BYTES}). {@code /} alone is the root.
 */
public record GuestPath(String value) implements Comparable<GuestPath> {
    public static final GuestPath ROOT = new GuestPath("/");

    public GuestPath {
        validate(value);
    }

    /** Parses {@code path}; throws {@link InvalidGuestPathException} naming what is wrong. */
    public static GuestPath of(String path) {
        return new GuestPath(path);
    }

    private static void validate(String path) {
        if (path == null) throw new InvalidGuestPathException("guest path is null: pass an absolute path such as /arrow/app");
        if (path.indexOf('\0') >= 0)
            throw new InvalidGuestPathException("guest path " + printable(path) + " contains a NUL character: remove it");
        if (!path.startsWith("/"))
            throw new InvalidGuestPathException("guest path '" + path + "' is not absolute: start it with /, e.g. /" + path);
        if (path.getBytes(StandardCharsets.UTF_8).length > LinuxLimits.MAX_PATH_BYTES)
            throw new InvalidGuestPathException("guest path '" + abbreviate(path) + "' is longer than "
                    + LinuxLimits.MAX_PATH_BYTES + " bytes: shorten it");
        if (path.equals("/")) return;
        String[] parts = path.substring(1).split("/", -1);
        for (String part : parts) {
            if (part.isEmpty())
                throw new InvalidGuestPathException("guest path '" + path + "' has an empty component (// or a trailing /): remove it");
            if (part.equals(".") || part.equals(".."))
                throw new InvalidGuestPathException("guest path '" + path + "' contains '" + part + "': use a normalised path without . or ..");
            if (part.getBytes(StandardCharsets.UTF_8).length > LinuxLimits.NAME_MAX)
                throw new InvalidGuestPathException("guest path '" + abbreviate(path) + "' has a component longer than "
                        + LinuxLimits.NAME_MAX + " bytes: shorten it");
        }
    }

    private static String printable(String s) {
        return "'" + abbreviate(s.replace("\0", "\\0")) + "'";
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    public boolean isRoot() {
        return value.equals("/");
    }

    /** The parent directory, empty for the root. */
    public Optional<GuestPath> parent() {
        if (isRoot()) return Optional.empty();
        int slash = value.lastIndexOf('/');
        return Optional.of(slash == 0 ? ROOT : new GuestPath(value.substring(0, slash)));
    }

    /** The last component ({@code app} for {@code /arrow/app}); empty for the root. */
    public String fileName() {
        return value.substring(value.lastIndexOf('/') + 1);
    }

    /** This path with one more component; {@code name} must be a single valid component. */
    public GuestPath resolve(String name) {
        if (name == null || name.isEmpty() || name.indexOf('/') >= 0)
            throw new InvalidGuestPathException("'" + name + "' is not a single path component: pass a name without /");
        return new GuestPath(isRoot() ? "/" + name : value + "/" + name);
    }

    /** The directories above this path, outermost first, without the root. */
    public List<GuestPath> ancestors() {
        List<GuestPath> result = new ArrayList<>();
        Optional<GuestPath> p = parent();
        while (p.isPresent() && !p.get().isRoot()) {
            result.add(p.get());
            p = p.get().parent();
        }
        Collections.reverse(result);
        return result;
    }

    /** The name as stored in a cpio archive: relative to the root ({@code arrow/app}). */
    public String archiveName() {
        return isRoot() ? "." : value.substring(1);
    }

    @Override
    public int compareTo(GuestPath other) {
        return value.compareTo(other.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
