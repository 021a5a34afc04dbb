package dev.arrow.spi;

import java.io.IOException;

/**
 * Receives one file or tree copied out of the guest ({@link MicroVmSession#copyFromGuest}, {@link ExitCopySink}): its
 * entries in the order the guest sends them, each directory before what it holds, a regular file's bytes right after
 * its {@link #file} call. Paths are relative to the copied root, {@code '/'}-separated, {@code ""} being the root
 * itself; they come from the guest unchecked, so the receiver refuses what it cannot place. Provided by arrow-core;
 * called by the backend on one thread at a time. A call that throws fails the copy: the backend gives the receiver
 * nothing more of it.
 */
public interface GuestFileReceiver {

    /** A directory with permission bits {@code mode} (e.g. {@code 0755}). */
    void directory(String path, int mode) throws IOException;

    /** A regular file with permission bits {@code mode}; its bytes follow through {@link #content}. */
    void file(String path, int mode) throws IOException;

    /** The next bytes of the file of the last {@link #file} call. */
    void content(byte[] bytes, int offset, int length) throws IOException;

    /** A symbolic link to {@code target}, kept as a link. */
    void symlink(String path, String target) throws IOException;
}
