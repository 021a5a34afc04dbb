package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.kvm.net.NetworkBackendException.Reason;
import dev.arrow.kvm.sys.Errno;
import java.io.IOException;
import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * TapBackend: the error paths anywhere; attaching and exchanging frames with a TAP device this
 * test creates (needs root or CAP_NET_ADMIN and the ip tool; skipped otherwise).
 */
class TapBackendTest {
    static final Inet4Address HOST_SIDE = GuestNetwork.ipv4("10.213.7.1");
    static final Inet4Address GUEST_SIDE = GuestNetwork.ipv4("10.213.7.2");
    static final MacAddress GUEST_MAC = MacAddress.parse("02:41:52:52:4f:58");

    final List<String> createdDevices = new ArrayList<>();
    final List<TapBackend> opened = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        opened.forEach(TapBackend::close);
        for (String d : createdDevices) {
            ip("link", "del", d);
        }
    }

    static String ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("ip " + String.join(" ", args) + " failed: " + out);
        }
        return out;
    }

    /** Creates a TAP (or TUN) device for this test, or skips the test if this host does not allow it. */
    String createDevice(String mode) throws InterruptedException {
        String name = String.format(Locale.ROOT, "arwt%04x", ThreadLocalRandom.current().nextInt(0x10000));
        try {
            ip("tuntap", "add", "dev", name, "mode", mode);
        } catch (IOException e) {
            assumeTrue(false, "cannot create a " + mode + " device here (needs root or CAP_NET_ADMIN and iproute2): "
                    + e.getMessage());
        }
        createdDevices.add(name);
        return name;
    }

    TapBackend open(String name) {
        TapBackend b = TapBackend.open(name);
        opened.add(b);
        return b;
    }

    @Test
    void aMissingDeviceNamesTheCommandThatCreatesIt() {
        assertThatThrownBy(() -> TapBackend.open("arwt-none"))
                .isInstanceOfSatisfying(NetworkBackendException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TAP_MISSING))
                .hasMessageContaining("TAP device 'arwt-none' does not exist")
                .hasMessageContaining("ip tuntap add dev arwt-none mode tap user <your user>");
    }

    @Test
    void theGuestMtuIsTheHostInterfacesOrTheDefaultWhereThatCannotBeUsed() throws IOException {
        assertThat(TapBackend.hostMtu("arwt-none")).as("no such interface").isEqualTo(GuestNetwork.DEFAULT_MTU);
        assertThatThrownBy(() -> TapBackend.hostMtu("a/b")).isInstanceOf(NetworkBackendException.class);
        Path lo = TapBackend.SYS_CLASS_NET.resolve("lo/mtu");
        assumeTrue(Files.exists(lo), "no /sys/class/net/lo here");
        int loMtu = Integer.parseInt(Files.readString(lo).trim());
        // loopback's usual 65536 does not fit virtio-net's 16-bit MTU field
        assertThat(TapBackend.hostMtu("lo")).isEqualTo(loMtu <= GuestNetwork.MAX_MTU ? loMtu : GuestNetwork.DEFAULT_MTU);
    }

    // ---- what each errno of open(/dev/net/tun) and TUNSETIFF tells the user (no device needed) ----

    @Test
    void noPermissionToOpenTheTunDeviceSaysHowToGetIt() {
        for (int errno : new int[] {Errno.EACCES, Errno.EPERM}) {
            NetworkBackendException e = TapBackend.openFailure(errno);
            assertThat(e.reason()).isEqualTo(Reason.TAP_PERMISSION);
            assertThat(e).hasMessage("no permission to open /dev/net/tun (" + Errno.describe(errno) + "): make it "
                    + "accessible to your user (it is usually mode 0666) or use user-mode networking (Net.user())");
        }
        assertThat(TapBackend.openFailure(Errno.EACCES)).hasMessageContaining("(EACCES (permission denied))");
    }

    @Test
    void aMissingTunDeviceNamesTheModuleToLoad() {
        for (int errno : new int[] {Errno.ENOENT, Errno.ENODEV, Errno.ENXIO}) {
            NetworkBackendException e = TapBackend.openFailure(errno);
            assertThat(e.reason()).isEqualTo(Reason.TAP_MISSING);
            assertThat(e).hasMessage("/dev/net/tun is missing (" + Errno.describe(errno) + "): load the tun module "
                    + "('modprobe tun')");
        }
        assertThat(TapBackend.openFailure(Errno.ENOENT)).hasMessageContaining("(ENOENT (no such file or directory))");
    }

    @Test
    void anyOtherOpenFailureNamesTheCallAndTheErrno() {
        NetworkBackendException e = TapBackend.openFailure(Errno.EIO);
        assertThat(e.reason()).isEqualTo(Reason.IO);
        assertThat(e).hasMessage("open /dev/net/tun failed: EIO (input/output error)");
    }

    @Test
    void noPermissionToAttachNamesTheOwnerFixAndCapability() {
        for (int errno : new int[] {Errno.EPERM, Errno.EACCES}) {
            NetworkBackendException e = TapBackend.attachFailure("arrow0", errno);
            assertThat(e.reason()).isEqualTo(Reason.TAP_PERMISSION);
            assertThat(e).hasMessage("not allowed to attach to TAP device 'arrow0' (TUNSETIFF: " + Errno.describe(errno)
                    + "): it belongs to another user; recreate it for yours ('ip tuntap add dev arrow0 mode tap user"
                    + " <your user>') or run with CAP_NET_ADMIN");
        }
        assertThat(TapBackend.attachFailure("arrow0", Errno.EPERM)).hasMessageContaining("(TUNSETIFF: EPERM (operation not permitted))");
    }

    @Test
    void aTapHeldByAnotherProcessIsBusy() {
        NetworkBackendException e = TapBackend.attachFailure("arrow0", Errno.EBUSY);
        assertThat(e.reason()).isEqualTo(Reason.TAP_BUSY);
        assertThat(e).hasMessage("TAP device 'arrow0' is attached to another process (TUNSETIFF: EBUSY): give each"
                + " guest its own TAP device");
    }

    @Test
    void aTapThatCannotBeAttachedPlainSaysHowToRecreateIt() {
        NetworkBackendException e = TapBackend.attachFailure("arrow0", Errno.EINVAL);
        assertThat(e.reason()).isEqualTo(Reason.TAP_MISSING);
        assertThat(e).hasMessage("TAP device 'arrow0' cannot be attached as a single-queue TAP without packet info"
                + " (TUNSETIFF: EINVAL): recreate it with 'ip tuntap add dev arrow0 mode tap'");
    }

    @Test
    void anyOtherAttachFailureNamesTheCallAndTheErrno() {
        NetworkBackendException e = TapBackend.attachFailure("arrow0", Errno.ENODEV);
        assertThat(e.reason()).isEqualTo(Reason.IO);
        assertThat(e).hasMessage("TUNSETIFF on 'arrow0' failed: " + Errno.describe(Errno.ENODEV));
    }

    @Test
    void invalidInterfaceNamesAreRefused() {
        for (String bad : new String[] {"", "sixteen-chars-xx", "a/b", "a b", "..", "tap:0"}) {
            assertThatThrownBy(() -> TapBackend.open(bad)).as("'%s'", bad)
                    .isInstanceOf(NetworkBackendException.class).hasMessageContaining("not a valid network interface name");
        }
    }

    @Test
    void anInterfaceThatIsNoTapIsRefused() {
        assertThatThrownBy(() -> TapBackend.open("lo"))
                .isInstanceOfSatisfying(NetworkBackendException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TAP_MISSING))
                .hasMessageContaining("'lo' is not a TUN/TAP device");
    }

    @Test
    void aTunDeviceIsRefusedBecauseItCarriesNoEthernetFrames() throws Exception {
        String tun = createDevice("tun");
        assertThatThrownBy(() -> TapBackend.open(tun)).hasMessageContaining("is a TUN device");
    }

    @Test
    void framesGoBothWaysThroughATapDevice() throws Exception {
        String name = createDevice("tap");
        ip("addr", "add", HOST_SIDE.getHostAddress() + "/24", "dev", name);
        ip("link", "set", name, "up");
        TapBackend tap = open(name);
        FrameCollector frames = new FrameCollector(tap);
        tap.start(frames);
        // The host kernel answers an ARP request for its own address on the TAP.
        byte[] reply = null;
        for (int attempt = 0; attempt < 5 && reply == null; attempt++) { // the link may still be coming up
            assertThat(tap.send(ByteBuffer.wrap(TestFrames.arpRequest(GUEST_MAC, GUEST_SIDE, HOST_SIDE)))).isTrue();
            try {
                reply = frames.await(TestFrames::isArpReply, Duration.ofSeconds(2), "ARP reply from the host");
            } catch (AssertionError notYet) {
                // retry
            }
        }
        assertThat(reply).as("ARP reply from the host kernel").isNotNull();
        assertThat(TestFrames.arpSenderIp(reply)).isEqualTo(HOST_SIDE.getHostAddress());
        assertThat(TestFrames.destination(reply)).isEqualTo(GUEST_MAC);
        assertThat(tap.framesSent()).isPositive();
        assertThat(tap.framesReceived()).isPositive();
        assertThat(tap.describe()).isEqualTo("tap " + name);
    }

    @Test
    void aTapAttachedElsewhereIsBusyUntilReleased() throws Exception {
        String name = createDevice("tap");
        TapBackend first = open(name);
        assertThatThrownBy(() -> TapBackend.open(name))
                .isInstanceOfSatisfying(NetworkBackendException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TAP_BUSY))
                .hasMessageContaining("attached to another process");
        first.close();
        TapBackend second = open(name);
        assertThat(second.isHealthy()).isTrue();
    }

    @Test
    void closeStopsTheReaderAndFurtherSendsAreRefused() throws Exception {
        String name = createDevice("tap");
        TapBackend tap = open(name);
        FrameCollector frames = new FrameCollector(tap);
        tap.start(frames);
        tap.close();
        assertThat(Thread.getAllStackTraces().keySet().stream().map(Thread::getName)).doesNotContain("arrow-tap-" + name);
        assertThat(tap.send(ByteBuffer.wrap(new byte[60]))).isFalse();
        assertThat(frames.failure).as("closing is not a failure").isNull();
    }

    @Test
    void deletingTheDeviceUnderTheBackendTakesItDown() throws Exception {
        String name = createDevice("tap");
        TapBackend tap = open(name);
        FrameCollector frames = new FrameCollector(tap);
        tap.start(frames);
        ip("link", "del", name);
        createdDevices.remove(name);
        // The kernel detaches the queue; the backend notices on its next read or send.
        tap.send(ByteBuffer.wrap(TestFrames.arpRequest(GUEST_MAC, GUEST_SIDE, HOST_SIDE)));
        assertThat(frames.failed.await(5, TimeUnit.SECONDS)).as("listener told").isTrue();
        assertThat(tap.isHealthy()).isFalse();
    }
}
