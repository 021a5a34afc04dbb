package dev.arrow.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GuestPathTest {
    @Test
    void parsesAbsolutePathsAndKnowsTheirParts() {
        GuestPath p = GuestPath.of("/arrow/app");
        assertThat(p.fileName()).isEqualTo("app");
        assertThat(p.parent()).contains(GuestPath.of("/arrow"));
        assertThat(p.archiveName()).isEqualTo("arrow/app");
        assertThat(GuestPath.of("/a/b/c").ancestors()).containsExactly(GuestPath.of("/a"), GuestPath.of("/a/b"));
        assertThat(GuestPath.of("/a").parent()).contains(GuestPath.ROOT);
        assertThat(GuestPath.ROOT.parent()).isEmpty();
        assertThat(GuestPath.ROOT.resolve("etc").resolve("hosts")).isEqualTo(GuestPath.of("/etc/hosts"));
    }

    @Test
    void relativePathIsRejectedWithTheFix() {
        assertThatThrownBy(() -> GuestPath.of("arrow/app"))
                .isInstanceOf(InvalidGuestPathException.class)
                .hasMessageContaining("not absolute").hasMessageContaining("/arrow/app");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/a//b", "/a/", "/a/../b", "/..", "/a/./b", "/a\0b"})
    void malformedPathsAreRejected(String path) {
        assertThatThrownBy(() -> GuestPath.of(path)).isInstanceOf(InvalidGuestPathException.class);
    }

    @Test
    void nulIsNamedInTheMessage() {
        assertThatThrownBy(() -> GuestPath.of("/bad\0name")).hasMessageContaining("NUL").hasMessageContaining("/bad\\0name");
    }

    @Test
    void overlongComponentsAndPathsAreRejected() {
        assertThatThrownBy(() -> GuestPath.of("/" + "x".repeat(256))).hasMessageContaining("255 bytes");
        assertThat(GuestPath.of("/" + "x".repeat(255)).fileName()).hasSize(255);
        String longPath = ("/" + "y".repeat(200)).repeat(21);
        assertThatThrownBy(() -> GuestPath.of(longPath)).hasMessageContaining("4095 bytes");
    }

    @Test
    void resolveTakesOneComponentOnly() {
        assertThatThrownBy(() -> GuestPath.ROOT.resolve("a/b")).isInstanceOf(InvalidGuestPathException.class);
        assertThatThrownBy(() -> GuestPath.ROOT.resolve("..")).isInstanceOf(InvalidGuestPathException.class);
    }
}
