package dev.arrow.image.init;

import dev.arrow.config.LinuxLimits;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * One record init writes on the status port, as a typed value.
 *
 * <p>Lines (ASCII, at most {@value InitProtocol#STATUS_LINE_MAX_BYTES} bytes with the newline; the words
 * are {@link InitProtocol}'s):
 * {@code arrow-status exited <code>}, {@code arrow-status signaled <signo>},
 * {@code arrow-status not-found|not-executable|exec-format|start-failed|image-incomplete <message>} and
 * {@code arrow-mark <name> <guest-uptime-ns>}. Exited, Signaled and StartFailed are final: the
 * app has ended or never started. {@link #parse} treats the line as guest input: anything that
 * does not match exactly gives an empty result, never an exception.
 */
public sealed interface InitStatus permits InitStatus.Exited, InitStatus.Signaled, InitStatus.StartFailed, InitStatus.Mark {

    /** True when this record ends the app's life (exit, signal, start failure). */
    default boolean isFinal() {
        return !(this instanceof Mark);
    }

    /** The app exited with {@code code} (0..{@value LinuxLimits#MAX_EXIT_CODE}). */
    record Exited(int code) implements InitStatus {
        public Exited {
            if (code < 0 || code > LinuxLimits.MAX_EXIT_CODE)
                throw new IllegalArgumentException("exit code " + code + " outside 0.." + LinuxLimits.MAX_EXIT_CODE);
        }
    }

    /** The app was killed by signal {@code signal} (1..{@value LinuxLimits#MAX_SIGNAL}). */
    record Signaled(int signal) implements InitStatus {
        public Signaled {
            if (signal < 1 || signal > LinuxLimits.MAX_SIGNAL)
                throw new IllegalArgumentException("signal " + signal + " outside 1.." + LinuxLimits.MAX_SIGNAL);
        }
    }

    /** The app could not be started; {@code message} is init's explanation (printable ASCII). */
    record StartFailed(StartFailure kind, String message) implements InitStatus {
    }

    /** A boot telemetry mark: {@code name} reached at {@code uptimeNanos} of guest CLOCK_BOOTTIME. */
    record Mark(String name, long uptimeNanos) implements InitStatus {
    }

    /** Why the app did not start, with the token init writes. */
    enum StartFailure {
        /** The program's path does not exist in the guest. */
        NOT_FOUND(InitProtocol.STATUS_NOT_FOUND),
        /** The file exists but may not be executed (mode, not a regular file, noexec). */
        NOT_EXECUTABLE(InitProtocol.STATUS_NOT_EXECUTABLE),
        /** The kernel cannot run the file: not an ELF for this machine, or its interpreter is missing. */
        EXEC_FORMAT(InitProtocol.STATUS_EXEC_FORMAT),
        /**
         * The initramfs did not arrive whole (init's check against the image manifest found a missing or
         * different entry): typically guest RAM too small for the files given; the app never ran.
         */
        IMAGE_INCOMPLETE(InitProtocol.STATUS_IMAGE_INCOMPLETE),
        /** Anything else, including a malformed spec and failures inside init. */
        OTHER(InitProtocol.STATUS_START_FAILED);

        private final String token;

        StartFailure(String token) {
            this.token = token;
        }

        public String token() {
            return token;
        }

        static Optional<StartFailure> ofToken(String token) {
            for (StartFailure f : values()) if (f.token.equals(token)) return Optional.of(f);
            return Optional.empty();
        }
    }

    /** Parses one line (with or without its trailing newline); empty for anything unexpected. */
    static Optional<InitStatus> parse(String line) {
        if (line == null) return Optional.empty();
        for (int i = 0; i < line.length(); i++) if (line.charAt(i) > 0x7E) return Optional.empty();
        return parse(line.getBytes(StandardCharsets.ISO_8859_1), 0, line.length());
    }

    /** Parses {@code len} bytes at {@code off}; empty for anything unexpected, never throws on content. */
    static Optional<InitStatus> parse(byte[] bytes, int off, int len) {
        if (bytes == null || off < 0 || len < 0 || off > bytes.length - len) return Optional.empty();
        int end = off + len;
        if (end > off && bytes[end - 1] == '\n') end--;
        if (end > off && bytes[end - 1] == '\r') end--;
        if (end - off > InitProtocol.STATUS_LINE_MAX_BYTES - 1) return Optional.empty();
        for (int i = off; i < end; i++) {
            int c = bytes[i] & 0xFF;
            if (c < 0x20 || c > 0x7E) return Optional.empty();
        }
        String s = new String(bytes, off, end - off, StandardCharsets.US_ASCII);
        String status = InitProtocol.STATUS_PREFIX + " ";
        String mark = InitProtocol.MARK_PREFIX + " ";
        if (s.startsWith(status)) return parseStatus(s.substring(status.length()));
        if (s.startsWith(mark)) return parseMark(s.substring(mark.length()));
        return Optional.empty();
    }

    private static Optional<InitStatus> parseStatus(String rest) {
        int space = rest.indexOf(' ');
        String kind = space < 0 ? rest : rest.substring(0, space);
        String arg = space < 0 ? "" : rest.substring(space + 1);
        switch (kind) {
            case InitProtocol.STATUS_EXITED: {
                long code = decimal(arg, LinuxLimits.MAX_EXIT_CODE);
                return code < 0 ? Optional.empty() : Optional.of(new Exited((int) code));
            }
            case InitProtocol.STATUS_SIGNALED: {
                long sig = decimal(arg, LinuxLimits.MAX_SIGNAL);
                return sig < 1 ? Optional.empty() : Optional.of(new Signaled((int) sig));
            }
            default:
                return StartFailure.ofToken(kind).map(f -> new StartFailed(f, arg));
        }
    }

    private static Optional<InitStatus> parseMark(String rest) {
        int space = rest.indexOf(' ');
        if (space < 1 || space > 64) return Optional.empty();
        String name = rest.substring(0, space);
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
            if (!ok) return Optional.empty();
        }
        long ns = decimal(rest.substring(space + 1), Long.MAX_VALUE);
        return ns < 0 ? Optional.empty() : Optional.of(new Mark(name, ns));
    }

    /** Strict decimal (digits only, 1..19 of them) in 0..max, or -1. */
    private static long decimal(String s, long max) {
        if (s.isEmpty() || s.length() > 19) return -1;
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') return -1;
            int d = c - '0';
            if (v > (Long.MAX_VALUE - d) / 10) return -1;
            v = v * 10 + d;
        }
        return v <= max ? v : -1;
    }
}
