package dev.arrow.image.cpio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CpioWriterTest {
    /** One parsed newc header, read back independently of the writer. */
    record Header(long ino, long mode, long nlink, long mtime, long size, long rdevMajor, long rdevMinor, String name, int offset) {
    }

    static List<Header> parse(byte[] archive) {
        List<Header> result = new ArrayList<>();
        int pos = 0;
        while (true) {
            assertThat(pos % 4).as("header alignment").isZero();
            String h = new String(archive, pos, 110, StandardCharsets.US_ASCII);
            assertThat(h).startsWith("070701");
            long[] f = new long[13];
            for (int i = 0; i < 13; i++) f[i] = Long.parseLong(h.substring(6 + 8 * i, 14 + 8 * i), 16);
            int nameSize = (int) f[11];
            String name = new String(archive, pos + 110, nameSize - 1, StandardCharsets.UTF_8);
            assertThat(archive[pos + 110 + nameSize - 1]).as("name NUL").isZero();
            int dataStart = (int) CpioWriter.align4(pos + 110 + nameSize);
            for (int i = pos + 110 + nameSize; i < dataStart; i++) assertThat(archive[i]).as("name padding").isZero();
            result.add(new Header(f[0], f[1], f[4], f[5], f[6], f[9], f[10], name, dataStart));
            pos = (int) CpioWriter.align4(dataStart + f[6]);
            if (name.equals("TRAILER!!!")) break;
        }
        assertThat(pos).as("archive ends right after the trailer").isEqualTo(archive.length);
        return result;
    }

    @Test
    void entriesAreAlignedNumberedAndEndWithTheTrailer() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CpioWriter w = new CpioWriter(out);
        w.directory("d", 0755);
        w.file("d/one", 0644, new byte[] {1});
        w.file("d/three", 0600, "abc".getBytes(StandardCharsets.US_ASCII));
        w.file("d/stream", 0755, 5, new ByteArrayInputStream(new byte[] {1, 2, 3, 4, 5}));
        w.characterDevice("console", 0600, 5, 1);
        w.symlink("link", "d/one");
        w.finish();
        byte[] archive = out.toByteArray();
        assertThat(w.position()).isEqualTo(archive.length);

        List<Header> hs = parse(archive);
        assertThat(hs).extracting(Header::name).containsExactly("d", "d/one", "d/three", "d/stream", "console", "link", "TRAILER!!!");
        assertThat(hs.get(0).mode()).isEqualTo(0040755);
        assertThat(hs.get(0).nlink()).isEqualTo(2);
        assertThat(hs.get(2).mode()).isEqualTo(0100600);
        assertThat(hs.get(2).size()).isEqualTo(3);
        assertThat(new String(archive, hs.get(2).offset(), 3, StandardCharsets.US_ASCII)).isEqualTo("abc");
        assertThat(hs.get(4).mode()).isEqualTo(0020600);
        assertThat(hs.get(4).rdevMajor()).isEqualTo(5);
        assertThat(hs.get(4).rdevMinor()).isEqualTo(1);
        assertThat(hs.get(5).mode()).isEqualTo(0120777);
        Set<Long> inodes = new HashSet<>();
        for (Header h : hs.subList(0, hs.size() - 1)) assertThat(inodes.add(h.ino())).as("unique inode " + h.ino()).isTrue();
        assertThat(hs).allSatisfy(h -> assertThat(h.mtime()).isZero());
        Header trailer = hs.get(hs.size() - 1);
        assertThat(trailer.ino()).isZero();
        assertThat(trailer.size()).isZero();
    }

    @Test
    void entryBytesPredictsTheWrittenSize() throws IOException {
        for (int nameLen = 1; nameLen <= 9; nameLen++) {
            for (int dataLen = 0; dataLen <= 5; dataLen++) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                CpioWriter w = new CpioWriter(out);
                String name = "n".repeat(nameLen);
                w.file(name, 0644, new byte[dataLen]);
                assertThat(out.size()).as("name %d data %d", nameLen, dataLen).isEqualTo(CpioWriter.entryBytes(name, dataLen));
            }
        }
    }

    @Test
    void fixedMtimeIsWrittenToEveryEntry() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CpioWriter w = new CpioWriter(out, 1_700_000_000L);
        w.directory("a", 0755);
        w.file("a/b", 0644, new byte[0]);
        w.finish();
        assertThat(parse(out.toByteArray()).subList(0, 2)).allSatisfy(h -> assertThat(h.mtime()).isEqualTo(1_700_000_000L));
    }

    @Test
    void streamShorterOrLongerThanAnnouncedFails() {
        CpioWriter w = new CpioWriter(new ByteArrayOutputStream());
        assertThatThrownBy(() -> w.file("f", 0644, 10, new ByteArrayInputStream(new byte[4])))
                .isInstanceOf(IOException.class).hasMessageContaining("ended after 4 of 10");
        CpioWriter w2 = new CpioWriter(new ByteArrayOutputStream());
        assertThatThrownBy(() -> w2.file("f", 0644, 2, new ByteArrayInputStream(new byte[4])))
                .isInstanceOf(IOException.class).hasMessageContaining("more than the 2");
    }

    @Test
    void badArgumentsAreRejected() throws IOException {
        CpioWriter w = new CpioWriter(new ByteArrayOutputStream());
        assertThatThrownBy(() -> w.file("f", 0100644, new byte[0])).hasMessageContaining("outside 07777");
        assertThatThrownBy(() -> w.characterDevice("c", 0600, 4096, 0)).hasMessageContaining("major 4096");
        assertThatThrownBy(() -> w.characterDevice("c", 0600, 1, 1 << 20)).hasMessageContaining("minor");
        assertThatThrownBy(() -> w.file("a\0b", 0644, new byte[0])).hasMessageContaining("NUL");
        assertThatThrownBy(() -> w.file("TRAILER!!!", 0644, new byte[0])).hasMessageContaining("trailer");
        assertThatThrownBy(() -> new CpioWriter(new ByteArrayOutputStream(), -1)).hasMessageContaining("mtime");
        w.finish();
        assertThatThrownBy(() -> w.directory("late", 0755)).isInstanceOf(IllegalStateException.class);
    }
}
