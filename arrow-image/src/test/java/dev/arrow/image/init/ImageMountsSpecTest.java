package dev.arrow.image.init;

import static dev.arrow.image.init.InitSpecCheck.raw;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.image.GuestPath;
import dev.arrow.image.HostCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The application loader's spec records ({@code image}, {@code mapped}): encoded in Java, checked against init's own
 * parser (arrow-init --check-spec on the host), and the records init refuses.
 */
class ImageMountsSpecTest {
    private static final String UUID0 = "00112233445566778899aabbccddeeff";
    private static final String UUID1 = "ffeeddccbbaa99887766554433221100";

    @TempDir
    static Path tmp;
    static InitSpecCheck specCheck;

    @BeforeAll
    static void extractInit() throws IOException {
        specCheck = InitSpecCheck.extractTo(tmp);
    }

    private static ImageMounts twoImages() {
        return ImageMounts.of(List.of(HexFormat.of().parseHex(UUID0), HexFormat.of().parseHex(UUID1)), List.of(
                new ImageMounts.MappedFile(0, "0", 104_857_600L, GuestPath.of("/usr/bin/tool")),
                new ImageMounts.MappedFile(1, "1", 0, GuestPath.of("/data/empty"))));
    }

    @Test
    void imageAndMappedRecordsComeBeforeTheFilesAndInitReadsThemBackToTheSameBytes() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().executable("/arrow/images/0/0").args("x").images(twoImages())
                .file(new LaunchFile(GuestPath.of("/etc/small"), 0644, "hi".getBytes(StandardCharsets.US_ASCII))).build();
        byte[] bytes = SpecFile.encode(spec);
        assertThat(new String(bytes, StandardCharsets.ISO_8859_1)).contains(
                "image\0" + UUID0 + "\0image\0" + UUID1 + "\0mapped\0000 0 104857600 /usr/bin/tool\0mapped\0001 1 0 /data/empty\0"
                        + "file\0");
        HostCommand.Result r = specCheck.check(bytes);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo(bytes);
    }

    @Test
    void aTemplateSpecMayHoldItsImages() throws IOException {
        byte[] bytes = SpecFile.encodeTemplate(twoImages());
        HostCommand.Result r = specCheck.check(bytes);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo(bytes);
        assertThat(SpecFile.encodeTemplate(ImageMounts.NONE)).isEqualTo(SpecFile.encodeTemplate());
    }

    @Test
    void initRefusesMalformedImageRecords() throws IOException {
        assertRefused("is not 32 lowercase hex digits", "image", UUID0.toUpperCase());
        assertRefused("is not 32 lowercase hex digits", "image", UUID0 + "00");
        assertRefused("given twice", "image", UUID0, "image", UUID0);
        assertRefused("is not one of the 0 images given before it", "mapped", "0 a 1 /data/a", "image", UUID0);
        assertRefused("is not one of the 1 images given before it", "image", UUID0, "mapped", "1 a 1 /data/a");
        assertRefused("is not a plain file name", "image", UUID0, "mapped", "0 a/b 1 /data/a");
        assertRefused("is not a plain file name", "image", UUID0, "mapped", "0 .. 1 /data/a");
        assertRefused("is not a decimal", "image", UUID0, "mapped", "0 a -1 /data/a");
        assertRefused("is inside /arrow", "image", UUID0, "mapped", "0 a 1 /arrow/app");
        assertRefused("is not '<image> <name> <size> <path>'", "image", UUID0, "mapped", "0 a 1");
        assertRefused("given twice", "image", UUID0, "mapped", "0 a 1 /data/a", "mapped", "0 b 1 /data/a");
        assertRefused("is given as a file and as a mapped file", "image", UUID0, "mapped", "0 a 2 /data/a",
                "file", "0644 0 /data/a", "");
        String[] nine = new String[18];
        for (int i = 0; i < 9; i++) {
            nine[2 * i] = "image";
            nine[2 * i + 1] = String.format("%032x", i);
        }
        assertRefused("more than 8 images", nine);
    }

    @Test
    void javaRefusesWhatInitWould() {
        byte[] uuid = HexFormat.of().parseHex(UUID0);
        assertThatThrownBy(() -> ImageMounts.of(List.of(uuid, uuid), List.of())).hasMessageContaining("given twice");
        assertThatThrownBy(() -> ImageMounts.of(List.of(new byte[15]), List.of())).hasMessageContaining("not 16");
        assertThatThrownBy(() -> ImageMounts.of(List.of(uuid),
                List.of(new ImageMounts.MappedFile(1, "a", 1, GuestPath.of("/data/a"))))).hasMessageContaining("names image 1 of 1");
        assertThatThrownBy(() -> new ImageMounts.MappedFile(0, "a/b", 1, GuestPath.of("/data/a")))
                .hasMessageContaining("not a plain file name");
        assertThatThrownBy(() -> new ImageMounts.MappedFile(0, "a", 1, GuestPath.of("/arrow/x")))
                .hasMessageContaining("mapped file path /arrow/x is inside /arrow");
        ImageMounts mounts = ImageMounts.of(List.of(uuid), List.of(new ImageMounts.MappedFile(0, "a", 1, GuestPath.of("/data/a"))));
        assertThatThrownBy(() -> LaunchSpec.builder().images(mounts)
                .file(new LaunchFile(GuestPath.of("/data/a"), 0644, new byte[1])).build())
                .hasMessageContaining("/data/a is given as a file and as a mapped file");
        assertThat(mounts.files().get(0).pathInImage()).isEqualTo("/arrow/images/0/a");
    }

    private static void assertRefused(String message, String... records) throws IOException {
        String[] all = new String[records.length + 6];
        all[0] = "exec";
        all[1] = "/a";
        all[2] = "arg";
        all[3] = "a";
        System.arraycopy(records, 0, all, 4, records.length);
        all[all.length - 2] = "end";
        all[all.length - 1] = "";
        HostCommand.Result r = specCheck.check(raw(all));
        assertThat(r.exitCode()).as("refused: %s", String.join(" ", records)).isEqualTo(1);
        assertThat(r.stderr()).contains(message);
    }
}
