package dev.arrow.image.erofs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 1: what an image file may be named and which modes it may have. */
class ImageFileTest {
    @Test
    void aNameMustBeAPlainFileName() {
        for (String bad : List.of("", ".", "..", "a/b", "/app", "a\0b", "é".repeat(128), "x\uD800")) {
            assertThatThrownBy(() -> ImageFile.bytes(bad, new byte[0], 0644)).as(bad)
                    .isInstanceOf(ImageFileException.class).hasMessageContaining("name");
        }
        assertThatThrownBy(() -> ImageFile.bytes("a/b", new byte[0], 0644))
                .hasMessage("image file name \"a/b\" contains '/': name each image file with a plain file name (no directories),"
                        + " for example \"app\" or \"0\"");
        for (String good : List.of("0", "app", "...", ".hidden", "ünï cöde", "n".repeat(255), "é".repeat(127))) {
            assertThat(ImageFile.bytes(good, new byte[0], 0644).name()).isEqualTo(good);
        }
    }

    @Test
    void aModeIsPermissionBitsOnly() {
        assertThat(ImageFile.hostFile("a", Path.of("/x"), 07777).mode()).isEqualTo(07777);
        assertThatThrownBy(() -> ImageFile.bytes("a", new byte[0], 0100755))
                .isInstanceOf(ImageFileException.class)
                .hasMessage("image file \"a\" has mode 0100755, which is not permission bits: give 0 to 07777 (for example 0755),"
                        + " the file type is implied");
        assertThatThrownBy(() -> ImageFile.bytes("a", new byte[0], -1)).isInstanceOf(ImageFileException.class);
    }

    @Test
    void bytesAreCopiedInAndOut() {
        byte[] bytes = {1, 2};
        ImageFile file = ImageFile.bytes("a", bytes, 0644);
        bytes[0] = 9;
        ((FileContent.Bytes) file.content()).bytes()[1] = 9;
        assertThat(((FileContent.Bytes) file.content()).bytes()).containsExactly(1, 2);
        assertThat(file).isEqualTo(ImageFile.bytes("a", new byte[] {1, 2}, 0644));
    }

    @Test
    void theIdIsIndependentOfEntryOrderAndRefusesTwoEntriesOfOneName() {
        ImageEntry a = new ImageEntry("a", 0644, 1, "a".repeat(64));
        ImageEntry b = new ImageEntry("b", 0755, 2, "b".repeat(64));
        assertThat(ContentId.of(List.of(a, b))).isEqualTo(ContentId.of(List.of(b, a)));
        assertThatThrownBy(() -> ContentId.of(List.of(a, b, a))).isInstanceOf(ImageFileException.class)
                .hasMessageContaining("two image files are named \"a\"");
        assertThat(ContentId.uuid(ContentId.of(List.of(a))).version()).isEqualTo(8);
    }
}
