package dev.arrow;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.function.IntPredicate;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The {@link WaitStrategy}s: what {@link Arrow#start()} waits for with {@link Arrow#waitingFor(WaitStrategy)}.
 *
 * <pre>{@code
 * Arrow.of(httpd).net(Net.user().forward(0, 80))
 *      .waitingFor(Wait.forHttp("/").forStatusCode(200).withStartupTimeout(Duration.ofSeconds(30)))
 *      .start();
 * }</pre>
 *
 * <p>The network checks ({@link #forPort}, {@link #forHttp}) go through the host port that forwards the
 * guest port (so the guest port must be forwarded, see {@link ArrowProcess#hostPort(int)}), and begin once
 * the guest reports that the program was started (in a VM that booted a kernel; a clone resumed from a
 * template is probed at once), since a connection made while the guest's network is still coming up can
 * be held for seconds.
 */
public final class Wait {

    private Wait() {
    }

    /**
     * Ready once {@code times} lines of the program's stdout or stderr contained a match of {@code regex}
     * (counted from the first line, also those printed before the wait began). Each line is searched with its
     * {@code \n}, so Testcontainers' patterns such as {@code ".*started.*\\n"} match as they did there.
     *
     * @throws java.util.regex.PatternSyntaxException if {@code regex} is not a regular expression
     * @throws IllegalArgumentException               if {@code times} is not positive
     */
    public static LogMessage forLogMessage(String regex, int times) {
        return new LogMessage(Pattern.compile(Objects.requireNonNull(regex, "regex")), times, WaitStrategy.DEFAULT_STARTUP_TIMEOUT);
    }

    /**
     * Ready once a TCP connection to the host forward of {@code guestPort} is accepted by the guest program
     * (passt accepts on the host at once and closes the connection if the guest refuses it, so a connection
     * counts once it is still open a moment later, or the program spoke first).
     */
    public static Port forPort(int guestPort) {
        return new Port(guestPort, WaitStrategy.DEFAULT_STARTUP_TIMEOUT);
    }

    /**
     * Ready once an HTTP GET of {@code path} (e.g. {@code "/health"}) through the host forward of the guest
     * port answers with status 200; see {@link Http} for the port, the status and the body.
     */
    public static Http forHttp(String path) {
        Objects.requireNonNull(path, "path");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("HTTP path \"" + path + "\" must start with '/', e.g. \"/" + path + "\"");
        }
        return new Http(path, OptionalInt.empty(), status -> status == 200, "status 200", body -> true,
                WaitStrategy.DEFAULT_STARTUP_TIMEOUT);
    }

    /** Ready once the program has ended, whatever its outcome (see {@link ArrowProcess#outcome()}): for one-shot jobs. */
    public static Exit forExit() {
        return new Exit(WaitStrategy.DEFAULT_STARTUP_TIMEOUT);
    }

    /**
     * Ready once each of {@code strategies} is, checked one after the other, all within this combination's
     * timeout (by default the longest of theirs).
     *
     * @throws IllegalArgumentException if none is given
     */
    public static All allOf(WaitStrategy... strategies) {
        List<WaitStrategy> all = List.of(strategies);
        if (all.isEmpty()) {
            throw new IllegalArgumentException("allOf() needs at least one wait strategy");
        }
        Duration longest = all.stream().map(WaitStrategy::startupTimeout).max(Duration::compareTo).orElseThrow();
        return new All(all, longest);
    }

    static Duration checkTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "startupTimeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("startup timeout " + timeout + " is not positive; give a positive duration");
        }
        return timeout;
    }

    static int checkGuestPort(int guestPort) {
        if (guestPort < 1 || guestPort > 65535) {
            throw new IllegalArgumentException("guest port " + guestPort + " out of range 1..65535");
        }
        return guestPort;
    }

    /** See {@link Wait#forLogMessage(String, int)}. */
    public record LogMessage(Pattern pattern, int times, Duration startupTimeout) implements WaitStrategy {
        public LogMessage {
            Objects.requireNonNull(pattern, "pattern");
            if (times < 1) {
                throw new IllegalArgumentException("times " + times + " must be at least 1");
            }
            checkTimeout(startupTimeout);
        }

        @Override
        public LogMessage withStartupTimeout(Duration timeout) {
            return new LogMessage(pattern, times, timeout);
        }

        /** Whether {@code line} (without its terminator) contains a match. */
        boolean matches(String line) {
            return pattern.matcher(line + "\n").find();
        }

        @Override
        public String toString() {
            return "log message /" + pattern + "/" + (times == 1 ? "" : " " + times + " times");
        }
    }

    /** See {@link Wait#forPort(int)}. */
    public record Port(int guestPort, Duration startupTimeout) implements WaitStrategy {
        public Port {
            checkGuestPort(guestPort);
            checkTimeout(startupTimeout);
        }

        @Override
        public Port withStartupTimeout(Duration timeout) {
            return new Port(guestPort, timeout);
        }

        @Override
        public String toString() {
            return "guest TCP port " + guestPort;
        }
    }

    /**
     * See {@link Wait#forHttp(String)}. The guest port is the one given with {@link #forPort(int)}, or else
     * the only TCP forward's; the response must satisfy the status predicate (200 unless changed) and the
     * body predicate (any body unless changed; the body is read as UTF-8, at most {@value #MAX_BODY_BYTES}
     * bytes).
     *
     * @param statusDescription how the status predicate reads in messages, e.g. "status 200"
     */
    public record Http(String path, OptionalInt guestPort, IntPredicate status, String statusDescription,
                       Predicate<String> body, Duration startupTimeout) implements WaitStrategy {
        /** The most of a response body the body predicate sees. */
        public static final int MAX_BODY_BYTES = 64 * 1024;

        public Http {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(guestPort, "guestPort");
            guestPort.ifPresent(Wait::checkGuestPort);
            Objects.requireNonNull(status, "status");
            Objects.requireNonNull(statusDescription, "statusDescription");
            Objects.requireNonNull(body, "body");
            checkTimeout(startupTimeout);
        }

        /** This check against the host forward of {@code guestPort}. */
        public Http forPort(int guestPort) {
            return new Http(path, OptionalInt.of(guestPort), status, statusDescription, body, startupTimeout);
        }

        /** This check, ready on status {@code code} only. */
        public Http forStatusCode(int code) {
            return new Http(path, guestPort, s -> s == code, "status " + code, body, startupTimeout);
        }

        /** This check, ready on a status for which {@code predicate} holds. */
        public Http forStatusCodeMatching(IntPredicate predicate) {
            return new Http(path, guestPort, Objects.requireNonNull(predicate, "predicate"),
                    "a status the given predicate accepts", body, startupTimeout);
        }

        /** This check, ready only when {@code predicate} holds for the response body too. */
        public Http forResponsePredicate(Predicate<String> predicate) {
            return new Http(path, guestPort, status, statusDescription, Objects.requireNonNull(predicate, "predicate"),
                    startupTimeout);
        }

        @Override
        public Http withStartupTimeout(Duration timeout) {
            return new Http(path, guestPort, status, statusDescription, body, timeout);
        }

        @Override
        public String toString() {
            return "HTTP GET " + path + (guestPort.isPresent() ? " on guest port " + guestPort.getAsInt() : "")
                    + " answering with " + statusDescription;
        }
    }

    /** See {@link Wait#forExit()}. */
    public record Exit(Duration startupTimeout) implements WaitStrategy {
        public Exit {
            checkTimeout(startupTimeout);
        }

        @Override
        public Exit withStartupTimeout(Duration timeout) {
            return new Exit(timeout);
        }

        @Override
        public String toString() {
            return "the program's end";
        }
    }

    /** See {@link Wait#allOf(WaitStrategy...)}. */
    public record All(List<WaitStrategy> strategies, Duration startupTimeout) implements WaitStrategy {
        public All {
            strategies = List.copyOf(strategies);
            checkTimeout(startupTimeout);
        }

        @Override
        public All withStartupTimeout(Duration timeout) {
            return new All(strategies, timeout);
        }

        @Override
        public String toString() {
            return "all of " + strategies;
        }
    }
}
