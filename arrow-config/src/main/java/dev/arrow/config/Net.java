package dev.arrow.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The guest's network: {@link #none()} (the default: loopback only), {@link #user()} (user-mode
 * networking with host ports forwarded into the guest) or {@link #tap(String)} (an existing host tap
 * device). Immutable; {@link User#forward(int, int)}, {@link User#allowHostLoopback()} and
 * {@link User#capture(Path)} return new values. What a guest can reach in each mode:
 * docs/networking.md, "Trust boundary".
 */
public sealed interface Net permits Net.None, Net.User, Net.Tap {

    /** No network device; the guest has loopback only. */
    static None none() {
        return None.INSTANCE;
    }

    /**
     * User-mode networking without forwards (add them with {@link User#forward(int, int)}), the
     * host's loopback out of the guest's reach (see {@link User#allowHostLoopback()}).
     */
    static User user() {
        return new User(List.of(), Optional.empty(), false);
    }

    /** The host tap device {@code name}, which must exist when the guest starts. */
    static Tap tap(String name) {
        return new Tap(name);
    }

    /** Name of the mode as written in JSON ({@code "none"}, {@code "user"}, {@code "tap"}). */
    String mode();

    /** No network device. */
    record None() implements Net {
        static final None INSTANCE = new None();

        @Override
        public String mode() {
            return "none";
        }
    }

    /**
     * User-mode networking: the guest reaches the outside through the host's sockets; host ports in
     * {@code forwards} are forwarded to guest ports, each listening on its host address (the host's
     * loopback unless given). With {@code hostLoopback}, the guest reaches the host's loopback
     * (127.0.0.1) at the gateway address 10.0.2.2; without it (the default) it does not. With
     * {@code capture}, every frame the guest sends or receives is written to that host file in pcap
     * format (for Wireshark or tcpdump), complete when the arrow has closed.
     */
    record User(List<PortForward> forwards, Optional<Path> capture, boolean hostLoopback) implements Net {
        public User {
            forwards = List.copyOf(forwards);
            Objects.requireNonNull(capture, "capture");
        }

        /**
         * This network, with the guest's traffic captured to {@code pcapFile} (replaced if it exists).
         * Meant for diagnosing a network problem: every frame costs a write.
         */
        public User capture(Path pcapFile) {
            return new User(forwards, Optional.of(Objects.requireNonNull(pcapFile, "pcapFile")), hostLoopback);
        }

        /**
         * This network, with the host's loopback reachable from the guest: a connection or datagram
         * to the gateway address 10.0.2.2 reaches 127.0.0.1 on the host, so the guest can use any
         * service that listens only there (databases, debug and management ports). Only for guests
         * you trust with those. Without this, a guest's connection to the gateway is refused at once,
         * its other traffic to the gateway and its frames to 127.0.0.0/8 are dropped; answers to host
         * programs that reach it through a forward (TCP, and UDP to a forwarded port) get back either
         * way.
         */
        public User allowHostLoopback() {
            return new User(forwards, capture, true);
        }

        /**
         * This network plus a TCP forward from {@code hostPort} on the host's loopback to {@code guestPort};
         * host port 0 ({@link PortForward#ANY_FREE_PORT}) takes a free port when the arrow starts.
         */
        public User forward(int hostPort, int guestPort) {
            return with(PortForward.tcp(hostPort, guestPort));
        }

        /**
         * This network plus a TCP forward from {@code hostPort} on {@code hostAddress} to
         * {@code guestPort}: {@link PortForward#ALL_INTERFACES} ("0.0.0.0") makes the guest's port
         * reachable from other machines, an address of this host from the networks behind it.
         */
        public User forward(String hostAddress, int hostPort, int guestPort) {
            return with(PortForward.tcp(hostAddress, hostPort, guestPort));
        }

        /** This network plus a UDP forward from {@code hostPort} on the host's loopback to {@code guestPort}. */
        public User forwardUdp(int hostPort, int guestPort) {
            return with(PortForward.udp(hostPort, guestPort));
        }

        /** This network plus a UDP forward from {@code hostPort} on {@code hostAddress} to {@code guestPort}. */
        public User forwardUdp(String hostAddress, int hostPort, int guestPort) {
            return with(PortForward.udp(hostAddress, hostPort, guestPort));
        }

        /** This network plus {@code forward}. */
        public User with(PortForward forward) {
            Objects.requireNonNull(forward, "forward");
            List<PortForward> more = new ArrayList<>(forwards);
            more.add(forward);
            return new User(more, capture, hostLoopback);
        }

        @Override
        public String mode() {
            return "user";
        }
    }

    /** An existing host tap device, attached to the guest's network card. */
    record Tap(String name) implements Net {
        public Tap {
            Objects.requireNonNull(name, "name");
        }

        @Override
        public String mode() {
            return "tap";
        }
    }
}
