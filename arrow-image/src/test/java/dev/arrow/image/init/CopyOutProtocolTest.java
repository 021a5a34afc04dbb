package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.image.HostCommand;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 1: the copy-out protocol end to end on the host: the spec keys as init parses them, the control line, and the
 * frames init's own walker writes ({@code arrow-init --check-copy-out}) decoded by {@link CopyOutDecoder}, plus the
 * decoder's refusals of malformed frames.
 */
class CopyOutProtocolTest {
    private static final int ENOENT = 2;
    private static final int EFBIG = 27;

    @TempDir
    static Path tmp;
    static InitSpecCheck specCheck;
    static Path init;

    @BeforeAll
    static void extractInit() throws IOException {
        specCheck = InitSpecCheck.extractTo(tmp);
        init = tmp.resolve("arrow-init");
    }

    @Test
    void theSpecKeysComeLastAndInitParsesThemBackToTheSameBytes() throws IOException {
        byte[] bytes = SpecFile.encode(LaunchSpec.builder().args("hello").copyOut(List.of("/out", "/var/log/a b.log"), 1234).build());
        String text = new String(bytes, StandardCharsets.UTF_8);
        assertThat(text).endsWith("copy-out\0/out\0copy-out\0/var/log/a b.log\0copy-out-max\0001234\0end\0\0");
        HostCommand.Result r = specCheck.check(bytes);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo(bytes);
    }

    @Test
    void initRefusesMalformedCopyOutRecords() throws IOException {
        String base = "arrow-spec 1\nexec\0/a\0arg\0a\0";
        List<String[]> cases = List.of(
                new String[] {"copy-out\0out\0copy-out-max\0001\0", "copy-out 'out' is not an absolute path"},
                new String[] {"copy-out\0/o\0copy-out\0/o\0copy-out-max\0001\0", "copy-out /o given twice"},
                new String[] {"copy-out\0/o\0", "copy-out and copy-out-max go together"},
                new String[] {"copy-out-max\0001\0", "copy-out and copy-out-max go together"},
                new String[] {"copy-out\0/o\0copy-out-max\0-1\0", "copy-out-max '-1' is not a decimal"},
                new String[] {"copy-out-x\0/o\0", "unknown key 'copy-out-x'"});
        for (String[] c : cases) {
            HostCommand.Result r = specCheck.check((base + c[0] + "end\0\0").getBytes(StandardCharsets.UTF_8));
            assertThat(r.exitCode()).as(c[0]).isEqualTo(1);
            assertThat(r.stderr()).as(c[0]).contains(c[1]);
        }
        HostCommand.Result template = specCheck.check(
                "arrow-spec 1\nstdio\0virtio\0template\0init\0copy-out\0/o\0copy-out-max\0001\0end\0\0".getBytes(StandardCharsets.UTF_8));
        assertThat(template.stderr()).contains("a template spec holds only");
    }

    @Test
    void theControlLineIsBoundedByWhatInitReads() {
        assertThat(InitProtocol.copyOutCommand(7, 1024, "/out/a b")).isEqualTo("copy-out 7 1024 /out/a b\n");
        String longest = "/" + "p".repeat(InitProtocol.CONTROL_LINE_MAX_BYTES - "copy-out 1 0 /\n".length());
        assertThat(InitProtocol.copyOutCommand(1, 0, longest)).hasSize(InitProtocol.CONTROL_LINE_MAX_BYTES);
        assertThatThrownBy(() -> InitProtocol.copyOutCommand(1, 0, longest + "p")).hasMessageContaining("too long to copy while");
        assertThatThrownBy(() -> InitProtocol.copyOutCommand(1, 0, "/a\nsignal 9")).hasMessageContaining("newline");
        assertThatThrownBy(() -> InitProtocol.copyOutCommand(0, 0, "/a")).hasMessageContaining("copy id 0");
        assertThatThrownBy(() -> InitProtocol.copyOutCommand(1L << 32, 0, "/a")).hasMessageContaining("outside");
    }

