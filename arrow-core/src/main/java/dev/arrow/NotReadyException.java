package dev.arrow;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@link Arrow#start()} gave up waiting for an arrow to be ready ({@link Arrow#waitingFor(WaitStrategy)}):
 * its startup timeout elapsed, or the arrow ended first. The arrow has been closed. The message names
 * what was awaited and shows the last lines of output; {@link #output()} has more of them (as
 * {@link ArrowProcess#logs()} kept them) and {@link #outcome()} how the arrow ended if it ended by itself.
 */
public class NotReadyException extends ArrowException {

    private static final long serialVersionUID = 1L;
    /** Lines of output the message shows at most. */
    static final int LINES_IN_MESSAGE = 20;

    private final transient List<OutputFrame> output;
    private final transient ArrowOutcome outcome;
    private final Duration waited;

    NotReadyException(String message, List<OutputFrame> output, ArrowOutcome outcome, Duration waited, Throwable cause) {
        super(message + lastLines(output), cause);
        this.output = List.copyOf(output);
        this.outcome = outcome;
        this.waited = waited;
    }

    private static String lastLines(List<OutputFrame> output) {
        if (output.isEmpty()) {
            return "; it printed nothing";
        }
        StringBuilder text = new StringBuilder("; its last lines of output:");
        output.subList(Math.max(0, output.size() - LINES_IN_MESSAGE), output.size())
                .forEach(f -> text.append("\n  ").append(f));
        return text.toString();
    }

    /** The last lines the arrow printed, bounded as {@link ArrowProcess#logs()} is. */
    public List<OutputFrame> output() {
        return output == null ? List.of() : output;
    }

    /** How the arrow ended, if it ended by itself before it was ready; empty if it was still running. */
    public Optional<ArrowOutcome> outcome() {
        return Optional.ofNullable(outcome);
    }

    /** How long {@link Arrow#start()} waited for readiness. */
    public Duration waited() {
        return waited;
    }
}
