package dev.arrow;

import org.slf4j.Logger;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * A log consumer ({@link Arrow#logConsumer(Consumer)}) that logs each line of the guest program through
 * SLF4J: stdout at INFO, stderr at WARN, each prefixed with the stream and an optional tag, e.g.
 * {@code [httpd] STDERR: bind failed}.
 */
public final class Slf4jLogConsumer implements Consumer<OutputFrame> {

    private final Logger logger;
    private final String prefix;

    /** Logs through {@code logger}. */
    public Slf4jLogConsumer(Logger logger) {
        this(logger, "");
    }

    private Slf4jLogConsumer(Logger logger, String prefix) {
        this.logger = Objects.requireNonNull(logger, "logger");
        this.prefix = prefix;
    }

    /** This consumer with every line prefixed by {@code [tag] } (to tell several arrows apart in one log). */
    public Slf4jLogConsumer withTag(String tag) {
        return new Slf4jLogConsumer(logger, "[" + Objects.requireNonNull(tag, "tag") + "] ");
    }

    @Override
    public void accept(OutputFrame frame) {
        if (frame.stream() == OutputFrame.Stream.STDERR) {
            logger.warn("{}{}: {}", prefix, frame.stream(), frame.line());
        } else {
            logger.info("{}{}: {}", prefix, frame.stream(), frame.line());
        }
    }
}
