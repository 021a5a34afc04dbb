package dev.arrow.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The guest's network: {@link #none()} (the default: loopback only), {@link #user()} (user-mode
 * networking with host ports forwarded into the guest) or {@link #tap(String)} (an existing host tap
 * device). Immutable; {@link User#forward(int, int)} returns a new value.
 */
public sealed interface Net permits Net.None, Net.User, Net.Tap {

    /** No network device; the guest has loopback only. */
    static None none() {
        return None.INSTANCE;
    }

    /** User-mode networking without forwards; add them with {@link User#forward(int, int)}. */
    static User user() {
        return new User(List.of());
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
     * {@code forwards} are forwarded to guest ports.
     */
    record User(List<PortForward> forwards) implements Net {
        public User {
            forwards = List.copyOf(forwards);
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
            return new User(more);
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
