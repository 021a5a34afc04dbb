package dev.arrow;

import dev.arrow.config.LinuxLimits;
import java.time.Duration;
import java.util.Objects;

/**
 * How an Arrow process ended, as a value. {@link #exitValue()} maps every outcome to the number
 * {@link ArrowProcess#exitValue()} and {@link ArrowProcess#waitFor()} return. The program's own ends
 * take 0..255 as a shell reports them; Arrow's own ends take {@link #ARROW_OUTCOME_BASE} (256) + the
 * number the shell and coreutils use for them, so that they never collide with the program's (a program
 * may exit with 125 or be killed by SIGKILL itself) and their low byte is still that number (which is
 * what a shell sees when the value is passed to {@link System#exit(int)}):
 * <table>
 *   <caption>exit values</caption>
 *   <tr><th>outcome</th><th>exit value</th></tr>
 *   <tr><td>{@link Exited}</td><td>the program's exit code, 0..255</td></tr>
 *   <tr><td>{@link Signaled}</td><td>128 + signal number, 129..192 (SIGKILL: 137, SIGTERM: 143)</td></tr>
 *   <tr><td>{@link StartFailed}</td><td>256 + 127 = 383 not found, 256 + 126 = 382 not executable or wrong
 *   format, 256 + 125 = 381 image incomplete or other</td></tr>
 *   <tr><td>{@link GuestCrashed}</td><td>256 + 125 = 381</td></tr>
 *   <tr><td>{@link TimedOut}</td><td>256 + 124 = 380 ({@code timeout(1)}'s 124)</td></tr>
 *   <tr><td>{@link Destroyed}</td><td>256 + 137 = 393 (a process killed with SIGKILL)</td></tr>
 * </table>
 * The value alone cannot tell a crash from an incomplete image; the outcome can.
 */
public sealed interface ArrowOutcome {

    /** Added to the shell's number for each of Arrow's own outcomes, so that it lies above the program's 0..255. */
    int ARROW_OUTCOME_BASE = 256;

    /** The exit value this outcome maps to (see the table above). */
    int exitValue();

    /** Whether the program ran and exited with code 0. */
    default boolean isSuccess() {
        return this instanceof Exited e && e.code() == 0;
    }

    /** The program exited by itself with {@code code} (0..255). */
    record Exited(int code) implements ArrowOutcome {
        public Exited {
            if (code < 0 || code > LinuxLimits.MAX_EXIT_CODE) {
                throw new IllegalArgumentException("exit code " + code + " out of range 0.." + LinuxLimits.MAX_EXIT_CODE);
            }
        }

        @Override
        public int exitValue() {
            return code;
        }
    }

    /** The program was terminated by signal {@code signal} (1..64) inside the guest. */
    record Signaled(int signal) implements ArrowOutcome {
        public Signaled {
            if (signal < 1 || signal > LinuxLimits.MAX_SIGNAL) {
                throw new IllegalArgumentException("signal " + signal + " out of range 1.." + LinuxLimits.MAX_SIGNAL);
            }
        }

        @Override
        public int exitValue() {
            return 128 + signal;
        }
    }

    /** The guest booted but the program could not be started; {@code message} comes from the guest's init. */
    record StartFailed(Kind kind, String message) implements ArrowOutcome {

        /** Why the program could not be started. */
        public enum Kind {
            /** The binary was not found in the guest (exit value 256 + 127). */
            NOT_FOUND(127),
            /** The binary is not executable (exit value 256 + 126). */
            NOT_EXECUTABLE(126),
            /** The kernel refused the binary's format, e.g. not a static x86-64 ELF (exit value 256 + 126). */
            EXEC_FORMAT(126),
            /**
             * The guest did not receive the binary and files whole (its init checks every one against the
             * host's manifest before the program may run), so the program was never started; the message
             * names what differed and how much guest RAM the files need (exit value 256 + 125).
             */
            IMAGE_INCOMPLETE(125),
            /** Anything else, e.g. a failed setup step before exec (exit value 256 + 125). */
            OTHER(125);

            private final int exitValue;

            Kind(int shellNumber) {
                this.exitValue = ARROW_OUTCOME_BASE + shellNumber;
            }
        }

        public StartFailed {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(message, "message");
        }

        @Override
        public int exitValue() {
            return kind.exitValue;
        }
    }

    /**
     * The guest ended without reporting an outcome of the program: a kernel panic, a triple fault, a
     * guest stopped by the VMM for misbehaving, or a failure of the backend.
     */
    record GuestCrashed(String reason) implements ArrowOutcome {
        public GuestCrashed {
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public int exitValue() {
            return ARROW_OUTCOME_BASE + 125;
        }
    }

    /** The program was still running when the spec's timeout elapsed; the VM was stopped. */
    record TimedOut(Duration timeout) implements ArrowOutcome {
        public TimedOut {
            Objects.requireNonNull(timeout, "timeout");
        }

        @Override
        public int exitValue() {
            return ARROW_OUTCOME_BASE + 124;
        }
    }

    /**
     * The VM was stopped from the host ({@link ArrowProcess#destroyForcibly()}, the end of a
     * {@link ArrowProcess#destroy()} grace period, or {@link ArrowProcess#close()}) before the program
     * reported an outcome.
     */
    record Destroyed() implements ArrowOutcome {
        @Override
        public int exitValue() {
            return ARROW_OUTCOME_BASE + 137;
        }
    }
}
