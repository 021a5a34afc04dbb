package dev.arrow.kvm.vmm;

import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A host file the guest sees, read-only, as a virtio-pmem device ({@code /dev/pmemN}): its first
 * {@code length} bytes are mapped into guest-physical memory, shared with every VM that maps the
 * same file, never copied. The file must not be written or shrunk while a VM maps it (an image
 * cache that builds each image once and renames it into place keeps that rule).
 *
 * @param file   a readable regular file
 * @param length how many bytes of it the guest sees: a positive multiple of
 *               {@link Layout#PMEM_ALIGNMENT} (2 MiB), at most the file's size
 */
public record PmemImage(Path file, long length) {

    /**
     * @throws IllegalArgumentException naming the file and the fix, if it does not exist, is not a
     *     readable regular file, or is shorter than {@code length}, or if {@code length} is not a
     *     positive multiple of 2 MiB
     */
    public PmemImage {
        Objects.requireNonNull(file, "pmem image file");
        if (length <= 0 || length % Layout.PMEM_ALIGNMENT != 0) {
            throw new IllegalArgumentException(String.format("pmem image %s: length %d is not a positive multiple of "
                    + "%d MiB; pad the image to a multiple of %d MiB (Linux maps pmem in 2 MiB sub-sections)",
                    file, length, Layout.PMEM_ALIGNMENT / Layout.MiB, Layout.PMEM_ALIGNMENT / Layout.MiB));
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("pmem image " + file + " does not exist or is not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("pmem image " + file + " is not readable by this process");
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("pmem image " + file + ": its size cannot be read: " + e.getMessage(), e);
        }
        if (size < length) {
            throw new IllegalArgumentException(String.format("pmem image %s has %d bytes, fewer than the %d the guest "
                    + "should see; pad the file or give a smaller length", file, size, length));
        }
    }
}
