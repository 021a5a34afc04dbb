package dev.arrow.backend.kvm;

import dev.arrow.HostSupport;
import dev.arrow.UnsupportedHostException;
import dev.arrow.image.ImageException;
import dev.arrow.image.kernel.KernelFormat;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.net.NetworkBackendException;
import dev.arrow.kvm.net.PasstBackend;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What this host offers the KVM backend ({@link KvmLauncher#hostSupport()}): the KVM {@link HostKvm} detects,
 * the default kernel {@link KernelLocator} finds, the passt program user-mode networking starts. Each problem is
 * the message of the error {@link KvmLauncher#launch} would throw for it, so the probe and a failed start say
 * the same thing; the host's KVM comes first, as in launch.
 */
final class KvmHostProbe {

    private KvmHostProbe() {
    }

    /** Probes this host. */
    static HostSupport probe() {
        return probe(HostKvm.detect(), HostKvm.detectKind(), KernelLocator.fromEnvironment(), PasstBackend::findInstalled);
    }

    /**
     * @param access what {@link HostKvm#detect()} says (may be {@link HostKvm#NO_PERMISSION})
     * @param kind   what {@link HostKvm#detectKind()} says (never {@link HostKvm#NO_PERMISSION})
     * @param kernels where the default kernel is looked for
     * @param passt  finds passt or throws the {@link NetworkBackendException} saying what to install
     */
    static HostSupport probe(HostKvm access, HostKvm kind, KernelLocator kernels, Supplier<Path> passt) {
        List<String> problems = new ArrayList<>();
        hostProblem(kind).ifPresent(problems::add);
        if (access == HostKvm.NO_PERMISSION) {
            hostProblem(access).ifPresent(problems::add);
        }
        Optional<Path> kernel = Optional.empty();
        try {
            Path path = kernels.locate().path();
            KernelFormat.check(path);
            kernel = Optional.of(path);
        } catch (ImageException e) {
            problems.add(ApiExceptions.of(e).getMessage());
        }
        List<String> limitations = new ArrayList<>();
        Optional<Path> passtProgram = Optional.empty();
        try {
            passtProgram = Optional.of(passt.get());
        } catch (NetworkBackendException e) {
            limitations.add(e.getMessage());
        }
        return new HostSupport(Optional.of(KvmLauncher.class.getName()), kvmOf(kind), access.usable(), kernel,
                passtProgram, problems, limitations);
    }

    /** The message of the error {@link KvmLauncher#checkHost} throws for {@code host}, if any. */
    private static Optional<String> hostProblem(HostKvm host) {
        try {
            KvmLauncher.checkHost(host);
            return Optional.empty();
        } catch (UnsupportedHostException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** The API's name for a KVM kind ({@code kind} is never {@link HostKvm#NO_PERMISSION}). */
    static HostSupport.Kvm kvmOf(HostKvm kind) {
        return switch (kind) {
            case HARDWARE_INTEL -> HostSupport.Kvm.HARDWARE_INTEL;
            case HARDWARE_AMD -> HostSupport.Kvm.HARDWARE_AMD;
            case PVM -> HostSupport.Kvm.PVM;
            case UNKNOWN -> HostSupport.Kvm.UNKNOWN;
            case NONE -> HostSupport.Kvm.NONE;
            case NO_PERMISSION -> throw new IllegalArgumentException("a kind of KVM, not a permission, expected");
        };
    }
}
