package dev.arrow;

import dev.arrow.config.Net;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tier 4: user-mode networking through passt, with Debian's static busybox as the guest app.
 * Runs where the host KVM can boot Linux (the lab).
 */
@Tag("boot")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class NetworkBootTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");

    @BeforeAll
    static void prerequisites() {
        BootTestSupport.assumeLinuxBoots();
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/passt")), "no passt: install passt (scripts/setup.sh)");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void busyboxHttpdAnswersThroughTheForwardedPort() throws Exception {
        int hostPort = freePort();
        try (ArrowProcess p = Arrow.of(BUSYBOX).args("httpd", "-f", "-p", "80", "-h", "/www")
                .textFile("<h1>hello from an arrow</h1>\n", "/www/index.html")
                .memory(64, MiB).net(Net.user().forward(hostPort, 80)).stdout(Output.discard()).start()) {
            String body = getWithRetry(new URL("http://127.0.0.1:" + hostPort + "/"), Duration.ofSeconds(120));
            assertThat(body).isEqualTo("<h1>hello from an arrow</h1>\n");
            p.destroyForcibly();
        }
        // closing the arrow frees the forwarded port at once
        try (ServerSocket again = new ServerSocket()) {
            again.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), hostPort));
        }
        assertThat(ProcessHandle.current().children().filter(h -> h.info().command().orElse("").endsWith("passt")))
                .as("passt processes left").isEmpty();
    }

    @Test
    void guestConnectsOutToAServerOnTheHostsLoopback() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread serverThread = new Thread(() -> serveOnce(server), "test-http-server");
            serverThread.setDaemon(true);
            serverThread.start();
            try (ArrowProcess p = Arrow.of(BUSYBOX)
                    .args("wget", "-q", "-O", "-", "http://10.0.2.2:" + server.getLocalPort() + "/ping")
                    .memory(64, MiB).net(Net.user()).start()) {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor()).isZero();
                assertThat(out).isEqualTo("pong\n");
            }
        }
    }

    @Test
    void takenHostPortFailsClearlyAndLeavesNothingRunning() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("0.0.0.0"))) {
            Arrow arrow = Arrow.of(BUSYBOX).args("true").net(Net.user().forward(taken.getLocalPort(), 80));
            org.assertj.core.api.Assertions.assertThatThrownBy(arrow::start)
                    .isInstanceOf(NetworkSetupException.class)
                    .hasMessageContaining("host port " + taken.getLocalPort() + " is already in use");
        }
        assertThat(ProcessHandle.current().children().filter(h -> h.info().command().orElse("").endsWith("passt")))
                .as("passt processes left").isEmpty();
    }

    private static void serveOnce(ServerSocket server) {
        try (Socket s = server.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            byte[] buf = new byte[4096];
            StringBuilder request = new StringBuilder();
            int n;
            while (!request.toString().contains("\r\n\r\n") && (n = in.read(buf)) > 0) {
                request.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
            }
            String body = request.toString().startsWith("GET /ping ") ? "pong\n" : "wrong request\n";
            out.write(("HTTP/1.0 200 OK\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body)
                    .getBytes(StandardCharsets.ISO_8859_1));
        } catch (IOException e) {
            // the test's assertion on the guest's output reports it
        }
    }

    private static String getWithRetry(URL url, Duration patience) throws Exception {
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
                Thread.sleep(250);
            }
        }
        throw new AssertionError("no answer from " + url + " within " + patience, last);
    }
}
