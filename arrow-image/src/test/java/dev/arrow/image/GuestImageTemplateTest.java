package dev.arrow.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.image.init.ArrowInit;
import dev.arrow.image.init.SpecFile;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link GuestImage#assembleTemplate} and {@link GuestImage#cloneLaunch} (tier 1: the archive and the message are read back). */
class GuestImageTemplateTest {
    private static final Instant NOW = Instant.ofEpochSecond(1_900_000_000L, 5);

    @TempDir
    Path dir;

    /** The content of each regular file of a newc archive, by name; read independently of the writer. */
    private static Map<String, byte[]> contents(byte[] archive) {
        Map<String, byte[]> result = new LinkedHashMap<>();
        int pos = 0;
        while (true) {
            String header = new String(archive, pos, 110, StandardCharsets.US_ASCII);
            int mode = Integer.parseInt(header.substring(14, 22), 16);
            int size = Integer.parseInt(header.substring(54, 62), 16);
            int nameSize = Integer.parseInt(header.substring(94, 102), 16);
            String name = new String(archive, pos + 110, nameSize - 1, StandardCharsets.UTF_8);
            if (name.equals("TRAILER!!!")) return result;
            int data = (pos + 110 + nameSize + 3) & ~3;
            if ((mode & 0170000) == 0100000) result.put(name, Arrays.copyOfRange(archive, data, data + size));
            pos = (data + size + 3) & ~3;
        }
    }

    private ArrowSpec.Builder spec() throws IOException {
        return ArrowSpec.builder(Files.write(dir.resolve("app"), new byte[] {0x7f, 'E', 'L', 'F'}));
    }

    @Test
    void aTemplateImageHoldsInitTheAppTheUsersFilesAndTheTemplateSpecOnly() throws IOException {
        ArrowSpec spec = spec().args("not", "in", "the", "image").file(GuestFile.ofText("shared", "/data/shared.txt")).build();
        Map<String, byte[]> files = contents(GuestImage.assembleTemplate(spec, dir.resolve("vmlinux")).initramfsBytes());
        assertThat(files).containsKeys(ArrowInit.GUEST_PATH.substring(1), "arrow/app", "data/shared.txt");
        assertThat(files.get("arrow/spec")).isEqualTo(SpecFile.encodeTemplate());
    }

    @Test
    void aCloneLaunchCarriesTheClonesSpecFilesClockAndEntropy() throws IOException {
        Path tool = Files.writeString(dir.resolve("tool"), "#!/bin/true\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-x---"));
        byte[] entropy = new byte[16];
        Arrays.fill(entropy, (byte) 0xab);
        byte[] message = GuestImage.cloneLaunch(spec().args("--clone", "3").build(),
                List.of(GuestFile.fromHost(tool, "/data/tool"), GuestFile.ofText("x", "/etc/clone")), Optional.empty(), NOW, entropy);
        String text = new String(message, StandardCharsets.UTF_8);
        int newline = text.indexOf('\n');
        assertThat(text.substring(0, newline)).isEqualTo("spec " + (message.length - newline - 1));
        assertThat(text.substring(newline + 1)).startsWith(SpecFile.MAGIC)
                .contains("arg\0--clone\0arg\0003\0", "stdio\0virtio\0", "clock-realtime-ns\0001900000000000000005\0",
                        "entropy\0" + "ab".repeat(16) + "\0", "file\0000750 12 /data/tool\0#!/bin/true\n\0",
                        "file\0000644 1 /etc/clone\0x\0")
                .endsWith("end\0\0")
                .doesNotContain("stderr\0");
    }

    @Test
    void aCloneWhoseStderrIsItsStdoutTellsInitSo() throws IOException {
        byte[] message = GuestImage.cloneLaunch(spec().redirectErrorStream(true).build(), List.of(), Optional.empty(), NOW,
                new byte[16]);
        assertThat(new String(message, StandardCharsets.UTF_8)).contains("stdio\0virtio\0stderr\0stdout\0");
    }

    @Test
    void aHostFileTooLargeForTheLaunchSpecIsRefusedNamingTheFix() throws IOException {
        Path big = dir.resolve("big");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(SpecFile.MAX_BYTES + 1L);
        }
        assertThatThrownBy(() -> GuestImage.cloneLaunch(spec().build(), List.of(GuestFile.fromHost(big, "/data/big")),
                Optional.empty(), NOW, new byte[16]))
                .isInstanceOf(ImageException.class).hasMessageContaining(big.toString()).hasMessageContaining("put it in the template");
    }
}
