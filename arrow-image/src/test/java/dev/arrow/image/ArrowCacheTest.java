package dev.arrow.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: where the cache is and which directories in it are private. */
class ArrowCacheTest {
    @TempDir
    Path tmp;

    @Test
    void rootFollowsTheScriptsRules() {
        Path home = Path.of("/home/u");
        assertThat(ArrowCache.root(Map.<String, String>of()::get, home)).isEqualTo(Path.of("/home/u/.cache/arrow"));
        assertThat(ArrowCache.root(Map.of("XDG_CACHE_HOME", "/x")::get, home)).isEqualTo(Path.of("/x/arrow"));
        assertThat(ArrowCache.root(Map.of("XDG_CACHE_HOME", "/x", "ARROW_CACHE", "/c")::get, home)).isEqualTo(Path.of("/c"));
    }

    @Test
    void aPrivateDirectoryIsCreatedWithItsParentsAndNoGroupWrite() throws IOException {
        Path dir = tmp.resolve("a/b");
        ArrowCache.createPrivateDirectory(dir);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwxr-xr-x");
        ArrowCache.createPrivateDirectory(dir); // again: already there
    }

    @Test
    void aDirectoryOthersMayWriteIsRefused() throws IOException {
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> ArrowCache.createPrivateDirectory(shared))
                .isInstanceOf(IOException.class).hasMessage("writable by other users (rwxrwxrwx)");
    }
}
