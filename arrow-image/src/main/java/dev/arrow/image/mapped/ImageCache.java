package dev.arrow.image.mapped;

import dev.arrow.image.ArrowCache;
import dev.arrow.image.erofs.ContentId;
import dev.arrow.image.erofs.ErofsWriter;
import dev.arrow.image.erofs.FileContent;
import dev.arrow.image.erofs.ImageEntry;
import dev.arrow.image.erofs.ImageFile;
import dev.arrow.image.erofs.ImageFileException;
import dev.arrow.image.erofs.WrittenImage;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's cache of read-only images: one EROFS image per set of files, built once per {@link ContentId} and
 * named by it ({@code <id>.erofs}), shared by every arrow and JVM that asks for the same files.
 *
 * <p>An image is written to a temporary file in the cache directory, forced to the device, made read-only and then
 * hard-linked to its name, which fails if another builder got there first (its image is identical); so a name
 * appears once, with a whole image, and an image that guests map is never replaced. Threads of one JVM build an
 * image once; separate JVMs may both build it, and the first one's stays. Temporary files left by a crashed
 * builder are removed when an hour old. Host files are hashed once per version ({@link HostFileHashes}, remembered
 * beside the images).
 */
public final class ImageCache {
    /** The cache's directory under {@link ArrowCache#root()}. */
    public static final String DIRECTORY = "images";
    static final String IMAGE_SUFFIX = ".erofs";
    static final String TEMP_SUFFIX = ".part";
    /** A temporary file unchanged this long was left by a builder that died. */
    static final Duration ABANDONED = Duration.ofHours(1);
    private static final Logger LOG = LoggerFactory.getLogger(ImageCache.class);
    private static final int STRIPES = 64;

    private final Path directory;
    private final Clock clock;
    private final HostFileHashes hashes;
    /** One lock per stripe of content ids: threads of this JVM build an image once. */
    private final Object[] building = new Object[STRIPES];

    /** A cache in {@code directory}, created (with its parents) when first used. */
    public ImageCache(Path directory) {
        this(directory, Clock.systemUTC());
    }

    ImageCache(Path directory, Clock clock) {
        this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.hashes = new HostFileHashes(this.directory.resolve(HostFileHashes.STORE), clock);
        for (int i = 0; i < STRIPES; i++) building[i] = new Object();
    }

    /** The cache in {@code <Arrow cache root>/images} ({@link ArrowCache#root()}: {@code $ARROW_CACHE} and so on). */
    public static ImageCache inArrowCache() {
        return new ImageCache(ArrowCache.root().resolve(DIRECTORY));
    }

    /**
     * The cache this JVM's arrows share: {@link #inArrowCache()}, or, when that directory cannot be made or written (a
     * read-only home, as in the lab), a private {@code arrow-<user>/images} under {@code java.io.tmpdir}, said once at
     * WARN. Made on first use.
     */
    public static ImageCache shared() {
        return Shared.INSTANCE;
    }

    /** Holder of {@link #shared()}: decided once, on first use. */
    private static final class Shared {
        static final ImageCache INSTANCE = choose();

        private static ImageCache choose() {
            Path preferred = ArrowCache.root().resolve(DIRECTORY);
            try {
                ArrowCache.createPrivateDirectory(preferred);
                if (Files.isWritable(preferred)) return new ImageCache(preferred);
            } catch (IOException e) {
                LOG.debug("{} cannot hold images: {}", preferred, e.toString());
            }
            Path fallback = Path.of(System.getProperty("java.io.tmpdir"), "arrow-" + System.getProperty("user.name"), DIRECTORY);
            LOG.warn("{} is not writable: read-only images are cached in {} instead (set ARROW_CACHE to a writable"
                    + " directory to keep them across reboots)", preferred, fallback);
            return new ImageCache(fallback);
        }
    }

    /** Where the images are. */
    public Path directory() {
        return directory;
    }

