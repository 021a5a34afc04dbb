package dev.arrow;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What this host offers for running arrows, as the backend in use finds it: the answer of
 * {@link Arrow#hostSupport()}, printed by {@code arrow doctor}. Every problem is one sentence that names
 * what is missing and how to fix it, in the order to fix them (the host's KVM before the kernel).
 *
 * @param backend      the class name of the backend that probed the host; empty when no backend is on the
 *                     class path
 * @param kvm          the kind of KVM the host offers, whether or not this user may open it
 * @param kvmPermitted whether this JVM's user may open {@code /dev/kvm} for reading and writing
 * @param kernel       the guest kernel {@link Arrow#start()} boots when none is set; empty when it cannot be found
 * @param passt        the {@code passt} program that user-mode networking ({@code Net.user()}) starts; empty
 *                     when it is not installed
 * @param problems     one sentence per problem that stops every arrow from starting
 * @param limitations  one sentence per problem that stops some arrows only (no passt: no {@code Net.user()})
 */
public record HostSupport(Optional<String> backend, Kvm kvm, boolean kvmPermitted, Optional<Path> kernel,
                          Optional<Path> passt, List<String> problems, List<String> limitations) {

    /** The kinds of KVM a host can offer. */
    public enum Kvm {
        /** Intel VT-x ({@code kvm_intel}). */
        HARDWARE_INTEL(true, "hardware KVM (Intel VT-x, kvm_intel)"),
        /** AMD-V ({@code kvm_amd}). */
        HARDWARE_AMD(true, "hardware KVM (AMD-V, kvm_amd)"),
        /** PVM ({@code kvm_pvm}): tiny guests run, a Linux guest cannot reach user space. */
        PVM(false, "PVM, no hardware virtualization"),
        /** A {@code /dev/kvm} whose kind no loaded module or CPU flag reveals; assumed to boot Linux. */
        UNKNOWN(true, "KVM of an unknown kind"),
        /** No {@code /dev/kvm}. */
        NONE(false, "no /dev/kvm"),
        /** No backend looked at the host. */
        NOT_PROBED(false, "not probed: no backend");

        private final boolean canBootLinux;
        private final String description;

        Kvm(boolean canBootLinux, String description) {
            this.canBootLinux = canBootLinux;
            this.description = description;
        }

        /** Whether a KVM of this kind can boot a Linux guest to user space (given permission to open it). */
        public boolean canBootLinux() {
            return canBootLinux;
        }

        /** What this kind is, e.g. {@code hardware KVM (AMD-V, kvm_amd)}. */
        public String description() {
            return description;
        }
    }

    public HostSupport {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(kvm, "kvm");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(passt, "passt");
        problems = List.copyOf(problems);
        limitations = List.copyOf(limitations);
    }

    /** The answer when no backend is on the class path: {@code problem} says which artifact to add. */
    public static HostSupport noBackend(String problem) {
        return new HostSupport(Optional.empty(), Kvm.NOT_PROBED, false, Optional.empty(), Optional.empty(),
                List.of(problem), List.of());
    }

    /** The answer of a backend that does not report on the host ({@code backend}: its class name). */
    public static HostSupport notProbed(String backend) {
        return new HostSupport(Optional.of(backend), Kvm.NOT_PROBED, false, Optional.empty(), Optional.empty(),
                List.of(), List.of("the backend " + backend + " does not report what this host supports; whether"
                        + " an arrow starts shows at Arrow.start()"));
    }

    /** Whether {@code /dev/kvm} exists. */
    public boolean kvmPresent() {
        return kvm != Kvm.NONE && kvm != Kvm.NOT_PROBED;
    }

    /** Whether this JVM can boot a Linux guest: a KVM of a kind that can, which this user may open. */
    public boolean canBootLinux() {
        return kvmPermitted && kvm.canBootLinux();
    }

    /** Whether nothing stops an arrow from starting: no {@link #problems()}. */
    public boolean isReady() {
        return problems.isEmpty();
    }
}
