package dev.arrow.image;

import dev.arrow.image.cpio.CheckedBytes;
import dev.arrow.image.elf.StaticBinary;
import dev.arrow.image.elf.StaticBinaryCheck;
import dev.arrow.image.erofs.ImageFile;
import dev.arrow.image.erofs.ImageFileException;
import dev.arrow.image.mapped.ImageCache;
import dev.arrow.image.mapped.ReadOnlyImage;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * This JVM's {@link PreparedBinary}s, one per app binary and loader threshold, so that the second and later starts of
 * an arrow neither check, read, checksum nor look up the image of a binary the first start did (docs/guest-image.md,
 * "The app binary cache"). Keyed by the binary's absolute path and {@link LoaderPlan#minMappedBytes()}; an entry serves
 * a start only while the file's {@link FileStamp} (device, inode, size, mtime, ctime) is the one it was made from, so
 * a file rewritten, replaced, or changed in place with its size and mtime restored is prepared again. An entry is
 * kept only once its file had been unchanged for {@link FileStamp#SETTLE} when it was read (a change within the
 * coarse file-time tick would keep the stamp): a binary still being written is prepared anew at each start.
 *
 * <p>Bounded: at most {@code maxEntries} entries and {@code maxBytes} bytes of held content, the least recently
 * used evicted first; a binary copied into the initramfs is held only up to {@code maxContentBytes} (a larger one
 * is read from its file at each start, as without the cache). Thread-safe: concurrent starts of one binary prepare
 * it once, the others wait for it; an entry is visible to others only once whole, and a failed preparation leaves
 * nothing behind (the next start tries again). Per-start inputs (the launch spec, the spec's files) are not here.
 */
public final class AppBinaryCache {
    /** Entries {@link #shared()} holds at most. */
    public static final int DEFAULT_MAX_ENTRIES = 16;
    /** Bytes of binaries {@link #shared()} holds at most. */
    public static final long DEFAULT_MAX_BYTES = 32L << 20;
    /** The largest copied binary {@link #shared()} holds. */
    public static final long DEFAULT_MAX_CONTENT_BYTES = 8L << 20;
    private static final AppBinaryCache SHARED = new AppBinaryCache(ImageCache::shared, Clock.systemUTC(),
            DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES, DEFAULT_MAX_CONTENT_BYTES);

    private final Supplier<ImageCache> images;
    private final Clock clock;
    private final int maxEntries;
    private final long maxBytes;
    private final long maxContentBytes;
    private final Map<Key, Slot> slots = new LinkedHashMap<>(16, 0.75f, true); // guarded by this; access order
    private long heldBytes; // guarded by this
    private long preparations; // guarded by this

    private record Key(Path absolutePath, long minMappedBytes) {
    }

    /** One binary's entry: being prepared until {@code result} completes; {@code bytes} counted once it is kept. */
    private static final class Slot {
        final FileStamp stamp;
        final CompletableFuture<PreparedBinary> result = new CompletableFuture<>();
        long bytes; // guarded by the cache
        boolean kept; // guarded by the cache

        Slot(FileStamp stamp) {
            this.stamp = stamp;
        }
    }

    /**
     * A cache taking binary images from {@code images}, judging settledness by {@code clock}.
     *
     * @throws IllegalArgumentException if a bound is not positive or {@code maxContentBytes > maxBytes}
     */
    public AppBinaryCache(Supplier<ImageCache> images, Clock clock, int maxEntries, long maxBytes, long maxContentBytes) {
        this.images = Objects.requireNonNull(images, "images");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (maxEntries < 1 || maxBytes < 0 || maxContentBytes < 0 || maxContentBytes > maxBytes)
            throw new IllegalArgumentException("bounds: " + maxEntries + " entries, " + maxBytes + " bytes, "
                    + maxContentBytes + " bytes a binary");
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        this.maxContentBytes = maxContentBytes;
    }

    /** The cache this JVM's arrows share, its images in {@link ImageCache#shared()}. */
    public static AppBinaryCache shared() {
        return SHARED;
    }

    /**
     * {@code binary} checked, with its image when it has at least {@code minMappedBytes} bytes ({@code minMappedBytes}
     * &ge; 0), else with its bytes when they fit: the cached preparation if the file is the version it was made from,
     * else one made now.
     *
     * @throws dev.arrow.image.elf.BinaryCheckException if the file is not a static x86-64 program (or is missing)
     * @throws ImageException if it cannot be read, changed while it was read, or its image cannot be built
     */
    public PreparedBinary prepare(Path binary, long minMappedBytes) {
        Key key;
        FileStamp now;
        try {
            Path absolute = binary.toAbsolutePath(); // not resolved: the stamp's device and inode name the file
            now = FileStamp.of(absolute);
            key = new Key(absolute, minMappedBytes);
        } catch (IOException | ImageFileException e) {
            return prepareNow(binary, minMappedBytes); // fails naming the problem: missing, not a file, unreadable
        }
        Slot slot;
        boolean mine = false;
        synchronized (this) {
            slot = slots.get(key);
            if (slot == null || !slot.stamp.equals(now)) {
                if (slot != null) drop(key, slot);
                slot = new Slot(now);
                slots.put(key, slot);
                mine = true;
            }
        }
        return mine ? fill(key, slot, binary, minMappedBytes) : await(slot);
    }

    /** How many times a binary was prepared (checked and read) rather than found here. */
    public synchronized long preparations() {
        return preparations;
    }

    /** Entries held, those being prepared included. */
    public synchronized int size() {
        return slots.size();
    }

    /** Bytes of binaries held. */
    public synchronized long heldBytes() {
        return heldBytes;
    }

    /** Drops every entry (for tests, and for a user who replaced binaries in ways the stamp cannot see). */
    public synchronized void clear() {
        slots.clear();
        heldBytes = 0;
    }

    private PreparedBinary fill(Key key, Slot slot, Path binary, long minMappedBytes) {
        PreparedBinary prepared;
        try {
            prepared = prepareNow(binary, minMappedBytes);
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                if (slots.get(key) == slot) slots.remove(key);
            }
            slot.result.completeExceptionally(e);
            throw e;
        }
        synchronized (this) {
            boolean keep = slots.get(key) == slot && prepared.stamp().equals(slot.stamp) && slot.stamp.settled(clock);
            if (keep) {
                slot.kept = true;
                slot.bytes = prepared.heapBytes();
                heldBytes += slot.bytes;
                evict();
            } else if (slots.get(key) == slot) {
                slots.remove(key);
            }
        }
        slot.result.complete(prepared);
        return prepared;
    }

    private static PreparedBinary await(Slot slot) {
        try {
            return slot.result.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    /** Evicts the least recently used kept entries while over a bound. */
    private void evict() {
        Iterator<Map.Entry<Key, Slot>> it = slots.entrySet().iterator();
        while ((slots.size() > maxEntries || heldBytes > maxBytes) && it.hasNext()) {
            Slot s = it.next().getValue();
            if (!s.kept) continue; // being prepared: its preparer decides
            it.remove();
            heldBytes -= s.bytes;
        }
    }

    private void drop(Key key, Slot slot) {
        slots.remove(key);
        if (slot.kept) heldBytes -= slot.bytes;
    }

    /** Checks and reads {@code binary} now, failing if it changes meanwhile. */
    private PreparedBinary prepareNow(Path binary, long minMappedBytes) {
        synchronized (this) {
            preparations++;
        }
        FileStamp before = stamp(binary);
        StaticBinary checked = StaticBinaryCheck.check(binary);
        Optional<ReadOnlyImage> image = Optional.empty();
        Optional<CheckedBytes> content = Optional.empty();
        if (minMappedBytes >= 0 && before.size() >= minMappedBytes) {
            image = Optional.of(images.get().image(List.of(ImageFile.hostFile(LoaderPlan.BINARY_NAME, binary, 0755))));
        } else if (before.size() <= maxContentBytes) {
            try {
                content = Optional.of(CheckedBytes.read(binary));
            } catch (IOException e) {
                throw new ImageException("cannot read " + binary + ": " + e.getMessage() + ": pass a readable file", e);
            }
        }
        FileStamp after = stamp(binary);
        if (!after.equals(before) || content.isPresent() && content.get().length() != before.size())
            throw new ImageException(binary + " changed while Arrow read it: start the arrow once the file is complete");
        return new PreparedBinary(binary, before, checked, image, content);
    }

    private static FileStamp stamp(Path binary) {
        try {
            return FileStamp.of(binary);
        } catch (IOException | ImageFileException e) {
            StaticBinaryCheck.check(binary); // names what is wrong with the file, if it can
            throw new ImageException("cannot read the attributes of " + binary + ": " + e.getMessage()
                    + ": pass a readable regular file", e);
        }
    }
}
