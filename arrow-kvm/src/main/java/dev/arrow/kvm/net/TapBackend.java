package dev.arrow.kvm.net;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.arrow.kvm.EventFd;
import dev.arrow.kvm.net.NetworkBackendException.Reason;
import dev.arrow.kvm.sys.Errno;
import dev.arrow.kvm.sys.OwnedFd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A host TAP device as the guest's network: frames the guest sends come out of the TAP on the
 * host, frames the host routes into the TAP reach the guest. The device must exist (created by
 * the host's administrator, e.g. {@code ip tuntap add dev arrow0 mode tap user alice} and given
 * an address or a bridge); Arrow attaches to it with {@code TUNSETIFF} ({@code IFF_TAP |
 * IFF_NO_PI}: plain Ethernet frames, no offloads) and never creates one, not even as root.
 *
 * <p>Owns the /dev/net/tun descriptor and an eventfd that wakes its reader thread out of poll;
 * health, the listener, the reader thread, the counters and the close order are
 * {@link AbstractNetworkBackend}'s. Writes go to the device at once (it never queues): a frame the
 * host refuses is dropped and counted.
 */
public final class TapBackend extends AbstractNetworkBackend {
    private static final Logger LOG = LoggerFactory.getLogger(TapBackend.class);

    /** {@code TUNSETIFF = _IOW('T', 202, int)}. */
    static final long TUNSETIFF = 0x400454caL;
    static final short IFF_TAP = 0x0002;
    static final short IFF_NO_PI = 0x1000;
    /**
     * {@code IFNAMSIZ - 1}: the longest interface name the kernel's {@code struct ifreq} holds (the spec
     * validator's {@code LinuxLimits.MAX_INTERFACE_NAME_BYTES}; the backend's tests check they agree).
     */
    public static final int MAX_NAME_BYTES = 15;
    static final int IFREQ_BYTES = 40;
    static final Path TUN_DEVICE = Path.of("/dev/net/tun");
    static final Path SYS_CLASS_NET = Path.of("/sys/class/net");
    private static final int INBOX_SLOTS = 8;

    private final String name;
    private final OwnedFd tap;
    private final EventFd wakeup;
    private final ByteBuffer sendBuffer = ByteBuffer.allocateDirect(MAX_FRAME_BYTES);
    private final Pointer sendPointer = Native.getDirectBufferPointer(sendBuffer);
    private final Memory pollFds = new Memory(16);
    private final Object sendLock = new Object();
    private volatile long framesSent;
    private volatile long framesDroppedOnSend;

    private TapBackend(String name, OwnedFd tap, EventFd wakeup) {
        super(INBOX_SLOTS);
        this.name = name;
        this.tap = tap;
        this.wakeup = wakeup;
    }

    /**
     * Attaches to the existing TAP device {@code name}.
     *
     * @throws NetworkBackendException when the device does not exist or is no TAP
     *     ({@link Reason#TAP_MISSING}), when this process may not open /dev/net/tun or attach to
     *     the device ({@link Reason#TAP_PERMISSION}), or when another process holds it
     *     ({@link Reason#TAP_BUSY})
     */
    public static TapBackend open(String name) {
        checkName(name);
        checkExists(name);
        int fd = NetLibC.open(TUN_DEVICE.toString(), NetLibC.O_RDWR | NetLibC.O_NONBLOCK | NetLibC.O_CLOEXEC);
        if (fd == -1) {
            throw openFailure(Native.getLastError());
        }
        OwnedFd owned = new OwnedFd(fd, "tap " + name);
        EventFd wakeup = null;
        try {
            attach(fd, name);
            wakeup = EventFd.create(true);
            TapBackend backend = new TapBackend(name, owned, wakeup);
            LOG.info("attached to TAP device {}", name);
            return backend;
        } catch (RuntimeException e) {
            owned.close();
            if (wakeup != null) {
                wakeup.close();
            }
            throw e;
        }
    }

    /**
     * The MTU of host network interface {@code name} (from /sys/class/net), which a guest on that
     * TAP should use too; {@link GuestNetwork#DEFAULT_MTU} when it cannot be read or is out of range.
     */
    public static int hostMtu(String name) {
        checkName(name);
        Path file = SYS_CLASS_NET.resolve(name).resolve("mtu");
        try {
            int mtu = Integer.parseInt(Files.readString(file).trim());
            if (mtu >= GuestNetwork.MIN_MTU && mtu <= GuestNetwork.MAX_MTU) {
                return mtu;
            }
            LOG.warn("{} says MTU {}, outside {}..{}; using {}", file, mtu, GuestNetwork.MIN_MTU, GuestNetwork.MAX_MTU,
                    GuestNetwork.DEFAULT_MTU);
        } catch (IOException | NumberFormatException e) {
            LOG.debug("cannot read {}: {}; using MTU {}", file, e.toString(), GuestNetwork.DEFAULT_MTU);
        }
        return GuestNetwork.DEFAULT_MTU;
    }

