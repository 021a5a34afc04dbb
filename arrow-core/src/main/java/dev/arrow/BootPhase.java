package dev.arrow;

/**
 * The milestones of an arrow's life that {@link BootTimeline} records, in their usual order.
 * Host phases are stamped with the host's monotonic clock when Arrow (or its VMM) reaches them;
 * guest phases are reported by the guest's init (its boot marks, which the backend maps to these
 * phases) with its own uptime (CLOCK_BOOTTIME) and are also stamped with the host clock when they arrive.
 */
public enum BootPhase {
    /** {@link Arrow#start()} was called. The origin of every host offset. */
    START(false),
    /** The spec is validated and the host files it names are readable. */
    SPEC_VALIDATED(false),
    /**
     * The guest image (initramfs layout with init, app and spec; kernel command line) is built; its bytes
     * are written into guest memory before {@link #KERNEL_LOADED}.
     */
    IMAGE_ASSEMBLED(false),
    /** The VM exists in the host's KVM (KVM_CREATE_VM returned). */
    VM_CREATED(false),
    /** Kernel, command line, initramfs and boot structures are in guest memory. */
    KERNEL_LOADED(false),
    /** The boot vCPU enters the guest for the first time (its first KVM_RUN). */
    FIRST_KVM_RUN(false),
    /**
     * A clone's VM runs, restored from its {@link ArrowTemplate}'s frozen guest: a clone has this phase
     * instead of {@link #IMAGE_ASSEMBLED}, {@link #VM_CREATED}, {@link #KERNEL_LOADED}, {@link #FIRST_KVM_RUN},
     * {@link #INIT_STARTED} and {@link #IMAGE_CHECKED} (its template went through them once).
     */
    CLONED(false),
    /** The guest's init (PID 1) started. */
    INIT_STARTED(true),
    /** init checked every file of the image against its manifest (they arrived whole). */
    IMAGE_CHECKED(true),
    /** The app's execve succeeded. */
    APP_EXECUTED(true),
    /** The first byte of the app's output (or of the console, with debug output) reached the host. */
    FIRST_OUTPUT(false),
    /** init saw the app end. */
    APP_EXITED(true),
    /** init is about to power the VM off. */
    GUEST_HALTING(true),
    /** The guest has ended and the host knows how (or the VM was stopped). */
    EXITED(false);

    private final boolean guestPhase;

    BootPhase(boolean guestPhase) {
        this.guestPhase = guestPhase;
    }

    /** True for phases the guest reports (they carry a guest uptime). */
    public boolean isGuestPhase() {
        return guestPhase;
    }

    /** Lower-case, dash-separated, e.g. {@code first-kvm-run}: the name in logs, JFR and reports. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
