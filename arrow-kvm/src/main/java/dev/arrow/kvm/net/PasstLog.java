package dev.arrow.kvm.net;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What passt printed (its stdout and stderr go to one file in its private directory), without the
 * noise it makes: its complaints that no syslog daemon listens and its "how to start qemu" banner.
 * A file that cannot be read reads as empty: the log only ever explains another failure.
 */
final class PasstLog {
    /** Lines of the log an error message quotes at most. */
    private static final int TAIL_LINES = 20;

    private PasstLog() {
    }

    /** passt's output (its first 64 KiB). */
    static String read(Path log) {
        try (InputStream in = Files.newInputStream(log)) {
            byte[] start = in.readNBytes(64 * 1024);
            return informativeLines(start, start.length);
        } catch (IOException e) {
            return "";
        }
    }

    /** Like {@link #read} for the last {@code bytes} of passt's output (its first line there may be cut). */
    static String readEnd(Path log, int bytes) {
        try (SeekableByteChannel in = Files.newByteChannel(log)) {
            long start = Math.max(0, in.size() - bytes);
            in.position(start);
            ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(bytes, in.size() - start));
            while (buffer.hasRemaining() && in.read(buffer) > 0) {
                // fill
            }
            return informativeLines(buffer.array(), buffer.position());
        } catch (IOException e) {
            return "";
        }
    }

    /** The end of the log as an error message's suffix ({@code "; passt said:\n  ..."}); empty when passt said nothing. */
    static String tail(Path log) {
        List<String> lines = nonBlankLines(read(log));
        if (lines.isEmpty()) {
            return "";
        }
        return "; passt said:\n  " + String.join("\n  ", last(lines, TAIL_LINES));
    }

    static List<String> nonBlankLines(String text) {
        return text.lines().filter(l -> !l.isBlank()).collect(Collectors.toList());
    }

    static List<String> last(List<String> lines, int count) {
        return lines.subList(Math.max(0, lines.size() - count), lines.size());
    }

    private static String informativeLines(byte[] text, int length) {
        return new String(text, 0, length, StandardCharsets.UTF_8).lines().filter(PasstLog::informative)
                .collect(Collectors.joining("\n"));
    }

    /** False for the syslog complaints and the "how to start qemu" banner passt prints. */
    private static boolean informative(String line) {
        String l = line.strip();
        return !(l.startsWith("Failed to send ") && l.endsWith(" to syslog")) && !l.startsWith("You can now start qemu")
                && !l.startsWith("or qrap") && !l.startsWith("kvm ... ") && !l.startsWith("./qrap ");
    }
}
