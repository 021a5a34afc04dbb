package dev.arrow.image.erofs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: EROFS images as erofs-utils read them: files, contents, modes, layout, determinism, padding. */
class ErofsWriterTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path tmp;

    @BeforeAll
    static void erofsUtils() {
        ErofsUtils.requireInstalled();
    }

    @Test
    void erofsUtilsExtractExactlyTheFilesWithTheirContentsAndModes() throws IOException {
        Path big = randomFile(tmp.resolve("big"), 20 * 1024 * 1024 + 123, 1);
        String longName = "n".repeat(ImageFile.MAX_NAME_BYTES);
        List<ImageFile> files = List.of(
                ImageFile.bytes("empty", new byte[0], 0644),
                ImageFile.bytes("one-block", random(BLOCK, 2), 0755),
                ImageFile.bytes("one-block-and-a-byte", random(BLOCK + 1, 3), 0600),
                ImageFile.bytes("0", "zero\n".getBytes(StandardCharsets.UTF_8), 0444),
                ImageFile.bytes("ünï cöde", random(100, 4), 0640),
                ImageFile.bytes(longName, random(5000, 5), 0700),
                ImageFile.hostFile("app", big, 0755));
        Path image = tmp.resolve("image.erofs");
        WrittenImage written = ErofsWriter.write(files, image);

        ErofsUtils.fsck(image);
        Path out = tmp.resolve("out");
        ErofsUtils.extract(image, out);
        assertExtracted(out, files);
        for (ImageFile f : files) {
            assertThat(ErofsUtils.dump(image, "/" + f.name())).as(f.name()).contains("Layout: 0", "regular file", "Uid: 0   Gid: 0");
        }
        assertThat(ErofsUtils.dump(image, "/")).contains("Layout: 0", "directory", "Access: 0755");
        assertThat(written.entries()).extracting(ImageEntry::name)
                .containsExactly("0", "app", "empty", longName, "one-block", "one-block-and-a-byte", "ünï cöde");
        assertThat(written.entries().get(1).size()).isEqualTo(Files.size(big));
    }

    @Test
    void aRootDirectoryOfManyBlocksIsListedAndSearchedInEveryBlock() throws IOException {
        List<ImageFile> files = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            files.add(ImageFile.bytes(String.format("file-%04d-with-a-name-long-enough", i), ("content " + i).getBytes(StandardCharsets.UTF_8),
                    i % 2 == 0 ? 0644 : 0755));
        }
        Path image = tmp.resolve("many.erofs");
        ErofsWriter.write(files, image);

        ErofsUtils.fsck(image);
        String root = ErofsUtils.dump(image, "/");
        long rootSize = Long.parseLong(root.replaceAll("(?s).*Size: (\\d+).*", "$1"));
        assertThat(rootSize).as("the root directory spans several blocks").isGreaterThan(4L * BLOCK);
        for (int i : new int[] {0, 1, 150, 299, 300, 451, 598, 599}) {
            String name = files.get(i).name();
            assertThat(ErofsUtils.dump(image, "/" + name)).as(name).contains("File : /" + name, "Layout: 0");
        }
        Path out = tmp.resolve("out");
        ErofsUtils.extract(image, out);
        assertExtracted(out, files);
    }

    @Test
    void anEmptyImageHasOnlyItsRoot() throws IOException {
        Path image = tmp.resolve("empty.erofs");
        WrittenImage written = ErofsWriter.write(List.of(), image);
        ErofsUtils.fsck(image);
        assertThat(written.entries()).isEmpty();
        assertThat(Files.size(image)).isEqualTo(ErofsWriter.LENGTH_ALIGNMENT);
    }

    @Test
    void theSameFilesGiveTheSameBytesWhateverTheirOrderAndSource() throws IOException {
        byte[] app = random(3 * BLOCK + 7, 7);
        Path appFile = Files.write(tmp.resolve("app-on-host"), app);
        List<ImageFile> a = List.of(ImageFile.bytes("app", app, 0755), ImageFile.bytes("data", random(10, 8), 0644));
        List<ImageFile> b = List.of(ImageFile.bytes("data", random(10, 8), 0644), ImageFile.hostFile("app", appFile, 0755));
        WrittenImage first = ErofsWriter.write(a, tmp.resolve("a.erofs"));
        WrittenImage second = ErofsWriter.write(b, tmp.resolve("b.erofs"));

        assertThat(Files.mismatch(tmp.resolve("a.erofs"), tmp.resolve("b.erofs"))).isEqualTo(-1);
        assertThat(second).isEqualTo(first);
        assertThat(first.contentId()).isEqualTo(ContentId.of(first.entries())).matches("[0-9a-f]{64}");
    }

    @Test
    void anyChangeOfNameModeOrContentChangesTheIdAndUuid() throws IOException {
        String base = id(ImageFile.bytes("app", new byte[] {1, 2, 3}, 0755));
        List<String> ids = List.of(base,
                id(ImageFile.bytes("app2", new byte[] {1, 2, 3}, 0755)),
                id(ImageFile.bytes("app", new byte[] {1, 2, 3}, 0775)),
                id(ImageFile.bytes("app", new byte[] {1, 2, 4}, 0755)),
                id(ImageFile.bytes("app", new byte[] {1, 2, 3, 0}, 0755)),
                id(ImageFile.bytes("app", new byte[] {1, 2, 3}, 0755), ImageFile.bytes("x", new byte[0], 0644)));
        assertThat(ids).doesNotHaveDuplicates();
        assertThat(ids.stream().map(ContentId::uuid)).doesNotHaveDuplicates();
    }

    @Test
    void theSuperblockCarriesTheMagicAChecksumTheKernelAcceptsAndTheContentUuid() throws IOException {
        Path image = tmp.resolve("sb.erofs");
        WrittenImage written = ErofsWriter.write(List.of(ImageFile.bytes("a", random(9000, 9), 0755)), image);
        ByteBuffer block = ByteBuffer.wrap(Files.readAllBytes(image), 0, BLOCK).slice().order(ByteOrder.LITTLE_ENDIAN);

        assertThat(block.getInt(1024)).isEqualTo(0xE0F5E1E2);
        assertThat(block.getInt(1024 + 4)).isEqualTo(crc32cAsLinux(block));
        assertThat(block.get(1024 + 12)).as("blkszbits").isEqualTo((byte) 12);
        assertThat(ErofsUtils.superblock(image))
                .contains("Filesystem UUID:                              " + ContentId.uuid(written.contentId()))
                .contains("sb_csum");
    }

    @Test
    void theLengthIsPaddedToTwoMebibytesAndKnownBeforeWriting() throws IOException {
        for (int size : new int[] {0, 1, (int) ErofsWriter.LENGTH_ALIGNMENT - 3 * BLOCK, (int) ErofsWriter.LENGTH_ALIGNMENT}) {
            Path image = tmp.resolve("pad-" + size);
            WrittenImage written = ErofsWriter.write(List.of(ImageFile.bytes("f", new byte[size], 0644)), image);
            assertThat(Files.size(image)).isEqualTo(written.length()).isEqualTo(ErofsWriter.length(written.entries()));
            assertThat(written.length() % ErofsWriter.LENGTH_ALIGNMENT).isZero();
            assertThat(written.length()).isGreaterThan(size);
            ErofsUtils.fsck(image);
        }
        // header, inode and directory blocks, and the data block: exactly one 2 MiB section
        assertThat(ErofsWriter.length(List.of(entry("f", ErofsWriter.LENGTH_ALIGNMENT - 3 * BLOCK)))).isEqualTo(ErofsWriter.LENGTH_ALIGNMENT);
        assertThat(ErofsWriter.length(List.of(entry("f", ErofsWriter.LENGTH_ALIGNMENT - 3 * BLOCK + 1))))
                .isEqualTo(2 * ErofsWriter.LENGTH_ALIGNMENT);
    }

    @Test
    void filesThatCannotGoInAreRefusedNamingTheFix() throws IOException {
        assertThatThrownBy(() -> ErofsWriter.write(List.of(ImageFile.bytes("a", new byte[0], 0644), ImageFile.bytes("a", new byte[1], 0644)),
                tmp.resolve("dup"))).isInstanceOf(ImageFileException.class).hasMessage("two image files are named \"a\": give each file its own name");
        Path missing = tmp.resolve("missing");
        assertThatThrownBy(() -> ErofsWriter.write(List.of(ImageFile.hostFile("a", missing, 0644)), tmp.resolve("x")))
                .isInstanceOf(ImageFileException.class).hasMessage("host file " + missing + " does not exist: fix the path or create the file");
        assertThatThrownBy(() -> ErofsWriter.write(List.of(ImageFile.hostFile("a", tmp, 0644)), tmp.resolve("x")))
                .isInstanceOf(ImageFileException.class).hasMessageContaining("is not a regular file");
        assertThat(tmp.resolve("dup")).doesNotExist();
    }

    private static ImageEntry entry(String name, long size) {
        return new ImageEntry(name, 0644, size, "0".repeat(64));
    }

    private String id(ImageFile... files) throws IOException {
        return ErofsWriter.write(List.of(files), Files.createTempFile(tmp, "id", ".erofs")).contentId();
    }

    /** Linux's crc32c(~0, ...) over the superblock's block from offset 1024, checksum zero: bitwise, as a reference. */
    private static int crc32cAsLinux(ByteBuffer block) {
        int crc = ~0;
        for (int i = 1024; i < BLOCK; i++) {
            int b = i >= 1024 + 4 && i < 1024 + 8 ? 0 : block.get(i) & 0xff;
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
        }
        return crc;
    }

    static void assertExtracted(Path out, List<ImageFile> files) throws IOException {
        Map<String, ImageFile> expected = new TreeMap<>();
        for (ImageFile f : files) expected.put(f.name(), f);
        try (Stream<Path> listed = Files.list(out)) {
            assertThat(listed.map(p -> p.getFileName().toString()).sorted()).containsExactlyElementsOf(expected.keySet());
        }
        for (ImageFile f : expected.values()) {
            Path extracted = out.resolve(f.name());
            assertThat(Files.isRegularFile(extracted)).as(f.name()).isTrue();
            assertThat(mode(Files.getPosixFilePermissions(extracted))).as("mode of %s", f.name()).isEqualTo(f.mode());
            if (f.content() instanceof FileContent.HostFile host) {
                assertThat(Files.mismatch(extracted, host.path())).as(f.name()).isEqualTo(-1);
            } else {
                assertThat(Files.readAllBytes(extracted)).as(f.name()).isEqualTo(((FileContent.Bytes) f.content()).bytes());
            }
        }
    }

    private static int mode(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission p : permissions) mode |= 0400 >> p.ordinal();
        return mode;
    }

    static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    static Path randomFile(Path path, long size, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(path)) {
            for (long left = size; left > 0; left -= chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(chunk.length, left));
            }
        }
        return path;
    }
}
