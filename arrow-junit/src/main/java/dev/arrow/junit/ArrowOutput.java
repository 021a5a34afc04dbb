package dev.arrow.junit;

import dev.arrow.ArrowProcess;
import dev.arrow.OutputFrame;

import java.util.List;

/**
 * The last lines an arrow printed, attached by {@link ArrowTest}'s extension to a failing test's exception as a
 * suppressed exception: it travels with the failure to every report (the IDE, Surefire's XML and console, the
 * console launcher) and reads as part of its stack trace. Its own stack trace is empty: only the message matters.
 */
public final class ArrowOutput extends RuntimeException {

    private static final long serialVersionUID = 1L;
    /** Lines attached at most, the last ones; {@link ArrowProcess#logs()} keeps more while the arrow exists. */
    static final int MAX_LINES = 100;

    private ArrowOutput(String message) {
        super(message, null, false, false);
    }

    /** The output {@code process}, started from {@code field}, printed so far. */
    static ArrowOutput of(DeclaredArrow field, ArrowProcess process) {
        List<OutputFrame> lines = process.logs();
        StringBuilder text = new StringBuilder("output of ").append(field.describe()).append(", ").append(process);
        if (lines.isEmpty()) {
            return new ArrowOutput(text.append(": it printed nothing").toString());
        }
        int shown = Math.min(lines.size(), MAX_LINES);
        text.append(lines.size() > shown ? ", the last " + shown + " of the " + lines.size() + " lines kept:" : ":");
        lines.subList(lines.size() - shown, lines.size()).forEach(line -> text.append("\n  ").append(line));
        return new ArrowOutput(text.toString());
    }
}
