package dev.arrow.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.ArrowInit;
import dev.arrow.image.init.LaunchSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The image manifest end to end on the host: an Arrow initramfs written by Java, unpacked by
 * cpio as root, checked by init's own code ({@code arrow-init --check-image DIR}); then each kind of
 * damage the kernel's unpacker can leave behind, which the check must name.
 */
class ImageManifestCheckTest {
    private static final int BIG_BYTES = (3 << 20) + 1234; // several read chunks and a partial page

    @TempDir
    static Path tools;
    static Path init;
    static Path app;
    static byte[] big;

    @TempDir
    Path work;
    Path root;
    Initramfs image;

    @BeforeAll
    static void extractInit() throws IOException {
        assumeTrue(HostCommand.available("cpio"), "cpio is not installed (scripts/setup.sh installs it)");
        assumeTrue("root".equals(System.getProperty("user.name")),
                "unpacking device nodes and owners needs root (CI runs as root)");
        init = tools.resolve("arrow-init");
        Files.write(init, ArrowInit.load());
        Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwx------"));
        app = tools.resolve("app");
        byte[] appBytes = new byte[70_000];
        new Random(1).nextBytes(appBytes);
        Files.write(app, appBytes);
        big = new byte[BIG_BYTES];
        new Random(2).nextBytes(big);
    }

    @BeforeEach
    void unpackImage() throws IOException {
        Path bigFile = work.resolve("big.bin");
        Files.write(bigFile, big);
        image = ArrowInitramfs.builder(app, LaunchSpec.builder().args("a", "b").build())
                .file("/data/big.bin", bigFile, 0640)
                .file("/etc/config", "key=value\n", 0600)
                .file("/empty", new byte[0], 0644)
                .directory("/srv", 0711)
                .symlink("/srv/short", "../etc/config")
                .symlink("/srv/long", "/" + "x".repeat(300))
                .blockDevice("/dev/vdz", 0660, 254, 7)
                .build();
        root = work.resolve("root");
        Files.createDirectories(root);
        unpack(archive(image), root);
    }

