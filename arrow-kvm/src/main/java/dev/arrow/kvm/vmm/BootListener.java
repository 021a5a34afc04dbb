package dev.arrow.kvm.vmm;

/**
 * Hears the {@link BootEvent}s of one VM, with the {@link System#nanoTime()} at which each was
 * reached. Called on the thread that reached it (the builder's for VM_CREATED and KERNEL_LOADED,
 * the boot vCPU's for FIRST_RUN), so it must be quick and must not block. An exception it throws
 * is logged and otherwise ignored: telemetry never stops a guest.
 */
@FunctionalInterface
public interface BootListener {
    /** A listener that ignores every event. */
    BootListener NONE = (event, nanoTime) -> { };

    void reached(BootEvent event, long nanoTime);
}
