package dev.arrow.image;

import dev.arrow.image.erofs.ImageFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What identifies one version of a host file: its device, inode, size, mtime and ctime (nanoseconds). Writing a file
 * changes its mtime and ctime, and anything else done to it (a rename over it, {@code touch -d} to restore its mtime,
 * a chmod) changes its ctime or inode, which no user can set back; so a file with an unchanged stamp has unchanged
 * content, with one exception: file times are coarse (a kernel tick), so a file written again within the tick of its
 * last change keeps its stamp. A stamp is only trusted as a file's identity once it is {@link #settled settled}.
 *
 * @param device the file system's device number
 * @param inode  the file's inode number
 * @param size   its size in bytes
 * @param mtime  its last modification time, in nanoseconds since the epoch
 * @param ctime  its last status change time, in nanoseconds since the epoch
 */
public record FileStamp(long device, long inode, long size, long mtime, long ctime) {
    /** How long a file must have been unchanged before its stamp identifies its content. */
    public static final Duration SETTLE = Duration.ofSeconds(2);

    /**
     * The stamp of the regular file {@code file} now.
     *
     * @throws ImageFileException if it is not a regular file
     * @throws IOException        if its attributes cannot be read (a missing file: {@link java.nio.file.NoSuchFileException})
     */
    public static FileStamp of(Path file) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime,isRegularFile");
        if (!(Boolean) a.get("isRegularFile")) throw ImageFileException.notARegularFile(file);
        return new FileStamp((Long) a.get("dev"), (Long) a.get("ino"), (Long) a.get("size"),
                nanos(a.get("lastModifiedTime")), nanos(a.get("ctime")));
    }

    /**
     * Whether the file had not changed for {@link #SETTLE} at {@code clock}'s now: any later change gets later times, so
     * this stamp then stands for this content.
     */
    public boolean settled(Clock clock) {
        long settledBefore = TimeUnit.MILLISECONDS.toNanos(clock.millis()) - SETTLE.toNanos();
        return mtime < settledBefore && ctime < settledBefore;
    }

    private static long nanos(Object time) {
        return ((FileTime) time).to(TimeUnit.NANOSECONDS);
    }
}
