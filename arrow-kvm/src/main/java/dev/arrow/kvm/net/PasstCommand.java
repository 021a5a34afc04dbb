package dev.arrow.kvm.net;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The command line that starts one passt process for one guest (passt 0.0~git20230309, Debian 12):
 *
 * <pre>
 * passt --foreground --one-off --ipv4-only
 *       --socket DIR/passt.sock
 *       --address 10.0.2.15 --netmask 24 --gateway 10.0.2.2 --dns-forward 10.0.2.3
 *       --no-dhcp
 *       -t none | -t HOST:GUEST ...     (one per TCP forward)
 *       -u none | -u HOST:GUEST ...     (one per UDP forward)
 *       [--runas 65534:65534]           (only when started by root)
 * </pre>
 *
 * {@code --foreground} keeps passt our child (same pid, no daemonising), {@code --one-off} makes
 * it exit as soon as our connection closes (also when this JVM dies), the addresses make it
 * treat the guest exactly as init configures it ({@link GuestNetwork}); the guest needs no DHCP.
 * {@code --dns-forward} names the first DNS server of the plan that lies inside the guest's
 * subnet (a virtual one, 10.0.2.3 by default): passt answers it by asking the host's resolver.
 * DNS servers outside the subnet are real ones the guest reaches like any other address.
 * {@code -t none}/{@code -u none} stop passt from forwarding UDP ports alongside TCP ones by
 * default. As root passt would drop to "nobody" on its own; naming the ids lets the caller give
 * that user the socket directory. Never {@code --pcap}: the device captures the guest's traffic
 * itself ({@link FrameCapture}). Never {@code --debug}: this passt dies of SIGSEGV in its
 * debug output of a TCP connection's state changes.
 */
public final class PasstCommand {
    /** The user and group passt runs as when started by root (Debian's nobody:nogroup). */
    public static final int NOBODY = 65534;

    private PasstCommand() {
    }

    /**
     * @param executable the passt program
     * @param socket     the path of the Unix socket passt listens on
     * @param runAs      the uid (and gid) passt switches to, when started by root
     */
    public static List<String> build(Path executable, Path socket, GuestNetwork network, List<PortMapping> forwards,
                                     OptionalInt runAs) {
        Objects.requireNonNull(executable, "executable");
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(forwards, "forwards");
        List<String> cmd = new ArrayList<>(List.of(executable.toString(),
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
        addForwards(cmd, "-t", forwards, PortMapping.Transport.TCP);
        addForwards(cmd, "-u", forwards, PortMapping.Transport.UDP);
        if (runAs.isPresent()) {
            cmd.add("--runas");
            cmd.add(runAs.getAsInt() + ":" + runAs.getAsInt());
        }
        return List.copyOf(cmd);
    }

    private static void addForwards(List<String> cmd, String option, List<PortMapping> forwards,
                                    PortMapping.Transport transport) {
        boolean any = false;
        for (PortMapping m : forwards) {
            if (m.transport() == transport) {
                cmd.add(option);
                cmd.add(m.hostPort() + ":" + m.guestPort());
                any = true;
            }
        }
        if (!any) {
            cmd.add(option);
            cmd.add("none");
        }
    }
}
