package dev.arrow;

import dev.arrow.config.SpecException;
import dev.arrow.config.SpecProblem;

import java.util.List;

/**
 * The spec cannot be run as given. {@link #problems()} lists every problem with its JSON path, e.g.
 * {@code $.memory: 16MiB is too small; ...}.
 */
public class InvalidSpecException extends ArrowException {

    private static final long serialVersionUID = 1L;

    private final transient List<SpecProblem> problems;

    /** Wraps the validation failure of a spec. */
    public InvalidSpecException(SpecException cause) {
        super(cause.getMessage(), cause);
        this.problems = cause.problems();
    }

    /** Problems found outside spec validation, e.g. a host file that does not exist. */
    public InvalidSpecException(List<SpecProblem> problems) {
        this(new SpecException(problems));
    }

    /** The problems, each with its JSON path. */
    public List<SpecProblem> problems() {
        return problems;
    }
}
