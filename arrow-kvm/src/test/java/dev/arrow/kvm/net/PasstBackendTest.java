package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.kvm.net.NetworkBackendException.Reason;
import dev.arrow.testing.FreePort;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PasstBackend against the real passt (Debian package passt). This test plays the guest: it
 * sends hand-made frames through the backend and looks at what passt sends back.
 */
class PasstBackendTest {
    static final Duration WAIT = Duration.ofSeconds(10);
    static final GuestNetwork PLAN = GuestNetwork.userMode();
    static final MacAddress GUEST_MAC = PLAN.mac();
    static final Inet4Address GUEST = PLAN.address();
    static final Inet4Address GATEWAY = PLAN.gateway();

    PasstBackend backend;
    FrameCollector frames;

    @BeforeAll
    static void needsPasst() {
        boolean found = PasstProcess.STANDARD_DIRS.stream().anyMatch(d -> Files.isExecutable(d.resolve("passt")));
        assumeTrue(found, "passt is not installed (Debian package 'passt'): cannot test the user-mode backend");
    }

    @AfterEach
    void closeBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0)) {
            return s.getLocalPort();
        }
    }

    void start(List<PortMapping> forwards) {
        start(PasstBackend.Options.of(PLAN, forwards));
    }

    void start(PasstBackend.Options options) {
        backend = PasstBackend.start(options);
        frames = new FrameCollector(backend);
        backend.start(frames);
    }

    void startAllowingTheHostsLoopback() {
        start(PasstBackend.Options.of(PLAN, List.of()).withHostLoopback(true));
    }

    /** Sends an ARP request for the gateway and returns passt's MAC from the reply (passt also learns ours). */
    MacAddress arpGateway() throws InterruptedException {
        assertThat(backend.send(ByteBuffer.wrap(TestFrames.arpRequest(GUEST_MAC, GUEST, GATEWAY)))).isTrue();
        byte[] reply = frames.await(TestFrames::isArpReply, WAIT, "ARP reply for the gateway");
        assertThat(TestFrames.arpSenderIp(reply)).isEqualTo("10.0.2.2");
        assertThat(TestFrames.destination(reply)).isEqualTo(GUEST_MAC);
        return TestFrames.arpSenderMac(reply);
    }

    @Test
    void passtAnswersArpForTheGatewayOfThePlan() throws Exception {
        start(List.of());
        MacAddress passt = arpGateway();
        assertThat(passt.isMulticast()).isFalse();
        assertThat(backend.framesReceived()).isPositive();
        assertThat(backend.framesSent()).isEqualTo(1);
        assertThat(backend.describe()).startsWith("passt (pid ");
    }

    @Test
    void aTcpForwardTurnsAHostConnectionIntoASynToTheGuestPort() throws Exception {
        int hostPort = FreePort.onAnyAddress();
        start(List.of(PortMapping.tcp(hostPort, 80)));
        arpGateway();
        try (Socket client = new Socket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), hostPort), 5000);
            byte[] syn = frames.await(f -> TestFrames.ipProtocol(f) == TestFrames.PROTO_TCP
                    && (TestFrames.tcpFlags(f) & TestFrames.TCP_SYN) != 0, WAIT, "TCP SYN to the guest");
            assertThat(TestFrames.ipDestination(syn)).isEqualTo("10.0.2.15");
            assertThat(TestFrames.destinationPort(syn)).isEqualTo(80);
            assertThat(TestFrames.destination(syn)).isEqualTo(GUEST_MAC);
            assertThat(TestFrames.ipSource(syn)).as("host loopback appears as the gateway").isEqualTo("10.0.2.2");
        }
    }

    /**
     * passt learns the guest's MAC from the guest's frames and sends to the broadcast MAC until then, which a guest's
     * TCP drops; it sends a SYN once and resets the host's connection after 10 s without an answer. A host connection
     * made before the guest sent anything (while it boots) must still reach the guest at its own MAC: the backend
     * introduces the guest to passt when it starts (and that is no frame of the guest's).
     */
    @Test
    void aHostConnectionBeforeTheGuestSentAnythingReachesTheGuestAtItsOwnMac() throws Exception {
        int hostPort = FreePort.onAnyAddress();
        start(List.of(PortMapping.tcp(hostPort, 80)));
        try (Socket client = new Socket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), hostPort), 5000);
            byte[] syn = frames.await(f -> TestFrames.ipProtocol(f) == TestFrames.PROTO_TCP
                    && (TestFrames.tcpFlags(f) & TestFrames.TCP_SYN) != 0, WAIT, "TCP SYN to the guest");
            assertThat(TestFrames.destination(syn)).as("the SYN's destination MAC").isEqualTo(GUEST_MAC);
            assertThat(backend.framesSent()).as("guest frames sent (the announcement is the backend's own)").isZero();
        }
    }

    @Test
    void aUdpForwardDeliversAHostDatagramToTheGuestPort() throws Exception {
        int hostPort = freeUdpPort();
        start(List.of(PortMapping.udp(hostPort, 5353)));
        arpGateway();
        byte[] payload = "hello guest".getBytes(StandardCharsets.US_ASCII);
        try (DatagramSocket s = new DatagramSocket()) {
            s.send(new DatagramPacket(payload, payload.length, InetAddress.getLoopbackAddress(), hostPort));
        }
        byte[] f = frames.await(x -> TestFrames.ipProtocol(x) == TestFrames.PROTO_UDP, WAIT, "UDP datagram for the guest");
        assertThat(TestFrames.ipDestination(f)).isEqualTo("10.0.2.15");
        assertThat(TestFrames.destinationPort(f)).isEqualTo(5353);
        assertThat(TestFrames.udpPayload(f)).isEqualTo(payload);
    }

    @Test
    void withTheHostsLoopbackAllowedAGuestConnectionToTheGatewayReachesAServerThere() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout((int) WAIT.toMillis());
            startAllowingTheHostsLoopback();
            MacAddress passt = arpGateway();
            backend.send(ByteBuffer.wrap(syn(passt, GATEWAY, server.getLocalPort())));
            try (Socket accepted = server.accept()) {
                assertThat(accepted.getInetAddress().isLoopbackAddress()).isTrue();
            }
            byte[] synAck = frames.await(f -> TestFrames.ipProtocol(f) == TestFrames.PROTO_TCP
                    && TestFrames.tcpFlags(f) == (TestFrames.TCP_SYN | TestFrames.TCP_ACK), WAIT, "SYN-ACK");
            assertThat(TestFrames.ipSource(synAck)).isEqualTo("10.0.2.2");
            assertThat(TestFrames.destinationPort(synAck)).isEqualTo(40000);
        }
    }

    /**
     * By default a guest connection to the gateway is refused at once (the backend answers the SYN
     * with a reset) and never reaches a server on the host's loopback; passt, with --no-map-gw,
     * would not map it there either.
     */
    @Test
    void byDefaultAGuestConnectionToTheGatewayIsRefusedAtOnceAndNeverReachesTheHostsLoopback() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(2000);
            start(List.of());
            MacAddress passt = arpGateway();
            long sent = System.nanoTime();
            assertThat(backend.send(ByteBuffer.wrap(syn(passt, GATEWAY, server.getLocalPort())))).isFalse();
            byte[] rst = frames.await(f -> TestFrames.ipProtocol(f) == TestFrames.PROTO_TCP, WAIT, "the answer to the SYN");
            assertThat(System.nanoTime() - sent).as("nanoseconds until the reset").isLessThan(1_000_000_000L);
            assertThat(TestFrames.tcpFlags(rst)).as("RST|ACK").isEqualTo(0x04 | TestFrames.TCP_ACK);
            assertThat(TestFrames.ipSource(rst)).isEqualTo("10.0.2.2");
            assertThat(TestFrames.sourcePort(rst)).isEqualTo(server.getLocalPort());
            assertThat(TestFrames.destinationPort(rst)).isEqualTo(40000);
            assertThat(TestFrames.destination(rst)).isEqualTo(GUEST_MAC);
            assertThat(backend.framesRefused()).isEqualTo(1);
            assertThatThrownBy(server::accept).as("a connection on the host's loopback")
                    .isInstanceOf(SocketTimeoutException.class);
        }
    }

    /**
     * passt opens a host socket to whatever address a guest frame names, so a guest that sends
     * frames to 127.0.0.1 or 0.0.0.0 through eth0 (root in the guest can) would reach the host's
     * loopback despite --no-map-gw: the backend drops those frames.
     */
    @Test
    void byDefaultGuestFramesToTheHostsLoopbackAddressesAreDropped() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             DatagramSocket udp = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            server.setSoTimeout(2000);
            udp.setSoTimeout(1000);
            start(List.of());
            MacAddress passt = arpGateway();
            int port = server.getLocalPort();
            assertThat(backend.send(ByteBuffer.wrap(syn(passt, GuestNetwork.ipv4("127.0.0.1"), port)))).isFalse();
            assertThat(backend.send(ByteBuffer.wrap(syn(passt, GuestNetwork.ipv4("127.1.2.3"), port)))).isFalse();
            assertThat(backend.send(ByteBuffer.wrap(syn(passt, GuestNetwork.ipv4("0.0.0.0"), port)))).isFalse();
            byte[] hello = "hello host".getBytes(StandardCharsets.US_ASCII);
            assertThat(backend.send(ByteBuffer.wrap(TestFrames.udp(GUEST_MAC, passt, GUEST, GuestNetwork.ipv4("127.0.0.1"),
                    40001, udp.getLocalPort(), hello)))).isFalse();
            assertThat(backend.framesRefused()).isEqualTo(4);
            assertThatThrownBy(server::accept).isInstanceOf(SocketTimeoutException.class);
            assertThatThrownBy(() -> udp.receive(new DatagramPacket(new byte[100], 100)))
                    .isInstanceOf(SocketTimeoutException.class);
            assertThat(backend.isHealthy()).isTrue();
            arpGateway(); // other frames still pass
        }
    }

    @Test
    void withTheHostsLoopbackAllowedFramesToItsAddressesPass() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout((int) WAIT.toMillis());
            startAllowingTheHostsLoopback();
            MacAddress passt = arpGateway();
            assertThat(backend.send(ByteBuffer.wrap(syn(passt, GuestNetwork.ipv4("127.0.0.1"), server.getLocalPort()))))
                    .isTrue();
            try (Socket accepted = server.accept()) {
                assertThat(accepted.getInetAddress().isLoopbackAddress()).isTrue();
            }
            assertThat(backend.framesRefused()).isZero();
        }
    }

    @Test
    void withTheHostsLoopbackAllowedAGuestDatagramToTheGatewayReachesIt() throws Exception {
        try (DatagramSocket host = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            host.setSoTimeout((int) WAIT.toMillis());
            startAllowingTheHostsLoopback();
            MacAddress passt = arpGateway();
            byte[] payload = "hello host".getBytes(StandardCharsets.US_ASCII);
            backend.send(ByteBuffer.wrap(TestFrames.udp(GUEST_MAC, passt, GUEST, GATEWAY, 40001, host.getLocalPort(), payload)));
            DatagramPacket p = new DatagramPacket(new byte[100], 100);
            host.receive(p);
            assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII)).isEqualTo("hello host");
        }
    }

    @Test
    void byDefaultAGuestDatagramToTheGatewayDoesNotReachTheHostsLoopback() throws Exception {
        try (DatagramSocket host = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            host.setSoTimeout(2000);
            start(List.of());
            MacAddress passt = arpGateway();
            byte[] payload = "hello host".getBytes(StandardCharsets.US_ASCII);
            backend.send(ByteBuffer.wrap(TestFrames.udp(GUEST_MAC, passt, GUEST, GATEWAY, 40001, host.getLocalPort(), payload)));
            assertThatThrownBy(() -> host.receive(new DatagramPacket(new byte[100], 100)))
                    .isInstanceOf(SocketTimeoutException.class);
        }
    }

    /**
     * A program on the host's loopback sends to a forwarded UDP port; the guest sees the datagram
     * come from the gateway and answers there. By default passt would send that answer to 10.0.2.2
     * on the host's networks: the backend readdresses answers (and only those) to 127.0.0.1.
     */
    @Test
    void byDefaultTheGuestStillAnswersADatagramFromTheHostsLoopbackThroughAUdpForward() throws Exception {
        int hostPort = freeUdpPort();
        start(List.of(PortMapping.udp(hostPort, 5353)));
        MacAddress passt = arpGateway();
        try (DatagramSocket client = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            client.setSoTimeout((int) WAIT.toMillis());
            byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
            client.send(new DatagramPacket(ping, ping.length, InetAddress.getLoopbackAddress(), hostPort));
            byte[] f = frames.await(x -> TestFrames.ipProtocol(x) == TestFrames.PROTO_UDP, WAIT, "the datagram for the guest");
            assertThat(TestFrames.ipSource(f)).isEqualTo("10.0.2.2");
            int peerPort = TestFrames.sourcePort(f);
            byte[] pong = "pong".getBytes(StandardCharsets.US_ASCII);
            assertThat(backend.send(ByteBuffer.wrap(TestFrames.udp(GUEST_MAC, passt, GUEST, GATEWAY, 5353, peerPort, pong))))
                    .isTrue();
            DatagramPacket answer = new DatagramPacket(new byte[100], 100);
            client.receive(answer);
            assertThat(new String(answer.getData(), 0, answer.getLength(), StandardCharsets.US_ASCII)).isEqualTo("pong");
            assertThat(answer.getSocketAddress()).isEqualTo(new InetSocketAddress(InetAddress.getLoopbackAddress(), hostPort));
        }
    }

    @Test
    void aForwardListensOnTheHostsLoopbackByDefault() throws Exception {
        int tcp = FreePort.onAnyAddress();
        int udp = freeUdpPort();
        start(List.of(PortMapping.tcp(tcp, 80), PortMapping.udp(udp, 53)));
        assertThat(ProcListeners.tcp(tcp)).containsExactly("127.0.0.1");
        assertThat(ProcListeners.udp(udp)).containsExactly("127.0.0.1");
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), tcp), 5000);
        }
        Optional<Inet4Address> external = ProcListeners.nonLoopbackAddress();
        if (external.isPresent()) {
            try (Socket s = new Socket()) {
                assertThatThrownBy(() -> s.connect(new InetSocketAddress(external.get(), tcp), 5000))
                        .as("a connection to %s:%d", external.get().getHostAddress(), tcp)
                        .isInstanceOf(ConnectException.class);
            }
        }
    }

    @Test
    void forwardsAskingForAnyFreePortGetPortsPasstListensOnAndReportsThem() throws Exception {
        PortMapping fixed = PortMapping.tcp(FreePort.onAnyAddress(), 81);
        start(List.of(PortMapping.tcp(0, 80), fixed, PortMapping.udp(0, 53)));
        List<PortMapping> served = backend.forwards();
        assertThat(served).hasSize(3);
        assertThat(served.get(1)).isEqualTo(fixed);
        int tcp = served.get(0).hostPort();
        int udp = served.get(2).hostPort();
        assertThat(served.get(0)).isEqualTo(PortMapping.tcp(tcp, 80));
        assertThat(served.get(2)).isEqualTo(PortMapping.udp(udp, 53));
        assertThat(ProcListeners.tcp(tcp)).as("passt listens on the chosen TCP port").containsExactly("127.0.0.1");
        assertThat(ProcListeners.udp(udp)).as("passt is bound to the chosen UDP port").containsExactly("127.0.0.1");
    }

    @Test
    void aForwardOnTheWildcardAddressListensOnEveryInterface() throws Exception {
        int tcp = FreePort.onAnyAddress();
        start(List.of(PortMapping.tcp(tcp, 80).on(PortMapping.ANY)));
        assertThat(ProcListeners.tcp(tcp)).containsExactly("0.0.0.0");
        Optional<Inet4Address> external = ProcListeners.nonLoopbackAddress();
        if (external.isPresent()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(external.get(), tcp), 5000);
            }
        }
    }

    /** A SYN from the guest's port 40000 to {@code destination}. */
    static byte[] syn(MacAddress passt, Inet4Address destination, int port) {
        return TestFrames.tcp(GUEST_MAC, passt, GUEST, destination, 40000, port, 1000, 0, TestFrames.TCP_SYN);
    }

    /**
     * A DNS query to the plan's resolver address (10.0.2.3) is answered by the host's resolver
     * through passt. Where the host itself cannot resolve the name (the lab has no network), the
     * test is skipped and says so.
     */
    @Test
    void aDnsQueryToThePlansResolverIsAnsweredByTheHostsResolver() throws Exception {
        String name = "deb.debian.org";
        try {
            InetAddress.getByName(name);
        } catch (UnknownHostException e) {
            assumeTrue(false, "this host cannot resolve " + name + " itself (" + e.getMessage() + "): no DNS to forward");
        }
        start(List.of());
        MacAddress passt = arpGateway();
        Inet4Address resolver = PLAN.dns().get(0);
        backend.send(ByteBuffer.wrap(TestFrames.udp(GUEST_MAC, passt, GUEST, resolver, 40053, 53, dnsQuery(0x4152, name))));
        byte[] f = frames.await(x -> TestFrames.ipProtocol(x) == TestFrames.PROTO_UDP && TestFrames.sourcePort(x) == 53,
                WAIT, "DNS answer from " + resolver.getHostAddress());
        assertThat(TestFrames.ipSource(f)).isEqualTo(resolver.getHostAddress());
        assertThat(TestFrames.destinationPort(f)).isEqualTo(40053);
        byte[] answer = TestFrames.udpPayload(f);
        assertThat(((answer[0] & 0xff) << 8) | (answer[1] & 0xff)).as("the query's id").isEqualTo(0x4152);
        assertThat(answer[2] & 0x80).as("QR: a response").isNotZero();
        assertThat(answer[3] & 0x0f).as("RCODE").isZero();
        assertThat(((answer[6] & 0xff) << 8) | (answer[7] & 0xff)).as("answers").isPositive();
    }

    /** A recursive DNS query for the A record of {@code name}. */
    static byte[] dnsQuery(int id, String name) {
        ByteBuffer b = ByteBuffer.allocate(512);
        b.putShort((short) id).putShort((short) 0x0100).putShort((short) 1).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0);
        for (String label : name.split("\\.")) {
            byte[] l = label.getBytes(StandardCharsets.US_ASCII);
            b.put((byte) l.length).put(l);
        }
        b.put((byte) 0).putShort((short) 1).putShort((short) 1); // QTYPE A, QCLASS IN
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    @Test
    void closingStopsPasstFreesTheForwardedPortsAtOnceAndRemovesItsFiles() throws Exception {
        int tcp = FreePort.onAnyAddress();
        int udp = freeUdpPort();
        start(List.of(PortMapping.tcp(tcp, 80), PortMapping.udp(udp, 53)));
        ProcessHandle passt = backend.process();
        Path dir = backend.directory();
        assertThat(backend.socketPath()).exists();
        try (Socket client = new Socket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), tcp), 5000); // passt listens
        }
        backend.close();
        assertThat(passt.isAlive()).isFalse();
        assertThat(dir).doesNotExist();
        try (ServerSocket again = new ServerSocket()) {
            again.setReuseAddress(true); // as servers do; connections just closed may linger in TIME_WAIT
            again.bind(new InetSocketAddress(tcp));
        }
        try (DatagramSocket again = new DatagramSocket(udp)) {
            assertThat(again.getLocalPort()).isEqualTo(udp);
        }
        assertThat(backend.send(ByteBuffer.wrap(new byte[60]))).isFalse();
        backend.close(); // idempotent
    }

    /**
     * While the guest takes no frames, the reader keeps taking passt's, well past the 8 frames it
     * used to stop at: passt drops frames that do not fit its socket buffer and recovers poorly.
     */
    @Test
    void theReaderKeepsTakingPasstsFramesWhileTheGuestTakesNone() throws Exception {
        backend = PasstBackend.start(PasstBackend.Options.of(PLAN, List.of()));
        backend.start(new NetworkBackend.Listener() {
            @Override
            public void framesAvailable() {
                // a guest that posts no receive buffers
            }

            @Override
            public void failed(String reason) {
            }
        });
        int requests = PasstBackend.INBOX_SLOTS / 2 + 8;
        for (int i = 0; i < requests; i++) {
            assertThat(backend.send(ByteBuffer.wrap(TestFrames.arpRequest(GUEST_MAC, GUEST, GATEWAY)))).isTrue();
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (backend.inbox().size() < requests && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(backend.inbox().size()).as("ARP replies waiting for the guest").isEqualTo(requests);
        assertThat(backend.inbox().allocatedSlots()).as("the queued frames and the one being read").isEqualTo(requests + 1);
        assertThat(TestFrames.isArpReply(toArray(backend.inbox().peek()))).isTrue();
    }

    static byte[] toArray(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    @Test
    void aPortInUseIsReportedBeforePasstStarts() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            int port = taken.getLocalPort();
            long before = passtChildren();
            assertThatThrownBy(() -> PasstBackend.start(PasstBackend.Options.of(PLAN, List.of(PortMapping.tcp(port, 80)))))
                    .isInstanceOfSatisfying(NetworkBackendException.class, e -> assertThat(e.reason()).isEqualTo(Reason.PORT_IN_USE))
                    .hasMessageStartingWith("host port " + port + " is already in use");
            assertThat(passtChildren()).isEqualTo(before);
        }
    }

    @Test
    void aMissingPasstNamesTheDebianPackage(@TempDir Path tmp) {
        assertThatThrownBy(() -> PasstBackend.start(PasstBackend.Options.of(PLAN, List.of())
                .withExecutable(tmp.resolve("no-such-passt"))))
                .isInstanceOfSatisfying(NetworkBackendException.class, e -> assertThat(e.reason()).isEqualTo(Reason.PASST_MISSING))
                .hasMessageContaining("passt not found")
                .hasMessageContaining("install the Debian package 'passt'");
    }

    @Test
    void aProgramThatExitsAtOnceIsReportedWithItsExitCodeAndNothingIsLeftBehind(@TempDir Path tmp) throws IOException {
        Path fake = tmp.resolve("fake-passt");
        openToNobody(tmp);
        Files.writeString(fake, "#!/bin/sh\necho 'No routable interface' >&2\nexit 3\n");
        assertThat(fake.toFile().setExecutable(true, false)).isTrue();
        long before = countArrowDirs();
        assertThatThrownBy(() -> PasstBackend.start(PasstBackend.Options.of(PLAN, List.of()).withExecutable(fake)))
                .isInstanceOfSatisfying(NetworkBackendException.class, e -> assertThat(e.reason()).isEqualTo(Reason.PASST_FAILED_TO_START))
                .hasMessageContaining("passt exited with code 3 while starting")
                .hasMessageContaining("No routable interface");
        assertThat(countArrowDirs()).isEqualTo(before);
    }

    @Test
    void aProgramThatNeverOpensItsSocketTimesOutAndIsStopped(@TempDir Path tmp) throws IOException {
        Path fake = tmp.resolve("silent-passt");
        openToNobody(tmp);
        Files.writeString(fake, "#!/bin/sh\nexec sleep 60\n");
        assertThat(fake.toFile().setExecutable(true, false)).isTrue();
        assertThatThrownBy(() -> PasstBackend.start(PasstBackend.Options.of(PLAN, List.of()).withExecutable(fake)
                .withStartTimeout(Duration.ofMillis(300))))
                .isInstanceOfSatisfying(NetworkBackendException.class, e -> assertThat(e.reason()).isEqualTo(Reason.PASST_FAILED_TO_START))
                .hasMessageContaining("did not accept connections");
        assertThat(ProcessHandle.current().children().filter(p -> p.info().command().orElse("").contains("sleep")).count())
                .isZero();
    }

    @Test
    void aPasstThatDiesTakesTheBackendDownAndTellsTheListener() throws Exception {
        start(List.of());
        backend.process().destroyForcibly();
        assertThat(frames.failed.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(frames.failure).contains("passt closed the connection");
        assertThat(backend.isHealthy()).isFalse();
        assertThat(backend.send(ByteBuffer.wrap(new byte[60]))).isFalse();
    }

    @Test
    void framesOfTheWrongSizeAreRefused() {
        start(List.of());
        assertThatThrownBy(() -> backend.send(ByteBuffer.allocate(13))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> backend.send(ByteBuffer.allocate(NetworkBackend.MAX_FRAME_BYTES + 1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> backend.start(frames)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void asRootATmpdirThatNobodyCanTraverseIsAvoided(@TempDir Path tmp) throws Exception {
        assumeTrue(NetLibC.geteuid() == 0, "only root makes passt switch to nobody");
        Path closed = Files.createDirectory(tmp.resolve("private"),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        String saved = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", closed.toString());
        try {
            start(List.of());
        } finally {
            System.setProperty("java.io.tmpdir", saved);
        }
        assertThat(backend.directory().getParent()).isEqualTo(Path.of("/tmp"));
        arpGateway(); // passt could bind its socket and serves us
    }

    /** As root, passt (here a fake) runs as nobody: the test's directory must let it in. */
    static void openToNobody(Path dir) {
        assertThat(dir.toFile().setExecutable(true, false)).isTrue();
    }

    static long passtChildren() {
        return ProcessHandle.current().children().filter(p -> p.info().command().orElse("").contains("passt")).count();
    }

    static long countArrowDirs() throws IOException {
        try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("arrow-passt-")).count();
        }
    }
}
