package dev.arrow.internal;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LineSplitterTest {

    private final List<String> lines = new ArrayList<>();

    private void feed(LineSplitter s, byte[] bytes) {
        s.accept(bytes, 0, bytes.length);
    }

    @Test
    void splitsOnNewlineAndDropsTheCarriageReturnOfATty() {
        LineSplitter s = new LineSplitter(100, lines::add);
        feed(s, "a\r\nb\n\nc\rd\nrest".getBytes(StandardCharsets.UTF_8));
        assertThat(lines).containsExactly("a", "b", "", "c\rd");
        s.finish();
        assertThat(lines).containsExactly("a", "b", "", "c\rd", "rest");
        s.finish();
        assertThat(lines).hasSize(5);
    }

    @Test
    void multiByteCharactersSplitAcrossChunksStayWhole() {
        LineSplitter s = new LineSplitter(100, lines::add);
        byte[] bytes = "über €\n".getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            s.accept(new byte[]{b}, 0, 1);
        }
        assertThat(lines).containsExactly("über €");
    }

    @Test
    void overlongLinesAreCutIntoPieces() {
        LineSplitter s = new LineSplitter(4, lines::add);
        feed(s, "abcdefghij\n".getBytes(StandardCharsets.UTF_8));
        assertThat(lines).containsExactly("abcd", "efgh", "ij");
    }

    @Test
    void malformedUtf8BecomesReplacementCharacters() {
        LineSplitter s = new LineSplitter(100, lines::add);
        feed(s, new byte[]{'a', (byte) 0xff, 'b', '\n'});
        assertThat(lines).containsExactly("a\ufffdb");
    }
}
