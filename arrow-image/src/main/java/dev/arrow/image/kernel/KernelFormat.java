package dev.arrow.image.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What kind of kernel image a file is, from its first bytes, checked before anything is created:
 * an x86-64 ELF ({@code vmlinux}) or a bzImage (the boot protocol's {@code "HdrS"} at 0x202). The VMM's
 * loader checks the rest (segments, boot protocol version) when it loads the image.
 */
public final class KernelFormat {
    /** The kinds of image Arrow boots. */
    public enum Kind {
        /** An uncompressed ELF {@code vmlinux} for x86-64. */
        ELF_VMLINUX,
        /** A bzImage (Linux x86 boot protocol). */
        BZIMAGE
    }

    private static final int PROBE_BYTES = 0x210;
    private static final int ELF_MAGIC = 0x464c457f; // "\x7fELF", little-endian
    private static final int ELFCLASS64 = 2;
    private static final int EM_X86_64 = 62;
    private static final int BZIMAGE_HEADER_MAGIC_OFFSET = 0x202;
    private static final int BZIMAGE_HEADER_MAGIC = 0x53726448; // "HdrS"
    private static final String FIX = "give an uncompressed vmlinux or a bzImage for x86-64 (scripts/build-kernel.sh guest"
            + " prints Arrow's), or leave the kernel unset to boot Arrow's default kernel";

    private KernelFormat() {
    }

    /**
     * The kind of kernel image {@code kernel} is.
     *
     * @throws KernelFormatException naming what the file is instead and the fix
     * @throws KernelLookupException if it cannot be read
     */
    public static Kind check(Path kernel) {
        byte[] head;
        try (InputStream in = Files.newInputStream(kernel)) {
            head = in.readNBytes(PROBE_BYTES);
        } catch (IOException e) {
            throw new KernelLookupException("cannot read kernel " + kernel + ": " + e.getMessage());
        }
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        if (head.length >= 20 && b.getInt(0) == ELF_MAGIC) {
            if (head[4] != ELFCLASS64) {
                throw new KernelFormatException("kernel " + kernel + " is a 32-bit ELF file, not an x86-64 kernel: " + FIX);
            }
            int machine = b.getShort(18) & 0xffff;
            if (machine != EM_X86_64) {
                throw new KernelFormatException("kernel " + kernel + " is an ELF file for machine " + machine
                        + ", not x86-64 (62): " + FIX);
            }
            return Kind.ELF_VMLINUX;
        }
        if (head.length >= BZIMAGE_HEADER_MAGIC_OFFSET + 4 && b.getInt(BZIMAGE_HEADER_MAGIC_OFFSET) == BZIMAGE_HEADER_MAGIC) {
            return Kind.BZIMAGE;
        }
        throw new KernelFormatException("kernel " + kernel + " is not a Linux kernel image (" + head.length
                + (head.length < PROBE_BYTES ? " bytes in all" : " bytes read") + ", no ELF header and no bzImage \"HdrS\" at 0x202): "
                + FIX);
    }
}
