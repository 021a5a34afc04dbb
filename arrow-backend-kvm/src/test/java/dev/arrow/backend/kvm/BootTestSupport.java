package dev.arrow.backend.kvm;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/** Shared by the tier-4 boot tests: the guest programs built for them, and HTTP to an arrow that may still be starting. */
final class BootTestSupport {
    private BootTestSupport() {
    }

    /** The static test program built from src/test/c into target/guest-programs. */
    static Path guestApp() {
        try {
            Path testClasses = Path.of(BootTestSupport.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path app = testClasses.resolveSibling("guest-programs").resolve("guestapp");
            if (!Files.isExecutable(app)) {
                throw new IllegalStateException(app + " is missing: build arrow-core's tests with Maven (needs musl-tools)");
            }
            return app;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * GETs {@code url} until it answers (the arrow behind it may still be starting), at most for {@code patience};
     * the body as UTF-8.
     */
    static String getWithRetry(URL url, Duration patience) throws InterruptedException {
        Instant deadline = Instant.now().plus(patience);
        IOException last = null;
        while (Instant.now().isBefore(deadline)) {
            try {
                HttpURLConnection c = (HttpURLConnection) url.openConnection();
                c.setConnectTimeout(2000);
                c.setReadTimeout(5000);
                try (InputStream in = c.getInputStream()) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
            } catch (IOException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new AssertionError("no answer from " + url + " within " + patience, last);
    }
}
