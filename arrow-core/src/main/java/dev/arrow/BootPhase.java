package dev.arrow;

import java.util.Optional;

/**
 * The milestones of an arrow's life that {@link BootTimeline} records, in their usual order.
 * Host phases are stamped with the host's monotonic clock when Arrow (or its VMM) reaches them;
 * guest phases are marks that the guest's init reports with its own uptime (CLOCK_BOOTTIME)
 * and are also stamped with the host clock when they arrive.
 */
public enum BootPhase {
    /** {@link Arrow#start()} was called. The origin of every host offset. */
    START(null),
    /** The spec is validated and the host files it names are readable. */
    SPEC_VALIDATED(null),
    /**
     * The guest image (initramfs layout with init, app and spec; kernel command line) is built; its bytes
     * are written into guest memory before {@link #KERNEL_LOADED}.
     */
    IMAGE_ASSEMBLED(null),
    /** The VM exists in the host's KVM (KVM_CREATE_VM returned). */
    VM_CREATED(null),
    /** Kernel, command line, initramfs and boot structures are in guest memory. */
    KERNEL_LOADED(null),
    /** The boot vCPU enters the guest for the first time (its first KVM_RUN). */
    FIRST_KVM_RUN(null),
    /** The guest's init (PID 1) started: its mark {@code init-start}. */
    INIT_STARTED("init-start"),
    /** init checked every file of the image against its manifest (they arrived whole): its mark {@code image-checked}. */
    IMAGE_CHECKED("image-checked"),
    /** The app's execve succeeded: init's mark {@code app-exec}. */
    APP_EXECUTED("app-exec"),
    /** The first byte of the app's output (or of the console, with debug output) reached the host. */
    FIRST_OUTPUT(null),
    /** init saw the app end: its mark {@code app-exit}. */
    APP_EXITED("app-exit"),
    /** init is about to power the VM off: its mark {@code halt}. */
    GUEST_HALTING("halt"),
    /** The guest has ended and the host knows how (or the VM was stopped). */
    EXITED(null);

    private final String guestMark;

    BootPhase(String guestMark) {
        this.guestMark = guestMark;
    }

    /** True for phases the guest reports (they carry a guest uptime). */
    public boolean isGuestPhase() {
        return guestMark != null;
    }

    /** The name of init's {@code arrow-mark} record for a guest phase; empty for host phases. */
    public Optional<String> guestMark() {
        return Optional.ofNullable(guestMark);
    }

    /** The guest phase that init reports as {@code arrow-mark <name> ...}, if any. */
    public static Optional<BootPhase> ofGuestMark(String name) {
        for (BootPhase p : values()) {
            if (p.guestMark != null && p.guestMark.equals(name)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Lower-case, dash-separated, e.g. {@code first-kvm-run}: the name in logs, JFR and reports. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
