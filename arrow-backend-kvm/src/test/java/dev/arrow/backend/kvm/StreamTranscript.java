package dev.arrow.backend.kvm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads a guest's output stream to its end on a daemon thread and keeps what arrived, so a boot
 * test that fails, or stalls, can show the output so far.
 */
final class StreamTranscript {
    private final StringBuilder text = new StringBuilder();
    private final Thread reader;
    private boolean ended;

    private StreamTranscript(InputStream in, String name) {
        reader = new Thread(() -> copy(in), name);
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts reading {@code in}; {@code name} names the reading thread. */
    static StreamTranscript of(InputStream in, String name) {
        return new StreamTranscript(in, name);
    }

    private void copy(InputStream in) {
        byte[] buffer = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                String chunk = new String(buffer, 0, n, StandardCharsets.UTF_8);
                synchronized (this) {
                    text.append(chunk);
                }
            }
        } catch (IOException e) {
            synchronized (this) {
                text.append("(read failed: ").append(e).append(')');
            }
        }
        synchronized (this) {
            ended = true;
            notifyAll();
        }
    }

    /** What arrived so far. */
    synchronized String soFar() {
        return text.toString();
    }

    /** The whole stream, waiting up to {@code millis} for its end; throws if it has not ended. */
    synchronized String whole(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (!ended) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError("the stream did not end within " + millis + " ms; so far: " + text);
            }
            wait(left);
        }
        return text.toString();
    }
}
