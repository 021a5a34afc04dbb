package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.BootPhase;
import dev.arrow.BootTimeline;
import dev.arrow.NetworkSetupException;
import dev.arrow.Output;
import dev.arrow.Wait;
import dev.arrow.config.Net;
import dev.arrow.kvm.net.GuestNetwork;
import dev.arrow.kvm.net.PasstBackend;
import dev.arrow.kvm.net.testing.PcapSummary;
import dev.arrow.testing.BootTest;
import dev.arrow.testing.FreePort;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.sun.net.httpserver.HttpServer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.arrow.backend.kvm.BootTestSupport.BUSYBOX;
import static dev.arrow.backend.kvm.BootTestSupport.assumeBusybox;
import static dev.arrow.backend.kvm.BootTestSupport.assumePasst;
import static dev.arrow.backend.kvm.BootTestSupport.stdout;
import static dev.arrow.backend.kvm.BootTestSupport.text;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tier 4: user-mode networking through passt, with Debian's static busybox as the guest app.
 * Runs where the host KVM can boot Linux (the lab).
 */
@BootTest
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class NetworkBootTest {

    @BeforeAll
    static void prerequisites() {
        assumeBusybox();
        assumePasst();
    }

    @Test
    void busyboxHttpdAnswersThroughTheForwardedPort() throws Exception {
        int hostPort;
        try (ArrowProcess p = Arrow.of(BUSYBOX).args("httpd", "-f", "-p", "80", "-h", "/www")
                .textFile("<h1>hello from an arrow</h1>\n", "/www/index.html")
                .memory(64, MiB).net(Net.user().forward(0, 80)).stdout(Output.discard())
                .waitingFor(Wait.forHttp("/").withStartupTimeout(Duration.ofSeconds(120))).start()) {
            hostPort = p.hostPort(80);
            assertThat(hostPort).as("a free port was chosen").isPositive();
            String body = BootTestSupport.getWithRetry(new URL("http://127.0.0.1:" + hostPort + "/"), Duration.ofSeconds(5));
            assertThat(body).isEqualTo("<h1>hello from an arrow</h1>\n");
            p.destroyForcibly();
        }
        assertThat(Arrow.awaitReleased(Duration.ofSeconds(30))).as("the closed arrow released").isTrue();
        // Once the closed arrow is released (close leaves that to the reaper), its forwarded port is free: nothing
        // listens there any more, so a
        // connection is refused. (A bind would test more than that: the connection passt just
        // closed may linger on the port, in FIN_WAIT_2 while our HTTP client keeps its end open.)
        try (Socket s = new Socket()) {
            assertThatThrownBy(() -> s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), hostPort), 2000))
                    .as("a connection to host port %d after the arrow closed", hostPort)
                    .isInstanceOf(java.net.ConnectException.class);
        }
        assertThat(ProcessHandle.current().children().filter(h -> h.info().command().orElse("").contains("passt")))
                .as("passt processes left").isEmpty();
    }

    /**
     * A connection to a forwarded port made right after {@code start()} returned, before the guest's network was up
     * (before the app's exec by the timeline, and before the guest's first frame by the capture), is not left
     * hanging: it ends once the guest's network is up, refused by the
     * guest's kernel since nothing listens yet (or served, were it held until the app listens). It used to hang for
     * passt's 10 s handshake timeout and end in a reset: passt never sends a SYN twice, and the guest lost it, since
     * passt sent it to the broadcast MAC (it had not heard from the guest yet) and the guest handled it while opening
     * eth0, before it had a route to answer (docs/networking.md). The
     * app listens {@value #LATE_LISTEN_SECONDS} s after its exec, and a request then is served. Times are measured
     * against the arrow's timeline (the lab is slow): the connection must end within
     * {@value #LATE_LISTEN_SECONDS} s + 2 s of the app's exec, which a 10 s hang from before the guest's network was
     * up does not (in the lab the app was exec'd 0.2 to 3.3 s after the connection).
     */
    @Test
    void aConnectionMadeWhileTheGuestBootsEndsOnceItsNetworkIsUp() throws Exception {
        Path pcap = Files.createTempFile("arrow-early-", ".pcap");
        Duration connected;
        Instant connectedAt; // the capture's clock
        Duration ended;
        String outcome;
        String later;
        BootTimeline t;
        long origin = System.nanoTime(); // just before start(): offsets from it are at least those of the timeline
        try (ArrowProcess p = Arrow.of(BUSYBOX)
                .args("sh", "-c", "sleep " + LATE_LISTEN_SECONDS + "; exec httpd -f -p 80 -h /www")
                .textFile("hello\n", "/www/index.html").memory(64, MiB)
                .net(Net.user().forward(0, 80).capture(pcap)).stdout(Output.discard()).start();
             Socket early = new Socket()) {
            early.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), p.hostPort(80)), 5000);
            connected = Duration.ofNanos(System.nanoTime() - origin);
            connectedAt = Instant.now();
            early.setSoTimeout(30_000);
            early.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            try {
                byte[] answer = early.getInputStream().readAllBytes();
                outcome = answer.length == 0 ? "end of stream" : "answered " + new String(answer, StandardCharsets.UTF_8);
            } catch (SocketTimeoutException e) {
                outcome = "still open after 30 s";
            } catch (IOException e) {
                outcome = "reset (" + e.getMessage() + ")";
            }
            ended = Duration.ofNanos(System.nanoTime() - origin);
            later = BootTestSupport.getWithRetry(new URL("http://127.0.0.1:" + p.hostPort(80) + "/"), Duration.ofSeconds(60));
            t = p.timeline();
            p.destroyForcibly();
        }
        // the arrow is closed: its capture is complete
        Duration appExecuted = t.sinceStart(BootPhase.APP_EXECUTED).orElseThrow();
        String report = String.format("connected at %d ms, the app was exec'd at %d ms, the connection ended at %d ms"
                + " (times since start()): %s; the frames:%n  %s", connected.toMillis(), appExecuted.toMillis(),
                ended.toMillis(), outcome, String.join("\n  ", PcapSummary.read(pcap).lines()));
        System.out.println("early connection: " + report);
        assertThat(connected).as("the connection was made before the app's exec: %s", report).isLessThan(appExecuted);
        assumeTrue(connectedAt.isBefore(firstGuestFrame(pcap)), "the connection was made after the guest's network"
                + " came up (start() returned late): nothing to check; " + report);
        assertThat(outcome).as(report).matches("(?s)end of stream|reset \\(.*\\)|answered HTTP/1\\.[01] 200 .*");
        boolean inTime = ended.compareTo(appExecuted.plusSeconds(LATE_LISTEN_SECONDS + 2)) <= 0;
        assertThat(inTime).as("the connection ended soon after the guest's network came up: %s; the capture: %s",
                report, inTime ? "not needed" : captureReport(pcap)).isTrue();
        assertThat(later).as("a request once the app listens").isEqualTo("hello\n");
        Files.delete(pcap);
    }

    /**
     * When the guest sent its first frame, by the capture (the host's wall clock): its gratuitous ARP when init brought
     * eth0 up, i.e. when its network came up; {@link Instant#MAX} if it sent none.
     */
    private static Instant firstGuestFrame(Path pcap) throws IOException {
        byte[] guest = GuestNetwork.DEFAULT_MAC.octets();
        for (PcapSummary.Record r : PcapSummary.records(pcap)) {
            if (Arrays.equals(r.frame(), 6, 12, guest, 0, 6)) {
                return Instant.EPOCH.plus(r.micros(), ChronoUnit.MICROS);
            }
        }
        return Instant.MAX;
    }

    /** How long the app of {@link #aConnectionMadeWhileTheGuestBootsEndsOnceItsNetworkIsUp} waits before it listens. */
    private static final int LATE_LISTEN_SECONDS = 2;

    @Test
    void withTheHostsLoopbackAllowedTheGuestReachesAServerThereAtTheGateway() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread serverThread = new Thread(() -> serveOnce(server), "test-http-server");
            serverThread.setDaemon(true);
            serverThread.start();
            try (ArrowProcess p = Arrow.of(BUSYBOX)
                    .args("wget", "-q", "-O", "-", "http://10.0.2.2:" + server.getLocalPort() + "/ping")
                    .memory(64, MiB).net(Net.user().allowHostLoopback()).start()) {
                String out = stdout(p);
                assertThat(p.waitFor()).isZero();
                assertThat(out).isEqualTo("pong\n");
            }
        }
    }

    /**
     * By default a guest connection to the gateway is not turned into one to the host's loopback:
     * it is refused at once (the backend answers the SYN with a reset), well within the 20 s the
     * script allows, and the server on the host's loopback never sees it. (Not wget's -T: Debian
     * 12's busybox wget dies of SIGSEGV with it when a connection fails.)
     */
    @Test
    void byDefaultTheGuestCannotReachAServerOnTheHostsLoopbackAtTheGateway() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            AtomicReference<String> accepted = acceptInBackground(server);
            String script = "s=$(date +%s); timeout 20 wget -q -O - http://10.0.2.2:" + server.getLocalPort() + "/ping;"
                    + " r=$?; echo \"wget exit $r after $(( $(date +%s) - s )) s\"";
            try (ArrowProcess p = Arrow.of(BUSYBOX).args("sh", "-c", script).memory(64, MiB).net(Net.user()).start()) {
                String out = stdout(p).strip();
                String err = text(p.getErrorStream()).strip();
                assertThat(p.waitFor()).isZero();
                Matcher m = Pattern.compile("wget exit (\\d+) after (\\d+) s").matcher(out);
                assertThat(m.matches()).as("the script's report [%s], wget said [%s]", out, err).isTrue();
                System.out.println("gateway test: " + out + "; wget said: " + err);
                assertThat(Integer.parseInt(m.group(1))).as("wget's status (it said [%s])", err).isEqualTo(1);
                assertThat(err).contains("Connection refused");
                assertThat(Integer.parseInt(m.group(2))).as("seconds until wget failed (whole seconds of the guest's"
                        + " clock)").isLessThanOrEqualTo(2);
            }
            assertThat(accepted.get()).as("a connection to the host's loopback server").isNull();
        }
    }

    /**
     * The guest's root routes a loopback address of the host out of eth0 (it removes 127.0.0.0/8
     * from its own local routes, keeping 127.0.0.1, and route_localnet lets Linux send and receive
     * such packets on eth0): the backend drops them, so a server on the host's 127.0.0.2 is not
     * reached and the guest's wget hangs until the script's timeout kills it (143). With the host's
     * loopback allowed, the same script reaches the server: the guest did send those frames.
     */
    @Test
    void aGuestThatRoutesTheHostsLoopbackAddressesOutOfEth0ReachesThemOnlyWhenAllowed() throws Exception {
        InetAddress loopback2 = InetAddress.getByAddress(new byte[] {127, 0, 0, 2});
        try (ServerSocket forAllowed = new ServerSocket(0, 5, loopback2);
             ServerSocket forDenied = new ServerSocket(0, 5, loopback2)) {
            Thread serverThread = new Thread(() -> serveOnce(forAllowed), "test-http-server");
            serverThread.setDaemon(true);
            serverThread.start();
            String allowed = runScript(routeLoopbackOutOfEth0AndGet(forAllowed.getLocalPort()), Net.user().allowHostLoopback());
            assertThat(allowed).as("allowed: the guest's frames to 127.0.0.2 reach the host").isEqualTo("pong\nexit 0");
            AtomicReference<String> accepted = acceptInBackground(forDenied);
            String denied = runScript(routeLoopbackOutOfEth0AndGet(forDenied.getLocalPort()), Net.user());
            assertThat(denied).as("denied (the default): the frames are dropped, wget waits for the timeout")
                    .isEqualTo("exit 143");
            assertThat(accepted.get()).as("a connection to the server on the host's 127.0.0.2").isNull();
        }
    }

    private static String routeLoopbackOutOfEth0AndGet(int port) {
        return "echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet"
                + " && ip route del local 127.0.0.0/8 dev lo table local"
                + " && ip route add 127.0.0.2/32 via 10.0.2.2 dev eth0"
                + " && timeout 8 wget -q -O - http://127.0.0.2:" + port + "/ping; echo \"exit $?\"";
    }

    /** Runs a busybox script in an arrow on {@code net}; its stdout, stripped (its stderr in the failure message). */
    private static String runScript(String script, Net net) throws Exception {
        try (ArrowProcess p = Arrow.of(BUSYBOX).args("sh", "-c", script).memory(64, MiB).net(net).start()) {
            StreamTranscript errors = StreamTranscript.of(p.getErrorStream(), "guest-stderr");
            String out = stdout(p).strip();
            assertThat(p.waitFor()).as("the script's status; stdout [%s], stderr [%s]", out, errors.soFar()).isZero();
            return out;
        }
    }

    /**
     * A forward listens on the host's loopback unless told otherwise: the same guest port is
     * forwarded from one host port on 127.0.0.1 (the default) and one on 0.0.0.0. The listening
     * addresses are read from /proc/net/tcp (where passt's sockets show); where this host has
     * another address (the lab's 10.77.0.15), a connection to it is refused on the first port and
     * answered on the second.
     */
    @Test
    void forwardsListenOnTheHostsLoopbackUnlessToldToListenOnEveryInterface() throws Exception {
        int loopbackOnly = FreePort.onLoopback();
        int everywhere = FreePort.onLoopback();
        try (ArrowProcess p = Arrow.of(BUSYBOX).args("httpd", "-f", "-p", "80", "-h", "/www")
                .textFile("hello\n", "/www/index.html").memory(64, MiB)
                .net(Net.user().forward(loopbackOnly, 80).forward("0.0.0.0", everywhere, 80))
                .stdout(Output.discard()).waitingFor(Wait.forHttp("/").forPort(80)
                        .withStartupTimeout(Duration.ofSeconds(120))).start()) {
            assertThat(p.hostPort(80)).as("the first forward of guest port 80").isEqualTo(loopbackOnly);
            assertThat(BootTestSupport.getWithRetry(new URL("http://127.0.0.1:" + loopbackOnly + "/"), Duration.ofSeconds(5)))
                    .isEqualTo("hello\n");
            assertThat(BootTestSupport.getWithRetry(new URL("http://127.0.0.1:" + everywhere + "/"), Duration.ofSeconds(30)))
                    .isEqualTo("hello\n");
            assertThat(tcpListeners(loopbackOnly)).containsExactly("127.0.0.1");
            assertThat(tcpListeners(everywhere)).containsExactly("0.0.0.0");
            Optional<Inet4Address> external = nonLoopbackAddress();
            System.out.println("forward test: this host's non-loopback IPv4 address: "
                    + external.map(Inet4Address::getHostAddress).orElse("none (checked /proc/net/tcp only)"));
            if (external.isPresent()) {
                try (Socket s = new Socket()) {
                    assertThatThrownBy(() -> s.connect(new InetSocketAddress(external.get(), loopbackOnly), 5000))
                            .as("a connection to %s:%d", external.get().getHostAddress(), loopbackOnly)
                            .isInstanceOf(java.net.ConnectException.class);
                }
                assertThat(BootTestSupport.getWithRetry(new URL("http://" + external.get().getHostAddress() + ":" + everywhere + "/"),
                        Duration.ofSeconds(30))).isEqualTo("hello\n");
            }
            p.destroyForcibly();
        }
    }

    /** Local addresses of the TCP sockets listening on {@code port}, from /proc/net/tcp. */
    private static List<String> tcpListeners(int port) throws IOException {
        List<String> found = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 4 || !f[1].contains(":") || !f[3].equals("0A")) { // 0A: LISTEN
                continue;
            }
            String[] local = f[1].split(":");
            if (Integer.parseInt(local[1], 16) == port) {
                long a = Long.parseLong(local[0], 16); // little-endian
                found.add((a & 0xff) + "." + (a >> 8 & 0xff) + "." + (a >> 16 & 0xff) + "." + (a >> 24 & 0xff));
            }
        }
        return found;
    }

    private static Optional<Inet4Address> nonLoopbackAddress() throws IOException {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (nic.isUp() && !nic.isLoopback()) {
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    if (a instanceof Inet4Address v4 && !v4.isLinkLocalAddress()) {
                        return Optional.of(v4);
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** Accepts connections on {@code server} in the background; the reference names the first one's peer. */
    private static AtomicReference<String> acceptInBackground(ServerSocket server) {
        AtomicReference<String> accepted = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try (Socket s = server.accept()) {
                accepted.set(String.valueOf(s.getRemoteSocketAddress()));
            } catch (IOException e) {
                // closed at the test's end: nothing came
            }
        }, "test-acceptor");
        t.setDaemon(true);
        t.start();
        return accepted;
    }

    /**
     * Four MiB each way between a guest and an HTTP server on the host's loopback, byte-exact (MD5 on
     * both sides), with the guest's MTU the one Arrow sets for passt: frames of up to 64 KiB, and
     * sends faster than passt takes them, so transmit back-pressure comes into play.
     */
    @Test
    void fourMebibytesEachWayArriveByteExactAtMtu65520() throws Exception {
        byte[] blob = new byte[4 << 20];
        new Random(7).nextBytes(blob);
        AtomicReference<String> uploaded = new AtomicReference<>();
        HttpServer server = HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        server.createContext("/blob", exchange -> {
            exchange.sendResponseHeaders(200, blob.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(blob);
            }
        });
        serveUploads(server, uploaded, InputStream::readAllBytes);
        server.start();
        try {
            String base = "http://10.0.2.2:" + server.getAddress().getPort();
            // set -x: busybox sh names each step on stderr, so a failure or a stall says where it was
            // each transfer gets 75 s inside the guest (busybox timeout), so a stalled one ends the script with the
            // guest's own counters (GUEST_COUNTERS_ON_FAILURE) well before the host gives up after 3 minutes
            String script = "set -x; cat /sys/class/net/eth0/mtu && cat /proc/sys/net/ipv4/tcp_rmem"
                    + " && timeout 75 wget -q -O /tmp/down " + base + "/blob && md5sum /tmp/down"
                    // busybox wget sends a --post-file up to its first NUL byte: random bytes without NULs
                    + " && head -c 4194304 /dev/urandom | tr '\\000' '\\001' > /tmp/up && md5sum /tmp/up"
                    + " && timeout 75 wget -q -O - --post-file=/tmp/up " + base + "/upload" + GUEST_COUNTERS_ON_FAILURE;
            // the capture explains a failure: it shows which side stopped or reset the connection
            Path pcap = Files.createTempFile("arrow-4mib-", ".pcap");
            ScriptRun run = runCapturing(script, pcap);
            boolean failed = !run.ended() || run.exit() != 0 || !String.valueOf(uploaded.get()).matches("[0-9a-f]{32}");
            String report = String.format("output [%s], errors [%s], host saw upload %s; the capture: %s", run.stdout(),
                    run.stderr(), uploaded.get(), failed ? captureReport(pcap) : "not needed");
            assertThat(run.ended()).as("the guest's script ended within 3 minutes; %s", report).isTrue();
            assertThat(run.exit()).as("the guest's script: %s", report).isZero();
            String[] lines = run.stdout().split("\n");
            assertThat(lines).hasSize(5);
            assertThat(lines[0]).as("eth0's MTU").isEqualTo("65520");
            assertThat(lines[1]).as("the guest's net.ipv4.tcp_rmem (init's net-tcp-rmem-max)")
                    .isEqualTo("4096\t131072\t" + PasstBackend.GUEST_TCP_RECEIVE_BUFFER);
            assertThat(lines[2]).as("what the guest downloaded").isEqualTo(md5(blob) + "  /tmp/down");
            assertThat(lines[3]).endsWith("  /tmp/up");
            assertThat(lines[4]).as("bytes the host received").isEqualTo((4 << 20) + " bytes");
            assertThat(uploaded.get()).as("what the host received").isEqualTo(lines[3].split(" ")[0]);
            // passt resends a window on the guest's duplicate ACKs; with a window larger than passt's socket to us holds
            // (before net-tcp-rmem-max) that fed itself, and a 4 MiB download carried 26-58 MiB in the lab
            long downloaded = PcapSummary.read(pcap).tcpPayloadBytesFrom("10.0.2.2");
            System.err.printf("[4 MiB test] TCP payload host -> guest: %d bytes (%.2fx the download)%n", downloaded,
                    downloaded / (double) (4 << 20));
            // the report (a copy of the capture and a second reading of it) only when the bound is broken
            assertThat(downloaded).as(() -> "TCP payload from the host, resends included: at most twice the 4 MiB download"
                    + " and the upload's answer; " + captureReport(pcap)).isLessThan(2L * (4 << 20));
            Files.delete(pcap);
        } finally {
            server.stop(0);
        }
    }

    /**
     * Appended to a guest script: when the script fails, the guest's own view of its network goes
     * to stdout (TCP counters such as TCPWinProbe, eth0's packet counts, interrupts), so a stalled
     * transfer says whether the guest sent what the device never got.
     */
    private static final String GUEST_COUNTERS_ON_FAILURE = " || { status=$?; echo '--- guest counters:';"
            + " cat /proc/net/netstat /proc/net/snmp /proc/net/dev /proc/interrupts; exit $status; }";

    /**
     * The host's HTTP server stops reading an upload for a while, as a slow consumer does: passt's
     * socket fills, passt advertises a zero window, and the guest must probe until the window
     * opens again. The upload then completes byte-exact.
     */
    @Test
    void anUploadOutlastsTheHostPausingItsReads() throws Exception {
        int size = 2 << 20;
        AtomicReference<String> uploaded = new AtomicReference<>();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        serveUploads(server, uploaded, in -> {
            byte[] head = in.readNBytes(256 << 10);
            try {
                Thread.sleep(PAUSE.toMillis()); // passt's socket and the guest's send buffer fill up meanwhile
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            byte[] rest = in.readAllBytes();
            byte[] body = Arrays.copyOf(head, head.length + rest.length);
            System.arraycopy(rest, 0, body, head.length, rest.length);
            return body;
        });
        server.start();
        try {
            String script = "head -c " + size + " /dev/urandom | tr '\\000' '\\001' > /tmp/up && md5sum /tmp/up"
                    + " && wget -q -O - --post-file=/tmp/up http://10.0.2.2:" + server.getAddress().getPort()
                    + "/upload" + GUEST_COUNTERS_ON_FAILURE;
            Path pcap = Files.createTempFile("arrow-pause-", ".pcap");
            ScriptRun run = runCapturing(script, pcap);
            String[] lines = run.stdout().split("\n");
            boolean passed = run.exit() == 0 && lines.length == 2 && lines[1].equals(size + " bytes")
                    && lines[0].startsWith(String.valueOf(uploaded.get()) + " ");
            String report = String.format("exit %d, output [%s], errors [%s], host saw upload %s; the capture: %s",
                    run.exit(), run.stdout(), run.stderr(), uploaded.get(), passed ? "not needed" : captureReport(pcap));
            assertThat(passed).as("the upload survived a %d s pause of the host's reads: %s", PAUSE.toSeconds(), report)
                    .isTrue();
            Files.delete(pcap);
        } finally {
            server.stop(0);
        }
    }

    /** How the host's side reads an upload's body. */
    private interface BodyReader {
        byte[] read(InputStream body) throws IOException;
    }

    /**
     * Serves {@code /upload}: reads the body with {@code reader}, records its MD5 (or why the read
     * failed) in {@code uploaded} and answers "N bytes".
     */
    private static void serveUploads(HttpServer server, AtomicReference<String> uploaded, BodyReader reader) {
        server.createContext("/upload", exchange -> {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = reader.read(in);
            } catch (IOException e) {
                uploaded.set("the host's read of the upload failed: " + e);
                throw e;
            }
            uploaded.set(md5(body));
            byte[] answer = (body.length + " bytes\n").getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, answer.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(answer);
            }
        });
    }

    /** A busybox script's run: whether it ended within 3 minutes, its exit code (-1 if not) and output. */
    private record ScriptRun(boolean ended, int exit, String stdout, String stderr) {
    }

    /**
     * Runs {@code script} under busybox sh with user-mode networking that lets it reach the host's
     * loopback (its HTTP server), its traffic captured to {@code pcap}.
     */
    private static ScriptRun runCapturing(String script, Path pcap) throws Exception {
        try (ArrowProcess p = Arrow.of(BUSYBOX).args("sh", "-c", script).memory(128, MiB)
                .net(Net.user().allowHostLoopback().capture(pcap)).start()) {
            StreamTranscript output = StreamTranscript.of(p.getInputStream(), "guest-stdout");
            StreamTranscript errors = StreamTranscript.of(p.getErrorStream(), "guest-stderr");
            boolean ended = p.waitFor(3, TimeUnit.MINUTES);
            int exit = ended ? p.exitValue() : -1;
            String stdout = ended ? output.whole(30_000) : output.soFar();
            return new ScriptRun(ended, exit, stdout, errors.soFar());
        }
    }

    /** How long the host stops reading the upload: long enough for a few zero-window probes. */
    private static final Duration PAUSE = Duration.ofSeconds(8);

    /**
     * The frames around passt's first reset of a connection (or the last ones), from the capture,
     * and where the whole capture is kept: in the lab's output directory (which the host sees)
     * when run in the lab, else where it was written.
     */
    private static String captureReport(Path pcap) {
        String kept = pcap.toString();
        String labOut = System.getenv("ARROW_LAB_OUT");
        try {
            if (labOut != null) {
                Path dir = Files.createDirectories(Path.of(labOut, "captures"));
                kept = Files.copy(pcap, dir.resolve(pcap.getFileName()), StandardCopyOption.REPLACE_EXISTING).toString();
            }
        } catch (IOException e) {
            kept += " (copying it to " + labOut + " failed: " + e.getMessage() + ")";
        }
        try {
            return PcapSummary.read(pcap).around(40) + "\n(the whole capture: " + kept + ")";
        } catch (IOException e) {
            return "unreadable (" + e.getMessage() + "), at " + kept;
        }
    }

    @Test
    void aUdpForwardCarriesADatagramToTheGuestAndItsAnswerBack() throws Exception {
        int hostPort;
        try (DatagramSocket probe = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            hostPort = probe.getLocalPort();
        }
        byte[] payload = "ping over udp".getBytes(StandardCharsets.US_ASCII);
        try (ArrowProcess p = Arrow.of(BootTestSupport.guestApp()).args("udp-echo", "5353").memory(64, MiB)
                .net(Net.user().forwardUdp(hostPort, 5353)).start();
             DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
            assertThat(out.readLine()).isEqualTo("listening");
            socket.setSoTimeout(2000);
            DatagramPacket answer = new DatagramPacket(new byte[100], 100);
            Instant deadline = Instant.now().plusSeconds(60);
            boolean answered = false;
            while (!answered && Instant.now().isBefore(deadline)) { // a datagram may be lost: send again
                socket.send(new DatagramPacket(payload, payload.length, InetAddress.getLoopbackAddress(), hostPort));
                try {
                    socket.receive(answer);
                    answered = true;
                } catch (SocketTimeoutException e) {
                    // not yet
                }
            }
            assertThat(answered).as("an answer through the forwarded UDP port within 60 s").isTrue();
            assertThat(Arrays.copyOf(answer.getData(), answer.getLength())).isEqualTo(payload);
            assertThat(out.readLine()).isEqualTo("echoed: ping over udp");
            assertThat(p.waitFor()).isZero();
        }
    }

    /**
     * The guest resolves a name through passt's DNS forwarder (10.0.2.3 in the guest's resolv.conf,
     * forwarded to the host's first resolver). In the lab, that resolver is the lab's own responder
     * (scripts/lab/init), whose table has this name. Where the host itself cannot resolve the name,
     * the guest cannot either: the test is then skipped and says so.
     */
    @Test
    void theGuestResolvesANameThroughTheHostsResolver() throws Exception {
        String name = "deb.debian.org";
        try {
            InetAddress.getByName(name);
        } catch (UnknownHostException e) {
            assumeTrue(false, "this host cannot resolve " + name + " itself (" + e.getMessage() + "): no DNS to forward");
        }
        try (ArrowProcess p = Arrow.of(BUSYBOX).args("nslookup", name).memory(64, MiB).net(Net.user()).start()) {
            String out = stdout(p);
            assertThat(p.waitFor()).as("nslookup's status, output:%n%s", out).isZero();
            assertThat(out).contains("10.0.2.3").containsPattern("Name:\\s+" + name.replace(".", "\\."))
                    .containsPattern("Address:\\s+\\d+\\.\\d+\\.\\d+\\.\\d+");
        }
    }

    private static String md5(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
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
        assertThat(ProcessHandle.current().children().filter(h -> h.info().command().orElse("").contains("passt")))
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
}
