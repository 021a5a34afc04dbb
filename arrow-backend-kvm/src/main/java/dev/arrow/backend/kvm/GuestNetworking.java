package dev.arrow.backend.kvm;

import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.image.init.NetworkSettings;
import dev.arrow.kvm.net.FrameCapture;
import dev.arrow.kvm.net.GuestNetwork;
import dev.arrow.kvm.net.MacAddress;
import dev.arrow.kvm.net.NetworkBackend;
import dev.arrow.kvm.net.NetworkBackendException;
import dev.arrow.kvm.net.PasstBackend;
import dev.arrow.kvm.net.PortMapping;
import dev.arrow.kvm.net.TapBackend;
import dev.arrow.kvm.virtio.net.VirtioNet;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The guest's network for one arrow: the host backend chosen by the spec's {@link Net} (passt for
 * user mode, with the spec's forwards on their host addresses and the host's loopback in the guest's
 * reach only when the spec allows it; an existing tap device), the virtio-net device on top of it,
 * the capture of its traffic when the spec asks for one, the host port each forward got (a free one for
 * host port 0) and the addresses init gives eth0. {@link Net.None} has none of these.
 * Until the device is handed to the VMM, this object owns the backend and the capture: {@link #close()}
 * stops them (the VMM closes them through the device afterwards).
 */
final class GuestNetworking implements AutoCloseable {
    private final GuestNetwork plan;
    private final NetworkBackend backend;
    private final Optional<FrameCapture> capture;
    private final Map<PortForward, Integer> hostPorts;
    private VirtioNet device;

    private GuestNetworking(GuestNetwork plan, NetworkBackend backend, Optional<FrameCapture> capture,
                            Map<PortForward, Integer> hostPorts) {
        this.plan = plan;
        this.backend = backend;
        this.hostPorts = Map.copyOf(hostPorts);
        this.capture = capture;
    }

    /** Starts the host side of {@code net}; empty for {@link Net.None}. */
    static Optional<GuestNetworking> open(Net net) {
        try {
            if (net instanceof Net.User user) {
                GuestNetwork plan = GuestNetwork.userMode().withMtu(PasstBackend.GUEST_MTU);
                List<PortMapping> forwards = user.forwards().stream().map(GuestNetworking::mapping).toList();
                // the capture file is checked and created before passt starts, and removed if it does not
                Optional<FrameCapture> capture = user.capture().map(FrameCapture::open);
                PasstBackend passt = null;
                try {
                    passt = PasstBackend.start(PasstBackend.Options.of(plan, forwards).withHostLoopback(user.hostLoopback()));
                    Map<PortForward, Integer> ports = new LinkedHashMap<>();
                    for (int i = 0; i < forwards.size(); i++) {
                        ports.putIfAbsent(user.forwards().get(i), passt.forwards().get(i).hostPort());
                    }
                    return Optional.of(new GuestNetworking(plan, passt, capture, ports));
                } catch (RuntimeException | Error e) {
                    if (passt != null) {
                        passt.close();
                    }
                    capture.ifPresent(FrameCapture::discard);
                    throw e;
                }
            }
            if (net instanceof Net.Tap tap) {
                GuestNetwork plan = GuestNetwork.userMode().withMac(MacAddress.randomLocal())
                        .withMtu(TapBackend.hostMtu(tap.name()));
                return Optional.of(new GuestNetworking(plan, TapBackend.open(tap.name()), Optional.empty(), Map.of()));
            }
            return Optional.empty();
        } catch (NetworkBackendException e) {
            throw ApiExceptions.of(e);
        }
    }

    /** The spec's forward for the backend; the spec was validated, so its host address is a dotted IPv4 literal. */
    private static PortMapping mapping(PortForward f) {
        PortMapping.Transport transport = f.protocol() == PortForward.Protocol.UDP
                ? PortMapping.Transport.UDP : PortMapping.Transport.TCP;
        return new PortMapping(transport, GuestNetwork.ipv4(f.hostAddress()), f.hostPort(), f.guestPort());
    }

    /** The host port of each of the spec's forwards (a chosen one for host port 0); empty for a tap device. */
    Map<PortForward, Integer> hostPorts() {
        return hostPorts;
    }

    /**
     * The virtio-net device to register with the VMM (it starts the backend, and closes it when it is
     * closed); the same device on every call. It holds received frames until {@link #networkUp()}: the guest's
     * init has yet to configure eth0 ({@link VirtioNet#holdReceived()} says why).
     *
     * @throws IllegalStateException if {@link #restoredDevice} made it
     */
    synchronized VirtioNet device() {
        if (device == null) {
            device = new VirtioNet(plan.mac(), plan.mtu(), backend, capture);
            device.holdReceived();
        }
        return device;
    }

    /** The guest's init has configured eth0 (its mark net-up): the device delivers the frames it held. */
    void networkUp() {
        VirtioNet d;
        synchronized (this) {
            d = device;
        }
        if (d != null) {
            d.releaseReceived();
        }
    }

    /**
     * A template clone's virtio-net device: it continues from the template's {@code state} on this backend. Unless
     * {@code configured} (the template was frozen after its init had configured eth0), it holds received frames until
     * {@link #networkUp()}, as {@link #device()} does.
     *
     * @throws IllegalStateException if a device was made already, or the state's MAC address is not the plan's (the
     *     one passt was told when it started)
     */
    synchronized VirtioNet restoredDevice(VirtioNet.State state, boolean configured) {
        if (device != null) {
            throw new IllegalStateException("this network's device exists already");
        }
        // the guest is not told it has a new backend; passt was told the plan's MAC when it started (PasstBackend)
        if (!state.mac().equals(plan.mac())) {
            throw new IllegalStateException("the template's network card has MAC " + state.mac()
                    + ", the clone's network expects " + plan.mac());
        }
        device = VirtioNet.restore(state, backend, capture);
        if (!configured) {
            device.holdReceived();
        }
        return device;
    }

    /**
     * What init configures on eth0 for {@code net} (address, prefix, gateway, DNS; for passt, the TCP receive buffers' cap), known before any backend
     * starts; empty for {@link Net.None}.
     */
    static Optional<NetworkSettings> settingsFor(Net net) {
        if (net instanceof Net.None) {
            return Optional.empty();
        }
        GuestNetwork plan = GuestNetwork.userMode(); // tap differs in MAC and MTU, which init does not set
        NetworkSettings settings = new NetworkSettings(plan.address(), plan.prefixLength(), Optional.of(plan.gateway()), plan.dns());
        // passt's socket to us holds a few 64 KiB frames: the guest's window must stay below it (PasstBackend)
        return Optional.of(net instanceof Net.User ? settings.withTcpReceiveBuffer(PasstBackend.GUEST_TCP_RECEIVE_BUFFER) : settings);
    }

    /**
     * Stops the backend and removes the capture file (the arrow never ran); for failure paths before
     * the VMM owns the device. Idempotent.
     */
    @Override
    public void close() {
        try {
            backend.close();
        } finally {
            capture.ifPresent(FrameCapture::discard);
        }
    }
}
