package dev.arrow.image.init;

import static dev.arrow.image.init.InitSpecCheck.raw;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.image.GuestPath;
import dev.arrow.image.HostCommand;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The spec keys of templates and their clones (template, ready-port, clock-realtime-ns, entropy, file), the launch message
 * and the control lines: encoded in Java, checked against init's own parser (arrow-init --check-spec on the host).
 */
class CloneSpecKeysTest {
    private static final byte[] ENTROPY = new byte[32];
    private static final Instant NOW = Instant.ofEpochSecond(1_800_000_000L, 123_456_789);

    static {
        for (int i = 0; i < ENTROPY.length; i++) ENTROPY[i] = (byte) (i * 37 + 5);
    }

    @TempDir
    static Path tmp;
    static InitSpecCheck specCheck;

    @BeforeAll
    static void extractInit() throws IOException {
        specCheck = InitSpecCheck.extractTo(tmp);
    }

    private static LaunchSpec cloneSpec() {
        return LaunchSpec.builder().args("hello").stdio(Stdio.VIRTIO).readyPort(8080).realtimeClock(NOW).entropy(ENTROPY)
                .file(new LaunchFile(GuestPath.of("/data/in.bin"), 0600, new byte[] {1, 0, 2, '\n', 0}))
                .file(new LaunchFile(GuestPath.of("/etc/empty"), 0644, new byte[0]))
                .build();
    }

    @Test
    void theNewKeysComeAfterStdioInTheDocumentedOrder() {
        String hex = "052a4f7499bee3082d52779cc1e60b30557a9fc4e90e33587da2c7ec11365b80";
        assertThat(InitProtocol.entropyHex(ENTROPY)).isEqualTo(hex);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(raw("exec", "/arrow/app", "arg", "/arrow/app", "arg", "hello", "stdio", "virtio", "ready-port", "8080",
                "clock-realtime-ns", "1800000000123456789", "entropy", hex, "file", "0600 5 /data/in.bin"));
        expected.writeBytes(new byte[] {1, 0, 2, '\n', 0, 0});
        expected.writeBytes("file\0000644 0 /etc/empty\0\0end\0\0".getBytes(StandardCharsets.US_ASCII));
        assertThat(SpecFile.encode(cloneSpec())).isEqualTo(expected.toByteArray());
    }

