package dev.arrow.backend.kvm;

import dev.arrow.TemplatePoint;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.image.init.InitStatus;
import dev.arrow.spi.OutputSink;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * Tells when a template's guest has reached its {@link TemplatePoint}: init's mark {@code template-point} (the
 * init point), init's mark {@code app-ready} (the program listens on the point's port), or a line of the
 * program's stdout that matches the point's pattern. Keeps the last lines of stdout for the error of a template
 * that never gets there. Thread-safe.
 */
final class TemplateReadiness {
    static final int MAX_LINE_BYTES = 4096;
    static final int TAIL_LINES = 20;

    private final TemplatePoint point;
    private final CompletableFuture<Void> reached = new CompletableFuture<>();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final Deque<String> tail = new ArrayDeque<>();

    TemplateReadiness(TemplatePoint point) {
        this.point = point;
    }

    /** Completes when the point is reached. */
    CompletableFuture<Void> reached() {
        return reached;
    }

    /** The mark init writes at {@code point}, or empty when a stdout line decides. */
    static Optional<String> markOf(TemplatePoint point) {
        if (point instanceof TemplatePoint.Init) {
            return Optional.of(InitProtocol.MARK_TEMPLATE_POINT);
        }
        if (point instanceof TemplatePoint.Listening) {
            return Optional.of(InitProtocol.MARK_APP_READY);
        }
        return Optional.empty();
    }

    /** Sees each status line init writes. */
    void onStatusLine(String statusLine) {
        Optional<String> awaited = markOf(point);
        if (awaited.isEmpty()) {
            return;
        }
        InitStatus.parse(statusLine).ifPresent(status -> {
            if (status instanceof InitStatus.Mark mark && mark.name().equals(awaited.get())) {
                reached.complete(null);
            }
        });
    }

    /** {@code sink}, with each line written through it checked against the point's pattern (if it has one). */
    OutputSink watch(OutputSink sink) {
        if (!(point instanceof TemplatePoint.OutputLine output)) {
            return sink;
        }
        Pattern pattern = output.pattern();
        return (bytes, offset, length) -> {
            scan(pattern, bytes, offset, length);
            sink.write(bytes, offset, length);
        };
    }

    private synchronized void scan(Pattern pattern, byte[] bytes, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (bytes[i] == '\n' || line.size() >= MAX_LINE_BYTES) {
                String text = line.toString(StandardCharsets.UTF_8);
                line.reset();
                if (text.endsWith("\r")) {
                    text = text.substring(0, text.length() - 1);
                }
                tail.addLast(text);
                if (tail.size() > TAIL_LINES) {
                    tail.removeFirst();
                }
                if (pattern.matcher(text).find()) {
                    reached.complete(null);
                }
                if (bytes[i] == '\n') {
                    continue;
                }
            }
            line.write(bytes[i]);
        }
    }

    /** The last lines of stdout seen (for a pattern point), oldest first. */
    synchronized List<String> tail() {
        return List.copyOf(tail);
    }

    /** The point in words, for errors. */
    static String describe(TemplatePoint point) {
        if (point instanceof TemplatePoint.OutputLine o) {
            return "the app point (a stdout line matching \"" + o.pattern() + "\")";
        }
        if (point instanceof TemplatePoint.Listening l) {
            return "the app point (listening on guest TCP port " + l.guestPort() + ")";
        }
        return "the init point";
    }
}