    private static byte[] archive(Initramfs fs) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        fs.writeTo(out);
        assertThat((long) out.size()).isEqualTo(fs.size());
        return out.toByteArray();
    }

    /** Unpacks {@code archive} into {@code dir} with cpio, as root (modes, owners, device nodes). */
    private static HostCommand.Result cpio(byte[] archive, Path dir) {
        return HostCommand.run(List.of("cpio", "-i", "-d", "-m", "--no-absolute-filenames", "--quiet"), dir, archive,
                Duration.ofSeconds(60));
    }

    private static void unpack(byte[] archive, Path dir) {
        HostCommand.Result r = cpio(archive, dir);
        assertThat(r.exitCode()).as("cpio: %s", r.stderr()).isZero();
    }

    private HostCommand.Result check(String... env) {
        List<String> command = new ArrayList<>(List.of("env"));
        command.addAll(Arrays.asList(env));
        command.addAll(List.of(init.toString(), "--check-image", root.toString()));
        return HostCommand.run(command, work, null, Duration.ofSeconds(60));
    }

    private void assertDamage(String... expected) {
        HostCommand.Result r = check();
        assertThat(r.exitCode()).as("stdout: %s", r.stdoutText()).isEqualTo(1);
        assertThat(r.stderr()).contains("image incomplete").contains(expected);
    }

    @ParameterizedTest(name = "crc32c in {0}")
    @ValueSource(strings = {"hardware where the CPU has it", "software"})
    void aWholeImageChecksOutWithEveryEntryAndByteCounted(String how) {
        HostCommand.Result r = how.equals("software") ? check("ARROW_CRC32C_SOFTWARE=1") : check();
        assertThat(r.exitCode()).as("stderr: %s", r.stderr()).isZero();
        long fileBytes = big.length + 70_000 + "key=value\n".length() + ArrowInit.load().length
                + fileSize("arrow/spec");
        assertThat(r.stdoutText().trim()).isEqualTo("ok " + (image.entryCount() - 1) + " " + fileBytes);
    }

    private long fileSize(String relative) {
        try {
            return Files.size(root.resolve(relative));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aFileWhoseTailReadsAsZerosIsCaught() throws IOException {
        // what the kernel leaves when its writes fail: the size is right, the last pages are holes
        try (RandomAccessFile f = new RandomAccessFile(root.resolve("data/big.bin").toFile(), "rw")) {
            f.setLength(1 << 20);
            f.setLength(BIG_BYTES);
        }
        assertDamage("/data/big.bin: content differs from the host's");
    }

    @Test
    void aShortFileIsCaught() throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(root.resolve("etc/config").toFile(), "rw")) {
            f.setLength(3);
        }
        assertDamage("/etc/config: 3 bytes, expected 10");
    }

    @Test
    void aMissingFileIsCaught() throws IOException {
        Files.delete(root.resolve("data/big.bin"));
        assertDamage("/data/big.bin: missing");
    }

    @Test
    void aModeThatDidNotApplyIsCaught() throws IOException {
        Files.setPosixFilePermissions(root.resolve("arrow/app"), PosixFilePermissions.fromString("rw-r--r--"));
        assertDamage("/arrow/app: mode 0644, expected 0755");
    }

    @Test
    void aDirectoryModeThatDidNotApplyIsCaught() throws IOException {
        Files.setPosixFilePermissions(root.resolve("srv"), PosixFilePermissions.fromString("rwxr-xr-x"));
        assertDamage("/srv: mode 0755, expected 0711");
    }

    @Test
    void anOwnerThatDidNotApplyIsCaught() throws IOException {
        HostCommand.Result r = HostCommand.run(List.of("chown", "-h", "1:2", root.resolve("etc/config").toString()), work,
                null, Duration.ofSeconds(10));
        assertThat(r.exitCode()).isZero();
        assertDamage("/etc/config: owner 1:2, expected 0:0");
    }

    @Test
    void aLinkWithAnotherTargetIsCaught() throws IOException {
        Files.delete(root.resolve("srv/long"));
        Files.createSymbolicLink(root.resolve("srv/long"), Path.of("/" + "y".repeat(300)));
        assertDamage("/srv/long: the link's target differs");
    }

    @Test
    void aDirectoryWhereAFileShouldBeIsCaught() throws IOException {
        Files.delete(root.resolve("empty"));
        Files.createDirectory(root.resolve("empty"));
        assertDamage("/empty: a directory, expected a regular file");
    }

    @Test
    void aDeviceWithOtherNumbersIsCaught() throws IOException {
        Files.delete(root.resolve("dev/vdz"));
        HostCommand.Result r = HostCommand.run(List.of("mknod", "-m", "0660", root.resolve("dev/vdz").toString(), "b", "254",
                "8"), work, null, Duration.ofSeconds(10));
        assertThat(r.exitCode()).isZero();
        assertDamage("/dev/vdz: device 254:8, expected 254:7");
    }

    @Test
    void aMissingManifestIsCaught() throws IOException {
        Files.delete(root.resolve("arrow/manifest"));
        assertDamage("/arrow/manifest: missing");
    }

    @Test
    void aManifestCutShortIsCaught() throws IOException {
        Path manifest = root.resolve("arrow/manifest");
        byte[] bytes = Files.readAllBytes(manifest);
        Files.write(manifest, Arrays.copyOf(bytes, bytes.length / 2));
        assertDamage("/arrow/manifest: damaged");
    }

    @Test
    void aManifestWithHolesIsCaught() throws IOException {
        Path manifest = root.resolve("arrow/manifest");
        byte[] bytes = Files.readAllBytes(manifest);
        Arrays.fill(bytes, 20, 40, (byte) 0);
        Files.write(manifest, bytes);
        assertDamage("/arrow/manifest: damaged (crc32c");
    }

    @Test
    void aTruncatedArchiveIsCaught() throws IOException {
        byte[] whole = archive(image);
        Path partial = work.resolve("partial");
        Files.createDirectories(partial);
        // cpio complains about the cut archive but leaves what it unpacked
        cpio(Arrays.copyOf(whole, whole.length * 3 / 4), partial);
        root = partial;
        assertDamage("/arrow/manifest: missing");
    }
}