    static void checkName(String name) {
        Objects.requireNonNull(name, "TAP device name");
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        boolean ok = bytes.length >= 1 && bytes.length <= MAX_NAME_BYTES && !name.equals(".") && !name.equals("..");
        for (int i = 0; ok && i < name.length(); i++) {
            char c = name.charAt(i);
            ok = c > 0x20 && c < 0x7f && c != '/' && c != ':';
        }
        if (!ok) {
            throw new NetworkBackendException(Reason.TAP_MISSING, "'" + name + "' is not a valid network interface name "
                    + "(1.." + MAX_NAME_BYTES + " printable characters, no '/', ':' or spaces)");
        }
    }

    private static void checkExists(String name) {
        Path sys = SYS_CLASS_NET.resolve(name);
        if (!Files.exists(sys)) {
            throw new NetworkBackendException(Reason.TAP_MISSING, "TAP device '" + name + "' does not exist: create it "
                    + "with 'ip tuntap add dev " + name + " mode tap user <your user>' and bring it up "
                    + "('ip link set " + name + " up'), or use user-mode networking (Net.user())");
        }
        Path flags = sys.resolve("tun_flags");
        if (!Files.exists(flags)) {
            throw new NetworkBackendException(Reason.TAP_MISSING, "network interface '" + name
                    + "' is not a TUN/TAP device: create a TAP with 'ip tuntap add dev <name> mode tap'");
        }
        try {
            String text = Files.readString(flags).trim();
            int value = Integer.decode(text);
            if ((value & IFF_TAP) == 0) {
                throw new NetworkBackendException(Reason.TAP_MISSING, "'" + name + "' is a TUN device (IP packets), "
                        + "not a TAP device (Ethernet frames): create it with 'mode tap'");
            }
        } catch (IOException | NumberFormatException e) {
            LOG.debug("cannot read {}: {}", flags, e.toString()); // TUNSETIFF will tell
        }
    }

    /** The error for {@code open("/dev/net/tun")} failing with {@code errno}. */
    static NetworkBackendException openFailure(int errno) {
        return switch (errno) {
            case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO -> new NetworkBackendException(Reason.TAP_MISSING,
                    TUN_DEVICE + " is missing (" + Errno.describe(errno) + "): load the tun module ('modprobe tun')");
            case Errno.EACCES, Errno.EPERM -> new NetworkBackendException(Reason.TAP_PERMISSION,
                    "no permission to open " + TUN_DEVICE + " (" + Errno.describe(errno) + "): make it accessible "
                            + "to your user (it is usually mode 0666) or use user-mode networking (Net.user())");
            default -> new NetworkBackendException(Reason.IO,
                    "open " + TUN_DEVICE + " failed: " + Errno.describe(errno));
        };
    }

    private static void attach(int fd, String name) {
        try (Memory ifreq = new Memory(IFREQ_BYTES)) {
            ifreq.clear();
            byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            ifreq.write(0, bytes, 0, bytes.length);
            ifreq.setShort(16, (short) (IFF_TAP | IFF_NO_PI));
            if (NetLibC.ioctl(fd, TUNSETIFF, ifreq) == -1) {
                throw attachFailure(name, Native.getLastError());
            }
        }
    }

    /** The error for {@code TUNSETIFF} on TAP device {@code name} failing with {@code errno}. */
    static NetworkBackendException attachFailure(String name, int errno) {
        return switch (errno) {
            case Errno.EPERM, Errno.EACCES -> new NetworkBackendException(Reason.TAP_PERMISSION,
                    "not allowed to attach to TAP device '" + name + "' (TUNSETIFF: " + Errno.describe(errno)
                            + "): it belongs to another user; recreate it for yours ('ip tuntap add dev " + name
                            + " mode tap user <your user>') or run with CAP_NET_ADMIN");
            case Errno.EBUSY -> new NetworkBackendException(Reason.TAP_BUSY, "TAP device '" + name
                    + "' is attached to another process (TUNSETIFF: EBUSY): give each guest its own TAP device");
            case Errno.EINVAL -> new NetworkBackendException(Reason.TAP_MISSING, "TAP device '" + name
                    + "' cannot be attached as a single-queue TAP without packet info (TUNSETIFF: EINVAL): "
                    + "recreate it with 'ip tuntap add dev " + name + " mode tap'");
            default -> new NetworkBackendException(Reason.IO, "TUNSETIFF on '" + name + "' failed: "
                    + Errno.describe(errno));
        };
    }

