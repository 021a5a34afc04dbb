package dev.arrow;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Where an {@link ArrowTemplate} is frozen, so that its clones start from there.
 *
 * <ul>
 *   <li>{@link #init()} (the default): the kernel has booted, the devices are up and init waits for its
 *       launch spec. Every binary can be templated at this point, and every clone gets its own args, env,
 *       files, working directory, user and hostname.</li>
 *   <li>{@link #whenOutput(String)} and {@link #whenListening(int)}: the <em>app point</em>. The program
 *       itself runs until it declares itself ready (a line of its stdout matches, or it listens on a guest
 *       TCP port) and is frozen there: clones resume a warmed-up program. They cannot change its args, env,
 *       files, working directory, user or hostname; they share the program's own state at the freeze,
 *       including any random seed it drew in user space before that point (the kernel's random pool is
 *       reseeded per clone).</li>
 * </ul>
 *
 * Each point carries how long the template's boot may take to reach it ({@link #within(Duration)},
 * {@value #DEFAULT_TIMEOUT_SECONDS} s unless set).
 */
public sealed interface TemplatePoint {

    /** How long a template's boot may take to reach its point, unless {@link #within(Duration)} says otherwise. */
    long DEFAULT_TIMEOUT_SECONDS = 120;

    /** The init point: booted, init waiting for the clone's launch spec. */
    static TemplatePoint init() {
        return new Init(Duration.ofSeconds(DEFAULT_TIMEOUT_SECONDS));
    }

    /**
     * The app point reached when a line the program writes on stdout contains a match of {@code regex}
     * (the line's terminator excluded).
     *
     * @throws IllegalArgumentException if {@code regex} is not a valid regular expression
     */
    static TemplatePoint whenOutput(String regex) {
        Objects.requireNonNull(regex, "regex");
        try {
            return new OutputLine(Pattern.compile(regex), Duration.ofSeconds(DEFAULT_TIMEOUT_SECONDS));
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("the output pattern of the template point is not a regular expression: "
                    + e.getMessage(), e);
        }
    }

    /** The app point reached when the program listens on TCP port {@code guestPort} inside the guest. */
    static TemplatePoint whenListening(int guestPort) {
        return new Listening(guestPort, Duration.ofSeconds(DEFAULT_TIMEOUT_SECONDS));
    }

    /** How long the template's boot may take to reach this point. */
    Duration timeout();

    /** This point, reached within {@code timeout} or the template fails. */
    TemplatePoint within(Duration timeout);

    /** True for the app point: the program runs before the freeze, and clones cannot change its launch settings. */
    default boolean isAppPoint() {
        return !(this instanceof Init);
    }

    /** See {@link TemplatePoint#init()}. */
    record Init(Duration timeout) implements TemplatePoint {
        public Init {
            checkTimeout(timeout);
        }

        @Override
        public TemplatePoint within(Duration timeout) {
            return new Init(timeout);
        }
    }

    /** See {@link TemplatePoint#whenOutput(String)}. */
    record OutputLine(Pattern pattern, Duration timeout) implements TemplatePoint {
        public OutputLine {
            Objects.requireNonNull(pattern, "pattern");
            checkTimeout(timeout);
        }

        @Override
        public TemplatePoint within(Duration timeout) {
            return new OutputLine(pattern, timeout);
        }
    }

    /** See {@link TemplatePoint#whenListening(int)}. */
    record Listening(int guestPort, Duration timeout) implements TemplatePoint {
        public Listening {
            if (guestPort < 1 || guestPort > 65535) {
                throw new IllegalArgumentException("the guest port of the template point must be 1..65535, not "
                        + guestPort);
            }
            checkTimeout(timeout);
        }

        @Override
        public TemplatePoint within(Duration timeout) {
            return new Listening(guestPort, timeout);
        }
    }

    private static void checkTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the template point's timeout must be positive, not " + timeout);
        }
    }
}
