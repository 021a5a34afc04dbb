package dev.arrow.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.ArrowProcess;
import dev.arrow.Output;
import dev.arrow.testing.BootTest;
import dev.arrow.testing.FreePort;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Tier 4: the busybox httpd sample, exactly as {@link BusyboxHttpd#main} starts it, answers the host. */
@BootTest
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class BusyboxHttpdBootTest {

    @Test
    void theSampleAnswersAnHttpGetThroughTheForwardedPort() throws Exception {
        assumeTrue(Files.isExecutable(BusyboxHttpd.BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        int port = FreePort.onLoopback();
        try (ArrowProcess p = BusyboxHttpd.arrow(port).stdout(Output.discard()).start()) {
            URL url = new URL("http://127.0.0.1:" + port + "/");
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            String body = null;
            while (body == null && System.nanoTime() < deadline && p.isAlive()) {
                body = get(url);
                if (body == null) {
                    Thread.sleep(250);
                }
            }
            assertThat(body).as("page served by the arrow at %s", url).isEqualTo(BusyboxHttpd.PAGE);
        }
    }

    private static String get(URL url) {
        try {
            HttpURLConnection c = (HttpURLConnection) url.openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(5000);
            try (InputStream in = c.getInputStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            return null;
        }
    }
}
