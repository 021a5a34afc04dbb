package dev.arrow.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: the guest's entries cannot place anything outside the copy, and a failed copy leaves nothing behind. */
class HostTreeWriterTest {

    @TempDir
    Path dir;

    private HostTreeWriter treeWithLink() throws IOException {
        HostTreeWriter w = new HostTreeWriter("/out", dir.resolve("out"), 1000);
        w.directory("", 0755);
        w.directory("sub", 0755);
        w.symlink("link", dir.toString());
        return w;
    }

    @Test
    void entriesOutsideTheTreeThroughLinksOrTwiceAreRefused() throws IOException {
        for (String bad : List.of("..", "../escape", "sub/..", "sub/.", "link/x", "nowhere/x", "sub//x", "", "/abs")) {
            HostTreeWriter w = treeWithLink();
            assertThatThrownBy(() -> w.file(bad, 0644)).as(bad).isInstanceOf(IOException.class).hasMessageContaining("malformed");
            w.discard();
        }
        HostTreeWriter twice = treeWithLink();
        assertThatThrownBy(() -> twice.directory("sub", 0755)).isInstanceOf(IOException.class);
        twice.discard();
        assertThat(names(dir)).isEmpty();
    }

    @Test
    void theRootComesFirstAndAFileRootHoldsNothing() throws IOException {
        HostTreeWriter first = new HostTreeWriter("/out", dir.resolve("out"), 10);
        assertThatThrownBy(() -> first.file("a", 0644)).hasMessageContaining("not the root");
        HostTreeWriter file = new HostTreeWriter("/f", dir.resolve("f"), 10);
        file.file("", 0644);
        assertThatThrownBy(() -> file.file("a", 0644)).hasMessageContaining("not inside a directory");
        assertThatThrownBy(() -> new HostTreeWriter("/f", dir.resolve("f"), 10).content(new byte[1], 0, 1))
                .hasMessageContaining("without a file");
        file.discard();
        assertThatThrownBy(() -> new HostTreeWriter("/f", dir.resolve("f"), 10).commit()).hasMessageContaining("sent nothing");
        assertThat(names(dir)).isEmpty();
    }

    @Test
    void aCommittedCopyIsAtTheTargetAndNothingElseIsLeft() throws IOException {
        HostTreeWriter w = treeWithLink();
        w.file("sub/a.txt", 0400);
        w.content("hi".getBytes(StandardCharsets.UTF_8), 0, 2);
        w.commit();
        assertThat(dir.resolve("out/sub/a.txt")).hasContent("hi");
        assertThat(Files.isSymbolicLink(dir.resolve("out/link"))).isTrue();
        assertThat(Files.isWritable(dir.resolve("out/sub/a.txt"))).as("the owner may always write").isTrue();
        assertThat(names(dir)).containsExactly("out");
        assertThatThrownBy(() -> w.file("sub/late", 0644)).hasMessageContaining("given up");
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
