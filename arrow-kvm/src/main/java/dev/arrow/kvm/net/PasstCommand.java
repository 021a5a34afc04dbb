package dev.arrow.kvm.net;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The command line that starts one passt process for one guest (passt 0.0~git20230309, Debian 12),
 * through util-linux's {@code setpriv}:
 *
 * <pre>
 * setpriv --pdeathsig KILL
 *         [--reuid 65534 --regid 65534 --clear-groups]   (only when started by root)
 *         --
 * /bin/sh -c '[ "$PPID" = "$1" ] || exit 125; shift; exec "$@"' arrow-passt JVM-PID
 * passt --foreground --one-off --ipv4-only
 *       --socket DIR/passt.sock
 *       --address 10.0.2.15 --netmask 24 --gateway 10.0.2.2 --dns-forward 10.0.2.3
 *       --no-dhcp
 *       [--no-map-gw]                         (unless the guest may reach the host's loopback)
 *       -t none | -t ADDRESS/HOST:GUEST ...   (one per TCP forward)
 *       -u none | -u ADDRESS/HOST:GUEST ...   (one per UDP forward)
 * </pre>
 *
 * <p>{@code setpriv --pdeathsig KILL} makes the kernel kill passt when the thread that started it
 * ends, which {@link SpawnThread} makes the JVM's end: so passt dies with the JVM even before
 * Arrow has connected to it (after that, {@code --one-off} also ends it, as the JVM's end closes
 * the connection). The signal only covers a parent that dies after setpriv has set it: if the JVM
 * died in between, the child already belongs to another parent. So a shell, started with the
 * signal set, checks that its parent is still the JVM ({@code $PPID}, read when the shell starts)
 * and only then becomes passt; otherwise it exits with 125. Linux clears that signal when a process changes its user or group ids, so when
 * started by root, setpriv itself becomes nobody before it sets the signal and passt starts
 * unprivileged (passt would otherwise switch to nobody itself, with {@code --runas}, and lose the
 * signal). passt then isolates itself in a user namespace as it does for any unprivileged user;
 * neither keeps the privilege to bind host ports below 1024.
 *
 * <p>{@code --foreground} keeps passt our child (same pid, no daemonising). The addresses make it
 * treat the guest exactly as init configures it ({@link GuestNetwork}); the guest needs no DHCP.
 * {@code --dns-forward} names the first DNS server of the plan that lies inside the guest's subnet
 * (a virtual one, 10.0.2.3 by default): passt sends UDP queries to it on to the host's first
 * resolver, also when that resolver listens on the host's loopback, and with or without
 * {@code --no-map-gw}. DNS servers outside the subnet are real ones the guest reaches like any
 * other address. {@code --no-map-gw} stops passt from turning connections to the gateway address
 * into connections to the host's 127.0.0.1 ({@link HostLoopbackGuard} stops the guest's other way
 * there, {@link GatewayGuard} refuses connections to the gateway before passt sees them). Each forward names the host address it listens on (127.0.0.1 by default, see
 * {@link PortMapping}). {@code -t none}/{@code -u none} stop passt from forwarding UDP ports
 * alongside TCP ones by default. Never {@code --pcap}: the device captures the guest's traffic
 * itself ({@link FrameCapture}). Never {@code --debug}: this passt dies of SIGSEGV in its debug
 * output of a TCP connection's state changes.
 */
public final class PasstCommand {
    /** The user and group passt runs as when started by root (Debian's nobody:nogroup). */
    public static final int NOBODY = 65534;
    /** The exit status of the parent check when the JVM was gone before passt could start. */
    public static final int PARENT_GONE = 125;
    static final String SHELL = "/bin/sh";
    /** $1: the JVM's pid; the rest: passt's command line. */
    static final String PARENT_CHECK = "[ \"$PPID\" = \"$1\" ] || exit " + PARENT_GONE + "; shift; exec \"$@\"";

    private PasstCommand() {
    }

    /**
     * @param setpriv     util-linux's setpriv
     * @param executable  the passt program
     * @param socket      the path of the Unix socket passt listens on
     * @param network     the guest's addresses
     * @param forwards    host ports forwarded to the guest, each on its host address
     * @param hostLoopback whether the guest may reach the host's loopback through the gateway address
     * @param runAs       the uid (and gid) setpriv switches to before starting passt, when started by root
     * @param parentPid   the pid of the process that starts this command (this JVM's)
     */
    public static List<String> build(Path setpriv, Path executable, Path socket, GuestNetwork network,
                                     List<PortMapping> forwards, boolean hostLoopback, OptionalInt runAs,
                                     long parentPid) {
        Objects.requireNonNull(setpriv, "setpriv");
        Objects.requireNonNull(executable, "executable");
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(forwards, "forwards");
        Objects.requireNonNull(runAs, "runAs");
        List<String> cmd = new ArrayList<>(List.of(setpriv.toString(), "--pdeathsig", "KILL"));
        if (runAs.isPresent()) {
            String id = Integer.toString(runAs.getAsInt());
            cmd.addAll(List.of("--reuid", id, "--regid", id, "--clear-groups"));
        }
        cmd.add("--");
        cmd.addAll(List.of(SHELL, "-c", PARENT_CHECK, "arrow-passt", Long.toString(parentPid)));
        cmd.addAll(List.of(executable.toString(),
                "--foreground", "--one-off", "--ipv4-only",
                "--socket", socket.toString(),
                "--address", network.address().getHostAddress(),
                "--netmask", Integer.toString(network.prefixLength()),
                "--gateway", network.gateway().getHostAddress()));
        network.dns().stream().filter(network::inSubnet).findFirst().ifPresent(dns -> {
            cmd.add("--dns-forward");
            cmd.add(dns.getHostAddress());
        });
        cmd.add("--no-dhcp");
        if (!hostLoopback) {
            cmd.add("--no-map-gw");
        }
        addForwards(cmd, "-t", forwards, PortMapping.Transport.TCP);
        addForwards(cmd, "-u", forwards, PortMapping.Transport.UDP);
        return List.copyOf(cmd);
    }

    private static void addForwards(List<String> cmd, String option, List<PortMapping> forwards,
                                    PortMapping.Transport transport) {
        boolean any = false;
        for (PortMapping m : forwards) {
            if (m.transport() == transport) {
                cmd.add(option);
                cmd.add(m.hostAddress().getHostAddress() + "/" + m.hostPort() + ":" + m.guestPort());
                any = true;
            }
        }
        if (!any) {
            cmd.add(option);
            cmd.add("none");
        }
    }
}
