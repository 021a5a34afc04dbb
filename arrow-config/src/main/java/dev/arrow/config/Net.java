package dev.arrow.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The guest's network: {@link #none()} (the default: loopback only), {@link #user()} (user-mode
 * networking with host ports forwarded into the guest) or {@link #tap(String)} (an existing host tap
 * device). Immutable; {@link User#forward(int, int)} and {@link User#capture(Path)} return new values.
 */
public sealed interface Net permits Net.None, Net.User, Net.Tap {

    /** No network device; the guest has loopback only. */
    static None none() {
        return None.INSTANCE;
    }

    /** User-mode networking without forwards; add them with {@link User#forward(int, int)}. */
    static User user() {
        return new User(List.of(), Optional.empty());
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
     * {@code forwards} are forwarded to guest ports. With {@code capture}, every frame the guest
     * sends or receives is written to that host file in pcap format (for Wireshark or tcpdump),
     * complete when the arrow has closed.
     */
    record User(List<PortForward> forwards, Optional<Path> capture) implements Net {
        public User {
            forwards = List.copyOf(forwards);
            Objects.requireNonNull(capture, "capture");
        }

        /**
         * This network, with the guest's traffic captured to {@code pcapFile} (replaced if it exists).
         * Meant for diagnosing a network problem: every frame costs a write.
         */
        public User capture(Path pcapFile) {
            return new User(forwards, Optional.of(Objects.requireNonNull(pcapFile, "pcapFile")));
        }

        /** This network plus a TCP forward from {@code hostPort} to {@code guestPort}. */
        public User forward(int hostPort, int guestPort) {
            return with(PortForward.tcp(hostPort, guestPort));
        }

        /** This network plus a UDP forward from {@code hostPort} to {@code guestPort}. */
        public User forwardUdp(int hostPort, int guestPort) {
            return with(PortForward.udp(hostPort, guestPort));
        }

        /** This network plus {@code forward}. */
        public User with(PortForward forward) {
            Objects.requireNonNull(forward, "forward");
            List<PortForward> more = new ArrayList<>(forwards);
            more.add(forward);
            return new User(more, capture);
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
