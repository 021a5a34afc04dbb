package dev.arrow.kvm.loader;

import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * Loads one format of Linux kernel image into guest memory: {@link ElfKernelLoader} (an
 * uncompressed ELF64 x86-64 {@code vmlinux}) or {@link BzImageLoader} (a {@code bzImage}). The
 * static {@link #load(Path, GuestMemory)} tells the formats apart by their magic numbers and hands
 * the image to the loader that recognises it.
 *
 * <p>The image is untrusted input: each loader checks its header (and every program header) in
 * full before a single byte is copied, so a malformed image leaves guest memory untouched. Whatever
 * is loaded lies in guest RAM above the 1 MiB boot area ({@link Layout#HIGH_MEMORY_START}). Errors
 * are {@link KernelLoadException}s whose message starts with {@code "kernel image NAME: "}.
 */
public sealed interface KernelLoader permits ElfKernelLoader, BzImageLoader {

    /** How many bytes from the start of an image {@link #recognises} and {@link #load} are given. */
    int HEAD_SIZE = 0x1000;

    /** True if {@code head} (the image's first bytes, little-endian) carries this format's magic number. */
    boolean recognises(ByteBuffer head);

    /**
     * Checks the image's headers, then copies it into {@code memory}.
     *
     * @param head the image's first {@link #HEAD_SIZE} bytes (fewer if it is shorter), little-endian
     * @throws KernelLoadException if the image is malformed or does not fit guest RAM
     * @throws IOException if the image cannot be read
     */
    LoadedKernel load(KernelImage image, ByteBuffer head, GuestMemory memory) throws IOException;

    /** Loads the kernel image file at {@code image}, whichever its format. */
    static LoadedKernel load(Path image, GuestMemory memory) {
        try (KernelImage opened = KernelImage.open(image)) {
            return load(opened, memory);
        } catch (IOException e) {
            throw new KernelLoadException("kernel image " + image + ": cannot read: " + e, e);
        }
    }

    /** Loads a kernel image held in memory; {@code name} is used in error messages. */
    static LoadedKernel load(String name, byte[] image, GuestMemory memory) {
        try (KernelImage held = KernelImage.of(name, image)) {
            return load(held, memory);
        } catch (IOException e) {
            throw new KernelLoadException("kernel image " + name + ": cannot read: " + e, e);
        }
    }

    private static LoadedKernel load(KernelImage image, GuestMemory memory) throws IOException {
        ByteBuffer head = image.head(HEAD_SIZE);
        for (KernelLoader format : List.of(new ElfKernelLoader(), new BzImageLoader())) {
            if (format.recognises(head.duplicate().order(head.order()))) {
                return format.load(image, head.duplicate().order(head.order()), memory);
            }
        }
        throw image.fail("not a kernel image (no ELF magic and no \"HdrS\" at 0x202; file has %d bytes): "
                + "give an uncompressed vmlinux or a bzImage", image.size());
    }
}
