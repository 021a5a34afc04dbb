package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class MarkdownTableTest {
    @Test
    void writesTheHeaderASeparatorPerColumnTheRowsInOrderAndTheBlankLineThatEndsTheTable() {
        MarkdownTable t = new MarkdownTable("arrows alive", "MiB", MarkdownTable.bold("all-in") + " (goal ≤ 4)")
                .row("1", "12.50", MarkdownTable.bold("8.84"))
                .row(List.of("10", "3.25", MarkdownTable.bold("2.00")));

        assertThat(t.render()).isEqualTo("""
                | arrows alive | MiB | **all-in** (goal ≤ 4) |
                |---|---|---|
                | 1 | 12.50 | **8.84** |
                | 10 | 3.25 | **2.00** |

                """);
    }

    @Test
    void writesAnEmptyCellAsOneSpace() {
        MarkdownTable t = new MarkdownTable("", "median ms").row("reset", "");

        assertThat(t.render()).isEqualTo("""
                | | median ms |
                |---|---|
                | reset | |

                """);
    }

    @Test
    void aNoteFillsTheFirstCellAndLeavesTheOthersEmpty() {
        MarkdownTable t = new MarkdownTable("part", "where", "CPU").note("(nothing recorded)");

        assertThat(t.render()).endsWith("|---|---|---|\n| (nothing recorded) |||\n\n");
    }

    @Test
    void aTableWithoutRowsIsItsHeader() {
        assertThat(new MarkdownTable("one").render()).isEqualTo("| one |\n|---|\n\n");
    }

    @Test
    void rejectsARowWhoseCellsDoNotMatchTheColumns() {
        MarkdownTable t = new MarkdownTable("a", "b", "c");

        assertThatThrownBy(() -> t.row("1", "2"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a row of 2 cells in a table of 3 columns");
        assertThatThrownBy(() -> t.row("1", "2", "3", "4"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a row of 4 cells in a table of 3 columns");
        assertThat(t.render()).isEqualTo("| a | b | c |\n|---|---|---|\n\n");
    }

    @Test
    void rejectsATableWithoutColumns() {
        assertThatThrownBy(() -> new MarkdownTable())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one column");
    }

    @Test
    void boldWrapsTheTextInDoubleAsterisks() {
        assertThat(MarkdownTable.bold("met")).isEqualTo("**met**");
    }
}
