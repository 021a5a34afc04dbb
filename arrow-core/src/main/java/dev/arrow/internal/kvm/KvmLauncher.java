package dev.arrow.internal.kvm;

import dev.arrow.ArrowException;
import dev.arrow.GuestFailureException;
import dev.arrow.InvalidBinaryException;
import dev.arrow.KernelNotFoundException;
import dev.arrow.KvmPermissionException;
import dev.arrow.KvmUnavailableException;
import dev.arrow.NoHardwareVirtualizationException;
import dev.arrow.VmmException;
import dev.arrow.config.ArrowSpec;
import dev.arrow.image.ImageException;
import dev.arrow.image.elf.StaticBinaryCheck;
import dev.arrow.image.kernel.GuestKernel;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/**
 * The KVM backend: checks the host and the binary, assembles the guest image and boots it
 * through Arrow's own VMM (arrow-kvm). Registered through {@link java.util.ServiceLoader}.
 */
public final class KvmLauncher implements ArrowLauncher {
    private static final Logger LOG = LoggerFactory.getLogger(KvmLauncher.class);
    private static final Path DEV_KVM = Path.of("/dev/kvm");

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
        checkHost(HostKvm.detect());
        GuestImage image;
        try {
            StaticBinaryCheck.check(spec.binary());
            GuestKernel kernel = spec.kernel().map(KernelLocator::userSupplied)
                    .orElseGet(() -> KernelLocator.fromEnvironment().locate());
            image = GuestImage.assemble(spec, kernel.path());
        } catch (dev.arrow.image.elf.InvalidBinaryException e) {
            throw new InvalidBinaryException(e.getMessage(), e);
        } catch (dev.arrow.image.kernel.KernelNotFoundException e) {
            throw new KernelNotFoundException(e.getMessage(), e);
        } catch (ImageException e) {
            throw new GuestFailureException("assembling the guest image failed: " + e.getMessage(), e);
        }
        LOG.debug("booting {} with {} MiB, {} vCPU(s), initramfs {} bytes, kernel {}", spec.binary(),
                spec.memoryBytes() >> 20, spec.cpus(), image.initramfs().length, image.kernel());
        KvmSession session = new KvmSession(stdout);
        VmConfig config = VmConfig.builder()
                .kernel(image.kernel())
                .initrd(image.initramfs())
                .commandLine(image.commandLine())
                .memoryBytes(spec.memoryBytes())
                .vcpuCount(spec.cpus())
                .serialOutput(session.serialOutput())
                .statusListener(session::onStatusLine)
                .debug(spec.debugConsole())
                .build();
        RunningVm vm;
        try {
            vm = VmBuilder.start(config);
        } catch (KvmException e) {
            throw translate(e);
        }
        session.attach(vm);
        return session;
    }

    /** Fails with the error a user can act on when this host cannot boot a Linux guest. */
    static void checkHost(HostKvm host) {
        switch (host) {
            case NONE -> throw KvmUnavailableException.missing(DEV_KVM);
            case NO_PERMISSION -> throw KvmPermissionException.denied(DEV_KVM, System.getProperty("user.name"));
            case PVM -> throw NoHardwareVirtualizationException.pvm();
            default -> { }
        }
    }

    private static ArrowException translate(KvmException e) {
        if (e instanceof dev.arrow.kvm.KvmPermissionException) {
            return new KvmPermissionException(e.getMessage(), e);
        }
        if (e instanceof dev.arrow.kvm.KvmUnavailableException) {
            return new KvmUnavailableException(e.getMessage(), e);
        }
        if (e instanceof dev.arrow.kvm.loader.KernelLoadException) {
            return new KernelNotFoundException(e.getMessage(), e);
        }
        return new VmmException(e.getMessage(), e);
    }
}
