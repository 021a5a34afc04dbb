package dev.arrow.image.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.zip.GZIPInputStream;

/**
 * The guest kernel packaged as class-path resources by the {@code dev.arrow:arrow-kernel} jar
 * ({@code scripts/package-kernel.sh}): a gzip-compressed {@code vmlinux} next to the index {@value #INDEX},
 * which gives the vmlinux's SHA-256 and size (checked when it is extracted, see {@link KernelExtractor}),
 * the build's cache key and the Debian package its source comes from. {@code SOURCE.md}, {@code config}
 * and {@code licenses/} beside them are for people (GPL-2.0), not read here.
 *
 * @param index   where the index was found (for messages)
 * @param image   the compressed vmlinux
 * @param sha256  the SHA-256 of the uncompressed vmlinux, 64 lower-case hex digits
 * @param size    the uncompressed vmlinux's size in bytes
 * @param key     the kernel's build key (scripts/build-kernel.sh --key guest)
 * @param source  the Debian package and version the kernel was built from, e.g. {@code linux-source-6.1 6.1.192-3}
 */
public record KernelArtifact(URL index, URL image, String sha256, long size, String key, String source) {
    /** The index's resource name: the one fact the jar and the locator share. */
    public static final String INDEX = "dev/arrow/kernel/guest/kernel.properties";
    /** The largest vmlinux accepted (Arrow's is about 17 MB): bounds what a corrupt index can ask for. */
    static final long MAX_SIZE = 512L << 20;
    private static final String FIX = "the dev.arrow:arrow-kernel jar is damaged: rebuild or re-download it"
            + " (mvn install of Arrow packages it from scripts/setup.sh's kernel), or pass .kernel(path)";

    public KernelArtifact {
        Objects.requireNonNull(index, "index");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(source, "source");
        if (sha256 == null || sha256.length() != 64 || !sha256.chars().allMatch(c -> Character.digit(c, 16) >= 0 && !Character.isUpperCase(c))) {
            throw new KernelLookupException("the kernel artifact's index " + index + " has no valid sha256 (64 lower-case hex digits): " + FIX);
        }
        if (size <= 0 || size > MAX_SIZE) {
            throw new KernelLookupException("the kernel artifact's index " + index + " gives size " + size
                    + ", not between 1 and " + MAX_SIZE + " bytes: " + FIX);
        }
    }

    /** The packaged kernel visible to {@code loader}, if a {@code dev.arrow:arrow-kernel} jar is on its class path. */
    public static Optional<KernelArtifact> find(ClassLoader loader) {
        URL index = loader.getResource(INDEX);
        return index == null ? Optional.empty() : Optional.of(read(index));
    }

    /**
     * Reads the index at {@code index}; the image is the resource its {@code image=} names, beside it.
     *
     * @throws KernelLookupException if the index cannot be read or lacks an entry
     */
    static KernelArtifact read(URL index) {
        Properties p = new Properties();
        try (InputStream in = index.openStream()) {
            p.load(in);
        } catch (IOException | IllegalArgumentException e) {
            throw new KernelLookupException("cannot read the kernel artifact's index " + index + ": " + e.getMessage() + "; " + FIX, e);
        }
        String image = entry(p, index, "image");
        if (image.contains("/") || image.startsWith(".")) {
            throw new KernelLookupException("the kernel artifact's index " + index + " names image " + image
                    + ", not a file beside it: " + FIX);
        }
        long size;
        try {
            size = Long.parseLong(entry(p, index, "size"));
        } catch (NumberFormatException e) {
            throw new KernelLookupException("the kernel artifact's index " + index + " gives size " + p.getProperty("size")
                    + ", not a number: " + FIX, e);
        }
        URL imageUrl;
        try {
            imageUrl = new URL(index, image);
        } catch (IOException e) {
            throw new KernelLookupException("the kernel artifact's index " + index + " names image " + image + ": " + e.getMessage() + "; " + FIX, e);
        }
        return new KernelArtifact(index, imageUrl, entry(p, index, "sha256"), size, entry(p, index, "key"), entry(p, index, "source"));
    }

    private static String entry(Properties p, URL index, String name) {
        String v = p.getProperty(name);
        if (v == null || v.isBlank()) {
            throw new KernelLookupException("the kernel artifact's index " + index + " has no " + name + "= entry: " + FIX);
        }
        return v.trim();
    }

    /** The uncompressed vmlinux, as stored (not checked: {@link KernelExtractor} checks size and hash). */
    InputStream openVmlinux() throws IOException {
        return new GZIPInputStream(image.openStream(), 1 << 16);
    }

    /** Why a damaged artifact cannot be used, with the fix. */
    KernelLookupException corrupt(String problem, Throwable cause) {
        return new KernelLookupException("the kernel artifact " + image + " is corrupt: " + problem + "; " + FIX, cause);
    }
}
