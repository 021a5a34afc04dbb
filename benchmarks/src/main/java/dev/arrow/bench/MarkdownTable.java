package dev.arrow.bench;

import java.util.List;

/**
 * One table of the report in markdown (GitHub's pipe tables): the header row, the separator row, then the value
 * rows in the order added, each row one line with exactly as many cells as the header. Cells are written as
 * given ({@link #bold} marks one), an empty one as a single space; {@link #render} gives the block for the
 * section that owns the table.
 */
final class MarkdownTable {
    private final int columns;
    private final StringBuilder md = new StringBuilder();

    /** A table with these column headings (at least one). */
    MarkdownTable(String... header) {
        this(List.of(header));
    }

    /** A table with these column headings (at least one). */
    MarkdownTable(List<String> header) {
        if (header.isEmpty()) {
            throw new IllegalArgumentException("a markdown table needs at least one column");
        }
        columns = header.size();
        line(header);
        md.append("|---".repeat(columns)).append("|\n");
    }

    /** Adds a row of {@code cells}, one per column. */
    MarkdownTable row(String... cells) {
        return row(List.of(cells));
    }

    /** Adds a row of {@code cells}, one per column. */
    MarkdownTable row(List<String> cells) {
        if (cells.size() != columns) {
            throw new IllegalArgumentException("a row of " + cells.size() + " cells in a table of " + columns
                    + " columns: " + cells);
        }
        line(cells);
        return this;
    }

    /** Adds a row with {@code text} in its first cell and every other cell empty: {@code | text |||}. */
    MarkdownTable note(String text) {
        md.append("| ").append(text).append(" |").append("|".repeat(columns - 1)).append('\n');
        return this;
    }

    /** {@code text} in bold: {@code **text**}. */
    static String bold(String text) {
        return "**" + text + "**";
    }

    /**
     * The table so far as a markdown block: one line per row, then the blank line that ends the table (so the text
     * that follows is not read as one more row).
     */
    String render() {
        return md + "\n";
    }

    private void line(List<String> cells) {
        md.append('|');
        for (String cell : cells) {
            md.append(cell.isEmpty() ? " |" : " " + cell + " |");
        }
        md.append('\n');
    }
}
