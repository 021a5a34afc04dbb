package dev.arrow.config;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A spec, or its JSON form, is invalid. Carries every problem found, each with its JSON path.
 * The message is {@code "invalid arrow spec: <path>: <problem>"} for one problem and one line per
 * problem otherwise.
 */
public class SpecException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final transient List<SpecProblem> problems;

    public SpecException(List<SpecProblem> problems) {
        super(message(problems));
        this.problems = List.copyOf(problems);
    }

    /** The problems, in the order of the spec's fields. */
    public List<SpecProblem> problems() {
        return problems;
    }

    static String message(List<SpecProblem> problems) {
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a SpecException needs at least one problem");
        }
        if (problems.size() == 1) {
            return "invalid arrow spec: " + problems.get(0);
        }
        return problems.stream().map(p -> "  " + p)
                .collect(Collectors.joining("\n", "invalid arrow spec (" + problems.size() + " problems):\n", ""));
    }
}
