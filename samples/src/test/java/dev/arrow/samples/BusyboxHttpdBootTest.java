package dev.arrow.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.ArrowProcess;
import dev.arrow.Output;
import dev.arrow.testing.BootTest;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 4: the busybox httpd sample, exactly as {@link BusyboxHttpd#main} starts it (on a free host port),
 * answers the host as soon as {@code start()} returned, since it waits for the page to be served.
 */
@BootTest
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class BusyboxHttpdBootTest {

    @Test
    void theSampleAnswersAnHttpGetThroughTheForwardedPort() throws Exception {
        assumeTrue(Files.isExecutable(BusyboxHttpd.BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        try (ArrowProcess p = BusyboxHttpd.arrow(0).stdout(Output.discard()).start()) {
            URL url = new URL("http://127.0.0.1:" + p.hostPort(80) + "/");
            HttpURLConnection c = (HttpURLConnection) url.openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(5000);
            try (InputStream in = c.getInputStream()) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).as("page served by the arrow at %s", url)
                        .isEqualTo(BusyboxHttpd.PAGE);
            }
        }
    }
}
