package dev.arrow.image.erofs;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * The identity of a read-only image: the SHA-256 (hex) of its format version and, for each file in name order, its
 * name, mode, size and the SHA-256 of its bytes. Equal ids mean byte-identical images: {@link ErofsWriter} writes
 * nothing that the id does not cover, and its format version changes whenever what it writes does.
 */
public final class ContentId {
    /** Changes with every change to the bytes {@link ErofsWriter} writes for the same files. */
    static final String FORMAT = "arrow-erofs-image 1";

    private ContentId() {
    }

    /**
     * The id of an image holding {@code entries} (in any order).
     *
     * @throws ImageFileException if two entries have one name
     */
    public static String of(Collection<ImageEntry> entries) {
        List<ImageEntry> sorted = new ArrayList<>(entries);
        Comparator<ImageEntry> byName = Comparator.comparing(e -> ImageFile.nameBytes(e.name()), Arrays::compareUnsigned);
        sorted.sort(byName);
        MessageDigest sha = sha256();
        sha.update((FORMAT + "\n").getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < sorted.size(); i++) {
            ImageEntry e = sorted.get(i);
            if (i > 0 && sorted.get(i - 1).name().equals(e.name())) throw ImageFileException.duplicateName(e.name());
            // NUL cannot occur in a name, so this text has one reading
            sha.update((e.name() + "\0" + Integer.toOctalString(e.mode()) + "\0" + e.size() + "\0" + e.sha256() + "\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * The UUID of the image whose id is {@code contentId}: its first 16 bytes, marked as an RFC 9562 version 8
     * (custom) UUID.
     */
    public static UUID uuid(String contentId) {
        byte[] id = HexFormat.of().parseHex(contentId);
        if (id.length != 32) throw new IllegalArgumentException("not a content id (64 hex digits): " + contentId);
        id[6] = (byte) ((id[6] & 0x0f) | 0x80); // version 8
        id[8] = (byte) ((id[8] & 0x3f) | 0x80); // variant 10
        ByteBuffer b = ByteBuffer.wrap(id);
        return new UUID(b.getLong(), b.getLong());
    }

    /** A digest of the kind that hashes a file's bytes for its {@link ImageEntry#sha256()} (and the id itself). */
    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
