package dev.arrow;

import java.time.Duration;

/**
 * When a started arrow counts as ready: {@link Arrow#start()} returns only then when given one with
 * {@link Arrow#waitingFor(WaitStrategy)}. Made by {@link Wait}'s factories and combined with
 * {@link Wait#allOf(WaitStrategy...)}. Immutable.
 */
public sealed interface WaitStrategy permits Wait.LogMessage, Wait.Port, Wait.Http, Wait.Exit, Wait.All {

    /** How long a strategy waits unless told otherwise. */
    Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(60);

    /**
     * How long this strategy waits, counted from when it begins; inside {@link Wait#allOf(WaitStrategy...)}
     * it is also bounded by what is left of the combination's own.
     */
    Duration startupTimeout();

    /**
     * This strategy waiting at most {@code timeout}.
     *
     * @throws IllegalArgumentException if {@code timeout} is not positive
     */
    WaitStrategy withStartupTimeout(Duration timeout);
}