    @Test
    void initSendsATreeAsDirectoriesFilesContentAndLinksAndSkipsOtherKinds() throws IOException, InterruptedException {
        Path root = Files.createDirectories(tmp.resolve("tree"));
        Files.writeString(root.resolve("a.txt"), "hello\n");
        Path sub = Files.createDirectories(root.resolve("sub"));
        byte[] big = new byte[200_000];
        new Random(42).nextBytes(big);
        Files.write(sub.resolve("big.bin"), big);
        Files.setPosixFilePermissions(sub.resolve("big.bin"), PosixFilePermissions.fromString("rwxr-x---"));
        Files.createSymbolicLink(sub.resolve("link"), Path.of("../a.txt"));
        new ProcessBuilder("mkfifo", root.resolve("fifo").toString()).start().waitFor();

        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(root.resolve("a.txt"), PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(sub, PosixFilePermissions.fromString("rwxr-xr-x"));

        Recorder copy = decode(copyOut(Long.MAX_VALUE, root));
        assertThat(copy.events).contains("B 1 " + root, "D  0711", "F a.txt 0644", "D sub 0755", "F sub/big.bin 0750",
                "L sub/link -> ../a.txt", "E 0 ");
        assertThat(copy.events).noneMatch(e -> e.contains("fifo"));
        assertThat(copy.events.get(0)).startsWith("B ");
        assertThat(copy.events.get(1)).startsWith("D  ");
        assertThat(copy.files.get("a.txt").toString(StandardCharsets.UTF_8)).isEqualTo("hello\n");
        assertThat(copy.files.get("sub/big.bin").toByteArray()).isEqualTo(big);
    }

    @Test
    void aFileIsItsOwnRootAndTheLimitAndAMissingPathEndTheCopyWithTheirErrno() throws IOException {
        Path file = Files.write(tmp.resolve("one.bin"), new byte[] {1, 2, 3});
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(decode(copyOut(3, file)).events).containsExactly("B 1 " + file, "F  0644", "E 0 ");
        Recorder tooBig = decode(copyOut(2, file));
        assertThat(tooBig.events.get(tooBig.events.size() - 1)).startsWith("E " + EFBIG + " ").contains("more than the limit of 2 bytes");
        Recorder missing = decode(copyOut(10, tmp.resolve("missing")));
        assertThat(missing.events).containsExactly("B 1 " + tmp.resolve("missing"),
                "E " + ENOENT + " " + tmp.resolve("missing") + ": No such file or directory");
    }

    @Test
    void theDecoderRefusesFramesOutsideTheirCopyOversizedUnknownAndTruncated() {
        assertThatThrownBy(() -> decode(frame('C', 1, new byte[1]))).isInstanceOf(CopyOutProtocolException.class)
                .hasMessageContaining("outside it");
        assertThatThrownBy(() -> decode(concat(frame('B', 1, "/a".getBytes()), frame('D', 2, new byte[4]))))
                .hasMessageContaining("copy 2 outside it (open: 1)");
        assertThatThrownBy(() -> decode(concat(frame('B', 1, "/a".getBytes()), frame('B', 2, "/b".getBytes()))))
                .hasMessageContaining("begins inside copy 1");
        byte[] huge = Arrays.copyOf(frame('C', 1, new byte[0]), CopyOutDecoder.HEADER_BYTES);
        ByteBuffer.wrap(huge, 5, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(CopyOutDecoder.MAX_PAYLOAD_BYTES + 1);
        assertThatThrownBy(() -> decode(huge)).hasMessageContaining("more than " + CopyOutDecoder.MAX_PAYLOAD_BYTES);
        assertThatThrownBy(() -> decode(concat(frame('B', 1, "/a".getBytes()), frame('Z', 1, new byte[0]))))
                .hasMessageContaining("unknown frame type 'Z'");
        assertThatThrownBy(() -> decode(concat(frame('B', 1, "/a".getBytes()), frame('F', 1, new byte[2]))))
                .hasMessageContaining("fewer than 4");
        assertThatThrownBy(() -> decode(concat(frame('B', 1, "/a".getBytes()), frame('L', 1, "x".getBytes()))))
                .hasMessageContaining("without the NUL");
        byte[] cut = frame('B', 1, "/abc".getBytes());
        assertThatThrownBy(() -> decode(Arrays.copyOf(cut, cut.length - 1))).isInstanceOf(EOFException.class);
        assertThatThrownBy(() -> decode(frame('B', 1, "/a".getBytes()))).isInstanceOf(EOFException.class)
                .hasMessageContaining("inside copy 1");
    }

    private static byte[] copyOut(long max, Path path) {
        HostCommand.Result r = HostCommand.run(List.of(init.toString(), "--check-copy-out", Long.toString(max), path.toString()),
                tmp, null, Duration.ofSeconds(30));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        return r.stdout();
    }

    static byte[] frame(char type, long id, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(CopyOutDecoder.HEADER_BYTES + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) type).putInt((int) id).putInt(payload.length).put(payload);
        return b.array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static Recorder decode(byte[] stream) throws IOException {
        Recorder r = new Recorder();
        new CopyOutDecoder(new ByteArrayInputStream(stream)).run(r);
        return r;
    }

    /** Each event as a line; each file's content by its path. */
    static final class Recorder implements CopyOutDecoder.Listener {
        final List<String> events = new ArrayList<>();
        final java.util.Map<String, ByteArrayOutputStream> files = new java.util.HashMap<>();
        private ByteArrayOutputStream current;

        @Override
        public void begin(long id, String guestPath) {
            events.add("B " + id + " " + guestPath);
        }

        @Override
        public void directory(String path, int mode) {
            events.add("D " + path + " 0" + Integer.toOctalString(mode));
        }

        @Override
        public void file(String path, int mode) {
            events.add("F " + path + " 0" + Integer.toOctalString(mode));
            current = new ByteArrayOutputStream();
            files.put(path, current);
        }

        @Override
        public void content(byte[] bytes, int offset, int length) {
            current.write(bytes, offset, length);
        }

        @Override
        public void symlink(String path, String target) {
            events.add("L " + path + " -> " + target);
        }

        @Override
        public void end(int errno, String message) {
            events.add("E " + errno + " " + message);
        }
    }
}
