package dev.arrow.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * One attempt of a readiness check against a host port that forwards to the guest. A forward's host side
 * accepts connections itself and closes them when the guest refuses, so an accepted connect alone proves
 * nothing: {@link #accepts} also watches the connection for a moment.
 */
public final class NetworkProbes {

    /** How long an accepted connection must stay open (or the program speak) to count as accepted by the guest. */
    static final Duration SETTLE = Duration.ofMillis(250);

    private NetworkProbes() {
    }

    /** An HTTP answer: its status and up to {@code maxBodyBytes} of its body as UTF-8. */
    public record HttpAnswer(int status, String body) {
    }

    /**
     * Whether a TCP connection to {@code address} is accepted and then neither closed nor reset within
     * {@link #SETTLE} (or data arrives first).
     */
    public static boolean accepts(InetSocketAddress address, Duration timeout) {
        try (Socket socket = new Socket()) {
            socket.connect(address, millis(timeout));
            socket.setSoTimeout(millis(SETTLE));
            try {
                return socket.getInputStream().read() >= 0;
            } catch (SocketTimeoutException e) {
                return true; // still open: a server waiting for its client to speak
            }
        } catch (IOException e) {
            return false;
        }
    }

    /** A GET of {@code path} on {@code address}, or empty if there was no complete answer within {@code timeout}. */
    public static Optional<HttpAnswer> get(InetSocketAddress address, String path, Duration timeout, int maxBodyBytes) {
        HttpURLConnection c = null;
        try {
            URL url = new URL("http", address.getHostString(), address.getPort(), path);
            c = (HttpURLConnection) url.openConnection(Proxy.NO_PROXY);
            c.setConnectTimeout(millis(timeout));
            c.setReadTimeout(millis(timeout));
            c.setUseCaches(false);
            c.setInstanceFollowRedirects(false);
            int status = c.getResponseCode();
            InputStream body = status >= 400 ? c.getErrorStream() : c.getInputStream();
            String text = body == null ? "" : readBounded(body, maxBodyBytes);
            return Optional.of(new HttpAnswer(status, text));
        } catch (IOException e) {
            return Optional.empty();
        } finally {
            if (c != null) {
                c.disconnect();
            }
        }
    }

    private static String readBounded(InputStream in, int maxBytes) throws IOException {
        try (in) {
            return new String(in.readNBytes(maxBytes), StandardCharsets.UTF_8);
        }
    }

    private static int millis(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
    }
}
