package dev.arrow.image.kernel;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/**
 * A small stand-in for the arrow-kernel jar: a class-path root holding {@value KernelArtifact#INDEX} and a
 * gzip-compressed "vmlinux" of pseudo-random bytes, laid out as scripts/package-kernel.sh lays out the real one.
 */
final class FakeKernelArtifact {
    final Path root;
    final byte[] vmlinux;

    private FakeKernelArtifact(Path root, byte[] vmlinux) {
        this.root = root;
        this.vmlinux = vmlinux;
    }

    /** A fake kernel of {@code size} bytes under {@code root}, its index giving its true hash and size. */
    static FakeKernelArtifact create(Path root, int size) throws IOException {
        byte[] vmlinux = new byte[size];
        new Random(size).nextBytes(vmlinux);
        FakeKernelArtifact fake = new FakeKernelArtifact(root, vmlinux);
        Path dir = Files.createDirectories(fake.index().getParent());
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve("vmlinux.gz")))) {
            out.write(vmlinux);
        }
        fake.writeIndex(sha256(vmlinux), size);
        return fake;
    }

    Path index() {
        return root.resolve(KernelArtifact.INDEX);
    }

    Path image() {
        return index().resolveSibling("vmlinux.gz");
    }

    void writeIndex(String sha256, long size) throws IOException {
        Files.writeString(index(), "image=vmlinux.gz\nsha256=" + sha256 + "\nsize=" + size
                + "\nkey=0123456789abcdef\nsource=linux-source-6.1 6.1.0-test\n");
    }

    KernelArtifact artifact() {
        try {
            return KernelArtifact.read(index().toUri().toURL());
        } catch (MalformedURLException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