    /**
     * The image holding {@code files} (in any order) in its root directory: the cached one, else one built now.
     * A host file is read as it is now; one that changes while its image is built fails the build.
     *
     * @throws ImageFileException  if two files have one name, or a host file is missing, not a regular file,
     *                             unreadable, or changed while it was read
     * @throws ImageCacheException if the cache directory cannot be created or written, or the image cannot be written
     *                             there (a full disk)
     */
    public ReadOnlyImage image(List<ImageFile> files) {
        List<ImageFile> list = new ArrayList<>(files);
        list.sort(ImageFile.BY_NAME);
        Set<String> names = new HashSet<>();
        for (ImageFile f : list) {
            if (!names.add(f.name())) throw ImageFileException.duplicateName(f.name());
        }
        try {
            ArrowCache.createPrivateDirectory(directory);
        } catch (IOException e) {
            throw new ImageCacheException("cannot use " + directory + " as the read-only image cache (" + e + "): make it a directory"
                    + " that this user owns and may write, or set ARROW_CACHE to one", e);
        }
        try {
            long hashing = System.nanoTime();
            long hashedBefore = hashes.filesHashed();
            List<ImageEntry> entries = entries(list);
            LOG.debug("{} files described in {} ms ({} host files read to hash them)", list.size(),
                    (System.nanoTime() - hashing) / 1_000_000, hashes.filesHashed() - hashedBefore);
            String id = ContentId.of(entries);
            long length = ErofsWriter.length(entries);
            Path image = directory.resolve(id + IMAGE_SUFFIX);
            synchronized (building[Math.floorMod(id.hashCode(), STRIPES)]) {
                if (!published(image, length)) build(list, id, length, image);
            }
            saveHashes();
            return new ReadOnlyImage(image, length, id, entries);
        } catch (IOException e) {
            throw new ImageCacheException("cannot build a read-only image in " + directory + " (" + e + "): free space there,"
                    + " make it writable, or set ARROW_CACHE to another directory", e);
        }
    }

    /** Saves the remembered host file hashes; a failure costs the next JVM a hash, not this image. */
    private void saveHashes() {
        try {
            hashes.save();
        } catch (IOException e) {
            LOG.warn("cannot save the host file hashes in {} (the next JVM hashes the files again): {}", directory, e.toString());
        }
    }

    /** The files' names, modes, sizes and hashes, host files by their remembered hash. */
    private List<ImageEntry> entries(List<ImageFile> files) throws IOException {
        List<ImageEntry> entries = new ArrayList<>(files.size());
        for (ImageFile f : files) {
            if (f.content() instanceof FileContent.Bytes bytes) {
                byte[] b = bytes.bytes();
                entries.add(new ImageEntry(f.name(), f.mode(), b.length, HexFormat.of().formatHex(ContentId.sha256().digest(b))));
            } else {
                HostFileHashes.Hash h = hashes.hash(((FileContent.HostFile) f.content()).path());
                entries.add(new ImageEntry(f.name(), f.mode(), h.size(), h.sha256()));
            }
        }
        return entries;
    }

    /** Whether {@code image} is there, whole; one of another length (damaged outside Arrow) is removed. */
    private static boolean published(Path image, long length) throws IOException {
        long size;
        try {
            size = Files.size(image);
        } catch (NoSuchFileException e) {
            return false;
        }
        if (size == length) {
            LOG.debug("read-only image {} is cached", image);
            return true;
        }
        LOG.warn("removing the damaged read-only image {}: {} bytes, not {}; building it again", image, size, length);
        Files.deleteIfExists(image);
        return false;
    }

    private void build(List<ImageFile> files, String id, long length, Path image) throws IOException {
        removeAbandoned();
        long start = System.nanoTime();
        LOG.info("building read-only image {} ({} files, {} MiB)", image, files.size(), length >> 20);
        Path part = Files.createTempFile(directory, id + ".", TEMP_SUFFIX);
        try {
            WrittenImage written = ErofsWriter.write(files, part);
            if (!written.contentId().equals(id)) {
                throw new ImageFileException("a host file changed while its image was built (its bytes are no longer those hashed): "
                        + "build the image once the files are complete");
            }
            Files.setPosixFilePermissions(part, PosixFilePermissions.fromString("r--r--r--"));
            try {
                Files.createLink(image, part);
            } catch (FileAlreadyExistsException e) {
                LOG.debug("another builder published {} first; its image is the same", image);
            }
        } finally {
            Files.deleteIfExists(part);
        }
        LOG.info("built read-only image {} ({} MiB) in {} ms", image, length >> 20, (System.nanoTime() - start) / 1_000_000);
    }

    /** Removes temporary files that builders which died left behind. */
    private void removeAbandoned() throws IOException {
        long before = clock.millis() - ABANDONED.toMillis();
        try (DirectoryStream<Path> parts = Files.newDirectoryStream(directory, "*" + TEMP_SUFFIX)) {
            for (Path part : parts) {
                try {
                    if (Files.getLastModifiedTime(part).toMillis() < before) {
                        Files.deleteIfExists(part);
                        LOG.info("removed {}, left by a builder that died", part);
                    }
                } catch (NoSuchFileException e) {
                    // its builder finished meanwhile
                }
            }
        }
    }
}