    @Override
    public String describe() {
        return "tap " + name;
    }

    public String name() {
        return name;
    }

    @Override
    public long framesSent() {
        return framesSent;
    }

    /** Frames the host refused on write. */
    @Override
    public long framesDroppedOnSend() {
        return framesDroppedOnSend;
    }

    // ---- the transport: a TAP descriptor ----

    @Override
    String readerName() {
        return "arrow-tap-" + name;
    }

    @Override
    boolean transmit(ByteBuffer frame) {
        int n = frame.remaining();
        synchronized (sendLock) {
            if (!tap.enter()) {
                return false;
            }
            try {
                sendBuffer.clear();
                sendBuffer.put(frame);
                long written = NetLibC.write(tap.fd(), sendPointer, n);
                if (written == n) {
                    framesSent++;
                    return true;
                }
                int errno = written < 0 ? Native.getLastError() : 0;
                if (written >= 0 || errno == Errno.EAGAIN || errno == Errno.EIO || errno == Errno.EINVAL) {
                    // A full queue, a device that is down, or a frame the host stack refused: lose this frame only.
                    framesDroppedOnSend++;
                    LOG.debug("{}: frame of {} bytes dropped by write: {}", describe(), n,
                            written < 0 ? Errno.describe(errno) : "short write " + written);
                    return false;
                }
                failed("write to the TAP device failed: " + Errno.describe(errno));
                return false;
            } finally {
                tap.exit();
            }
        }
    }

    @Override
    int readFrame(ByteBuffer slot) {
        while (true) {
            if (!waitReadable() || !tap.enter()) {
                return -1;
            }
            long n;
            int errno;
            try {
                n = NetLibC.read(tap.fd(), Native.getDirectBufferPointer(slot), slot.capacity());
                errno = n < 0 ? Native.getLastError() : 0;
            } finally {
                tap.exit();
            }
            if (n >= 0) {
                return (int) n;
            }
            if (errno != Errno.EAGAIN && errno != Errno.EINTR) {
                failed("read from the TAP device failed: " + Errno.describe(errno));
                return -1;
            }
        }
    }

    /** Waits until the TAP has a frame (true) or close() signalled the wakeup eventfd (false). */
    private boolean waitReadable() {
        while (!isClosed()) {
            if (!tap.enter()) {
                return false;
            }
            int ready;
            int errno;
            try {
                pollFds.setInt(0, tap.fd());
                pollFds.setShort(4, NetLibC.POLLIN);
                pollFds.setShort(6, (short) 0);
                pollFds.setInt(8, wakeup.fd());
                pollFds.setShort(12, NetLibC.POLLIN);
                pollFds.setShort(14, (short) 0);
                ready = NetLibC.poll(pollFds, 2, -1);
                errno = ready < 0 ? Native.getLastError() : 0;
            } finally {
                tap.exit();
            }
            if (ready < 0) {
                if (errno == Errno.EINTR) {
                    continue;
                }
                failed("poll on the TAP device failed: " + Errno.describe(errno));
                return false;
            }
            short wake = pollFds.getShort(14);
            if (wake != 0 || isClosed()) {
                return false;
            }
            short revents = pollFds.getShort(6);
            if ((revents & (NetLibC.POLLERR | NetLibC.POLLHUP | NetLibC.POLLNVAL)) != 0) {
                failed("the TAP device reported an error (poll revents 0x" + Integer.toHexString(revents & 0xffff)
                        + "); was it deleted?");
                return false;
            }
            if ((revents & NetLibC.POLLIN) != 0) {
                return true;
            }
        }
        return false;
    }

    /** Signals the wakeup eventfd: the reader's poll returns. */
    @Override
    void interruptReader() {
        wakeup.write(1);
    }

    /** Closes the TAP descriptor; waits for a read or poll in flight. */
    @Override
    void closeTransport() {
        tap.close();
    }

    /** The eventfd and the poll array, which only the reader uses. */
    @Override
    void releaseReaderResources() {
        wakeup.close();
        pollFds.close();
    }
}
