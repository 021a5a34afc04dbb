package dev.arrow.internal;

import dev.arrow.spi.OutputSink;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a template's program writes before it is frozen at an app point: nobody reads those streams, so each
 * line is logged at DEBUG (at most {@value #MAX_LINES} lines per template, each cut at {@value #MAX_LINE_BYTES}
 * bytes: the guest decides how much it writes).
 */
public final class TemplateBootOutput {
    private static final Logger LOG = LoggerFactory.getLogger("dev.arrow.template.output");
    static final int MAX_LINES = 1000;
    static final int MAX_LINE_BYTES = 4096;

    private final String name;
    private final AtomicInteger logged = new AtomicInteger();
    private final OutputSink stdout;
    private final OutputSink stderr;

    public TemplateBootOutput(String name) {
        this.name = name;
        this.stdout = sink("stdout");
        this.stderr = sink("stderr");
    }

    public OutputSink stdout() {
        return stdout;
    }

    public OutputSink stderr() {
        return stderr;
    }

    private OutputSink sink(String stream) {
        LineSplitter lines = new LineSplitter(MAX_LINE_BYTES, line -> log(stream, line));
        return (bytes, offset, length) -> {
            synchronized (lines) {
                lines.accept(bytes, offset, length);
            }
        };
    }

    private void log(String stream, String line) {
        int n = logged.incrementAndGet();
        if (n <= MAX_LINES) {
            LOG.debug("template of {} {}: {}", name, stream, line);
        } else if (n == MAX_LINES + 1) {
            LOG.debug("template of {}: more output, not logged", name);
        }
    }
}
