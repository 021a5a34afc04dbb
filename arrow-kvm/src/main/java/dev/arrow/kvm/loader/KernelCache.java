package dev.arrow.kvm.loader;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.memory.MmapGuestMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kernel images loaded once and shared by every VM that boots them ({@link KernelSnapshot}s),
 * keyed by the file's path, size, modification time and inode, so a rebuilt kernel at the same
 * path is loaded afresh. Holds at most {@code capacity} kernels; the least recently booted one is
 * closed first (VMs that mapped it keep their pages). Where a snapshot cannot be made (a bzImage,
 * no memfd on this host) the kernel is copied into each guest by {@link KernelLoader}.
 *
 * <p>{@link #shared()} is the one instance a process's VMs use unless their configuration names
 * another. Thread-safe.
 */
public final class KernelCache implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KernelCache.class);
    private static final KernelCache SHARED = new KernelCache(4);

    private final int capacity;
    private final Map<Key, Optional<KernelSnapshot>> entries;
    private int loads;
    private boolean memfdFailed;

    /** The file identity a snapshot was made from. */
    private record Key(Path path, long size, long modifiedNanos, Object fileKey) {
        static Key of(Path image) throws IOException {
            Path real = image.toRealPath();
            BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
            return new Key(real, a.size(), a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS), a.fileKey());
        }
    }

    public KernelCache(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
        }
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(16, 0.75f, true);
    }

    /** The process-wide cache. */
    public static KernelCache shared() {
        return SHARED;
    }

    /**
     * Puts the kernel {@code image} into {@code memory}: mapped from its snapshot (made on first
     * use), or copied where no snapshot can be made and into memory in a memory file
     * ({@link MmapGuestMemory#isInMemoryFile()}, whose pages must all be the file's).
     *
     * @throws KernelLoadException if the image is unusable or does not fit that guest's RAM
     */
    public LoadedKernel loadInto(Path image, MmapGuestMemory memory) {
        if (memory.isInMemoryFile()) {
            return KernelLoader.load(image, memory);
        }
        Optional<KernelSnapshot> snapshot = snapshotOf(image, memory.size());
        if (snapshot.isEmpty()) {
            return KernelLoader.load(image, memory);
        }
        return snapshot.get().mapInto(memory);
    }

    private synchronized Optional<KernelSnapshot> snapshotOf(Path image, long ramBytes) {
        if (memfdFailed) {
            return Optional.empty();
        }
        Key key;
        try {
            key = Key.of(image);
        } catch (IOException e) {
            return Optional.empty(); // KernelLoader names the problem (missing, unreadable, a directory)
        }
        Optional<KernelSnapshot> cached = entries.get(key);
        if (cached != null) {
            return cached;
        }
        Optional<KernelSnapshot> made;
        try {
            made = KernelSnapshot.load(image, ramBytes);
            loads++;
        } catch (KernelLoadException e) {
            throw e; // not remembered: the next VM (maybe with more memory) tries again
        } catch (KvmException e) {
            LOG.info("kernel images are copied into each guest: no shared snapshot on this host ({})", e.getMessage());
            memfdFailed = true;
            return Optional.empty();
        }
        entries.put(key, made);
        made.ifPresent(s -> LOG.debug("kernel {} loaded once for every VM of this process: {}", image, s));
        while (entries.size() > capacity) {
            Map.Entry<Key, Optional<KernelSnapshot>> eldest = entries.entrySet().iterator().next();
            entries.remove(eldest.getKey());
            eldest.getValue().ifPresent(KernelSnapshot::close);
        }
        return made;
    }

    /** How many times a kernel was read from its file into a new snapshot (for tests and telemetry). */
    public synchronized int loads() {
        return loads;
    }

    /** Number of kernels held. */
    public synchronized int size() {
        return entries.size();
    }

    /** Closes every snapshot; VMs that mapped one keep their pages. */
    @Override
    public synchronized void close() {
        entries.values().forEach(s -> s.ifPresent(KernelSnapshot::close));
        entries.clear();
    }
}