    @Test
    void initParsesTheNewKeysBackToTheSameBytes() throws IOException {
        for (byte[] bytes : List.of(SpecFile.encode(cloneSpec()), SpecFile.encodeTemplate())) {
            HostCommand.Result r = specCheck.check(bytes);
            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).isEqualTo(bytes);
        }
    }

    @Test
    void theTemplateSpecIsStdioVirtioAndTemplateInitOnly() {
        assertThat(SpecFile.encodeTemplate()).isEqualTo(raw("stdio", "virtio", "template", "init", "end", ""));
    }

    @Test
    void aFileRecordWhoseBytesRunPastTheEndIsRejectedAtEveryCut() throws IOException {
        byte[] bytes = SpecFile.encode(LaunchSpec.builder().file(new LaunchFile(GuestPath.of("/f"), 0644, new byte[40])).build());
        int data = indexOf(bytes, "/f\0".getBytes(StandardCharsets.US_ASCII)) + 3;
        for (int cut = data; cut <= data + 40; cut += 8) {
            byte[] truncated = Arrays.copyOf(bytes, cut);
            HostCommand.Result r = specCheck.check(truncated);
            assertThat(r.exitCode()).as("cut at %d", cut).isEqualTo(1);
            assertThat(r.stderr()).contains("run past the end of the spec");
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) return i;
        }
        throw new AssertionError("not found");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "entropy is not 32..512 lowercase hex|exec|/a|arg|a|entropy|0011223344556677889900112233445|end|",
        "entropy is not 32..512 lowercase hex|exec|/a|arg|a|entropy|00112233445566778899001122334455ZZ|end|",
        "entropy is not 32..512 lowercase hex|exec|/a|arg|a|entropy|00112233445566778899AABBCCDDEEFF|end|",
        "entropy is not 32..512 lowercase hex|exec|/a|arg|a|entropy|001122334455667788990011223344|end|",
        "entropy given twice|exec|/a|arg|a|entropy|00112233445566778899aabbccddeeff|entropy|00112233445566778899aabbccddeeff|end|",
        "clock-realtime-ns '-1'|exec|/a|arg|a|clock-realtime-ns|-1|end|",
        "clock-realtime-ns '9223372036854775808'|exec|/a|arg|a|clock-realtime-ns|9223372036854775808|end|",
        "clock-realtime-ns given twice|exec|/a|arg|a|clock-realtime-ns|1|clock-realtime-ns|2|end|",
        "ready-port '0'|exec|/a|arg|a|ready-port|0|end|",
        "ready-port '65536'|exec|/a|arg|a|ready-port|65536|end|",
        "ready-port given twice|exec|/a|arg|a|ready-port|80|ready-port|81|end|",
        "template 'app'|stdio|virtio|template|app|end|",
        "template given twice|stdio|virtio|template|init|template|init|end|",
        "template needs 'stdio virtio'|template|init|end|",
        "template needs 'stdio virtio'|stdio|serial|template|init|end|",
        "a template spec holds only|stdio|virtio|template|init|exec|/a|arg|a|end|",
        "a template spec holds only|stdio|virtio|template|init|entropy|00112233445566778899aabbccddeeff|end|",
        "a template spec holds only|stdio|virtio|stderr|stdout|template|init|end|",
        "has a '.' or '..' component|exec|/a|arg|a|file|644 1 /data/../etc/x|y|end|",
        "has a '.' or '..' component|exec|/a|arg|a|file|644 1 /data/./x|y|end|",
        "has an empty component|exec|/a|arg|a|file|644 1 /data//x|y|end|",
        "is not absolute|exec|/a|arg|a|file|644 1 data/x|y|end|",
        "is init itself|exec|/a|arg|a|file|755 1 /init|y|end|",
        "is inside /arrow, /proc, /sys or /dev|exec|/a|arg|a|file|644 1 /arrow/spec|y|end|",
        "is inside /arrow, /proc, /sys or /dev|exec|/a|arg|a|file|644 1 /proc/sys/kernel/hostname|y|end|",
        "is inside /arrow, /proc, /sys or /dev|exec|/a|arg|a|file|644 1 /dev|y|end|",
        "file mode '8644' is not octal|exec|/a|arg|a|file|8644 1 /x|y|end|",
        "file mode '17777' is not octal|exec|/a|arg|a|file|17777 1 /x|y|end|",
        "file mode '+644' is not octal|exec|/a|arg|a|file|+644 1 /x|y|end|",
        "file mode '\t644' is not octal|exec|/a|arg|a|file|\t644 1 /x|y|end|",
        "file length '01' is not a decimal|exec|/a|arg|a|file|644 01 /x|y|end|",
        "is not '<octal mode> <length> <path>'|exec|/a|arg|a|file|644 /x|y|end|",
        "file /x given twice|exec|/a|arg|a|file|644 1 /x|y|file|600 1 /x|z|end|",
        "bytes and their NUL run past the end|exec|/a|arg|a|file|644 2 /x|y|end|",
    })
    void malformedNewKeysAreRejectedWithAReason(String caseText) throws IOException {
        String[] parts = caseText.split("\\|", -1);
        HostCommand.Result r = specCheck.check(raw(Arrays.copyOfRange(parts, 1, parts.length)));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stderr()).contains("malformed spec").contains(parts[0]);
    }

    @Test
    void javaRefusesWhatInitWouldRefuse() {
        LaunchSpec.Builder b = LaunchSpec.builder();
        assertThatThrownBy(() -> b.entropy(new byte[15])).isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("16..256");
        assertThatThrownBy(() -> b.entropy(new byte[257])).isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("16..256");
        assertThatThrownBy(() -> b.readyPort(0)).isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("1..65535");
        assertThatThrownBy(() -> b.readyPort(65536)).isInstanceOf(InvalidLaunchSpecException.class);
        assertThatThrownBy(() -> b.realtimeClock(Instant.EPOCH.minusNanos(1))).isInstanceOf(InvalidLaunchSpecException.class)
                .hasMessageContaining("before 1970");
        assertThatThrownBy(() -> b.realtimeClock(Instant.parse("2263-01-01T00:00:00Z")))
                .isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("2262");
        for (String reserved : List.of("/init", "/arrow/app", "/proc/x", "/sys", "/dev/null", "/")) {
            assertThatThrownBy(() -> new LaunchFile(GuestPath.of(reserved), 0644, new byte[0]))
                    .as(reserved).isInstanceOf(InvalidLaunchSpecException.class);
        }
        assertThatThrownBy(() -> new LaunchFile(GuestPath.of("/x"), 010000, new byte[0]))
                .isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("07777");
        b.file(new LaunchFile(GuestPath.of("/x"), 0644, new byte[1]));
        assertThatThrownBy(() -> b.file(new LaunchFile(GuestPath.of("/x"), 0600, new byte[2])))
                .isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("given twice");
        assertThatThrownBy(() -> b.file(new LaunchFile(GuestPath.of("/big"), 0644, new byte[SpecFile.MAX_BYTES])))
                .isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("put large files in the template");
    }

    @Test
    void theLaunchMessageIsAHeaderLineAndTheSpec() {
        byte[] spec = SpecFile.encode(cloneSpec());
        byte[] message = LaunchMessage.encode(cloneSpec());
        byte[] header = ("spec " + spec.length + "\n").getBytes(StandardCharsets.US_ASCII);
        assertThat(Arrays.copyOf(message, header.length)).isEqualTo(header);
        assertThat(Arrays.copyOfRange(message, header.length, message.length)).isEqualTo(spec);
    }

    @Test
    void aLaunchMessageNeedsVirtioStdio() {
        assertThatThrownBy(() -> LaunchMessage.encode(LaunchSpec.builder().build()))
                .isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("stdio(Stdio.VIRTIO)");
    }

    @Test
    void theClockAndEntropyCommandsAreLines() {
        assertThat(InitProtocol.clockCommand(NOW)).isEqualTo("clock-realtime-ns 1800000000123456789\n");
        assertThat(InitProtocol.entropyCommand(new byte[16])).isEqualTo("entropy " + "00".repeat(16) + "\n");
        assertThat(InitProtocol.entropyCommand(new byte[InitProtocol.ENTROPY_MAX_BYTES]).length())
                .isLessThan(InitProtocol.CONTROL_LINE_MAX_BYTES);
        assertThatThrownBy(() -> InitProtocol.entropyCommand(new byte[8])).isInstanceOf(InvalidLaunchSpecException.class);
    }
}
