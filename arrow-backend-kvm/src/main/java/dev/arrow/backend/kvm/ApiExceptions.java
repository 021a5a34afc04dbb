package dev.arrow.backend.kvm;

import dev.arrow.ArrowException;
import dev.arrow.GuestFailureException;
import dev.arrow.InvalidBinaryException;
import dev.arrow.InvalidKernelException;
import dev.arrow.KernelNotFoundException;
import dev.arrow.KvmPermissionException;
import dev.arrow.KvmUnavailableException;
import dev.arrow.NetworkSetupException;
import dev.arrow.VmmException;
import dev.arrow.image.ImageException;
import dev.arrow.image.elf.BinaryCheckException;
import dev.arrow.image.kernel.KernelFormatException;
import dev.arrow.image.kernel.KernelLookupException;
import dev.arrow.kvm.HostKvmUnusableException;
import dev.arrow.kvm.KvmAccessDeniedException;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.loader.KernelLoadException;
import dev.arrow.kvm.net.NetworkBackendException;

/**
 * The one place where the lower layers' exceptions (arrow-image's {@link ImageException}s, arrow-kvm's
 * {@link KvmException}s) become the API's {@link ArrowException}s. Each keeps its message, which already
 * names the problem and the fix, and is the cause of the one it becomes.
 */
final class ApiExceptions {

    private ApiExceptions() {
    }

    /** The API's exception for a failure of the image layer: checking the binary, finding or checking the kernel, assembling. */
    static ArrowException of(ImageException e) {
        if (e instanceof BinaryCheckException) {
            return new InvalidBinaryException(e.getMessage(), e);
        }
        if (e instanceof KernelLookupException) {
            return new KernelNotFoundException(e.getMessage(), e);
        }
        if (e instanceof KernelFormatException) {
            return new InvalidKernelException(e.getMessage(), e);
        }
        return new GuestFailureException("assembling the guest image failed: " + e.getMessage(), e);
    }

    /** The API's exception for a failure of the VMM: opening KVM, loading the kernel, building the VM, the network. */
    static ArrowException of(KvmException e) {
        if (e instanceof KvmAccessDeniedException) {
            return new KvmPermissionException(e.getMessage(), e);
        }
        if (e instanceof HostKvmUnusableException) {
            return new KvmUnavailableException(e.getMessage(), e);
        }
        if (e instanceof KernelLoadException) {
            return new InvalidKernelException(e.getMessage(), e);
        }
        if (e instanceof NetworkBackendException network) {
            return new NetworkSetupException(reasonOf(network.reason()), e.getMessage(), e);
        }
        return new VmmException(e.getMessage(), e);
    }

    /** The public reason of a network backend's failure; a reason added to the backend must be mapped here. */
    static NetworkSetupException.Reason reasonOf(NetworkBackendException.Reason reason) {
        return switch (reason) {
            case PASST_MISSING -> NetworkSetupException.Reason.PASST_MISSING;
            case PASST_FAILED_TO_START -> NetworkSetupException.Reason.PASST_FAILED_TO_START;
            case PORT_IN_USE -> NetworkSetupException.Reason.PORT_IN_USE;
            case BIND_ADDRESS -> NetworkSetupException.Reason.BIND_ADDRESS;
            case NO_HOST_ROUTE -> NetworkSetupException.Reason.NO_HOST_ROUTE;
            case TAP_MISSING -> NetworkSetupException.Reason.TAP_MISSING;
            case TAP_PERMISSION -> NetworkSetupException.Reason.TAP_PERMISSION;
            case TAP_BUSY -> NetworkSetupException.Reason.TAP_BUSY;
            case IO -> NetworkSetupException.Reason.IO;
        };
    }
}
