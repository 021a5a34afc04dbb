package dev.arrow.image.kernel;

import dev.arrow.image.FileStamp;
import dev.arrow.image.erofs.ImageFileException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * This JVM's guest kernels as a start checks them, once per version of their file, so that the second and later
 * starts neither look the default kernel up again ({@link KernelLocator#locate()}: the packaged kernel's index read
 * from its jar, its extraction directory checked; or a configured path's three checks) nor read a kernel's header
 * again ({@link KernelFormat#check}). As {@link dev.arrow.image.AppBinaryCache} does for the app binary, an answer
 * serves a start only while the file's {@link FileStamp} (device, inode, size, mtime, ctime) is the one it was made
 * from, and is kept only once the file had been unchanged for {@link FileStamp#SETTLE} when it was read. A default
 * kernel is remembered per {@link KernelLocator.Choice} (a changed {@code arrow.kernel} property is looked up anew),
 * except one found in the build cache, which is looked up at each start (a newer build there is taken at once).
 *
 * <p>A kernel that fails its check is not remembered: each start fails with the check's own error until the file is
 * fixed. Bounded to {@code maxEntries} kernels, the least recently used dropped first. Thread-safe: concurrent
 * starts may each check a kernel no one checked yet, and get the same answer.
 */
public final class CheckedKernelCache {
    /** Kernels {@link #shared()} remembers at most. */
    public static final int DEFAULT_MAX_ENTRIES = 8;
    private static final CheckedKernelCache SHARED = new CheckedKernelCache(Clock.systemUTC(), DEFAULT_MAX_ENTRIES);

    private final Clock clock;
    private final int maxEntries;
    private final Map<Path, Checked> formats = new LinkedHashMap<>(16, 0.75f, true); // guarded by this; access order
    private final Map<KernelLocator.Choice, Located> defaults = new LinkedHashMap<>(16, 0.75f, true); // guarded by this
    private long reads; // guarded by this
    private long lookups; // guarded by this

    /** A kernel file's format as read from the version of the file {@code stamp} names. */
    private record Checked(FileStamp stamp, KernelFormat.Kind kind) {
    }

    /** A default kernel as found, and the version of its file then. */
    private record Located(GuestKernel kernel, FileStamp stamp) {
    }

    /**
     * A cache judging settledness by {@code clock}.
     *
     * @throws IllegalArgumentException if {@code maxEntries} is not positive
     */
    public CheckedKernelCache(Clock clock, int maxEntries) {
        this.clock = Objects.requireNonNull(clock, "clock");
        if (maxEntries < 1) throw new IllegalArgumentException("maxEntries must be at least 1: " + maxEntries);
        this.maxEntries = maxEntries;
    }

    /** The cache this JVM's arrows share. */
    public static CheckedKernelCache shared() {
        return SHARED;
    }

    /**
     * The kernel the caller chose ({@link KernelLocator#userSupplied}), its format checked.
     *
     * @throws KernelLookupException if it is missing, not a regular file or unreadable
     * @throws KernelFormatException if it is no x86-64 kernel image
     */
    public GuestKernel userSupplied(Path kernel) {
        Objects.requireNonNull(kernel, "kernel");
        if (known(kernel) == null) {
            checked(KernelLocator.userSupplied(kernel).path());
        }
        return new GuestKernel(kernel, GuestKernel.Source.USER);
    }

    /**
     * Arrow's default kernel as {@code locator} finds it, its format checked: the one found before for the same
     * {@link KernelLocator#choice()} while its file is unchanged, else looked up now.
     *
     * @throws KernelLookupException if there is none, naming how to get one
     * @throws KernelFormatException if the file found is no x86-64 kernel image
     */
    public GuestKernel defaultKernel(KernelLocator locator) {
        KernelLocator.Choice choice = locator.choice();
        Located before;
        synchronized (this) {
            before = defaults.get(choice);
        }
        if (before != null && before.stamp().equals(stampOrNull(before.kernel().path()))) {
            return before.kernel();
        }
        synchronized (this) {
            lookups++;
        }
        GuestKernel kernel = locator.locate();
        Checked known = known(kernel.path());
        Checked checked = known != null ? known : checked(kernel.path());
        synchronized (this) {
            if (kept(kernel.path(), checked) && kernel.source() != GuestKernel.Source.CACHE) {
                defaults.put(choice, new Located(kernel, checked.stamp()));
                trim(defaults);
            } else {
                defaults.remove(choice);
            }
        }
        return kernel;
    }

    /**
     * The format of {@code kernel}: remembered if this version of the file was checked, else read now.
     *
     * @throws KernelLookupException if it cannot be read
     * @throws KernelFormatException naming what the file is instead
     */
    public KernelFormat.Kind check(Path kernel) {
        Checked known = known(kernel);
        return (known != null ? known : checked(kernel)).kind();
    }

    /** How many times a kernel file's header was read rather than found here. */
    public synchronized long reads() {
        return reads;
    }

    /** How many times the default kernel was looked up rather than found here. */
    public synchronized long lookups() {
        return lookups;
    }

    /** Forgets every kernel (for tests, and for a user who replaced kernels in ways the stamp cannot see). */
    public synchronized void clear() {
        formats.clear();
        defaults.clear();
    }

    /** The remembered check of the version of {@code kernel} on disk now, or null. */
    private Checked known(Path kernel) {
        Path key = kernel.toAbsolutePath();
        Checked entry;
        synchronized (this) {
            entry = formats.get(key);
        }
        return entry != null && entry.stamp().equals(stampOrNull(key)) ? entry : null;
    }

    /** Reads {@code kernel}'s header now, and keeps the answer if the file was settled and unchanged meanwhile. */
    private Checked checked(Path kernel) {
        synchronized (this) {
            reads++;
        }
        Path key = kernel.toAbsolutePath();
        FileStamp before = stampOrNull(key);
        KernelFormat.Kind kind = KernelFormat.check(kernel); // names the problem: missing, unreadable, not a kernel
        FileStamp after = stampOrNull(key);
        Checked checked = new Checked(after, kind);
        synchronized (this) {
            if (after != null && after.equals(before) && after.settled(clock)) {
                formats.put(key, checked);
                trim(formats);
            } else {
                formats.remove(key);
            }
        }
        return checked;
    }

    /** Whether the check of {@code kernel} was kept, i.e. {@code checked} stands for the file's version. */
    private boolean kept(Path kernel, Checked checked) {
        return checked.equals(formats.get(kernel.toAbsolutePath()));
    }

    private void trim(Map<?, ?> entries) {
        var it = entries.entrySet().iterator();
        while (entries.size() > maxEntries && it.hasNext()) {
            it.next();
            it.remove();
        }
    }

    /** The file's stamp now, or null when it has none (missing, not a regular file, unreadable attributes). */
    private static FileStamp stampOrNull(Path file) {
        try {
            return FileStamp.of(file);
        } catch (IOException | ImageFileException e) {
            return null;
        }
    }
}
