package dev.arrow;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Counters of an arrow's microVM, as its backend reports them ({@link ArrowProcess#statistics()}).
 *
 * @param exitsByKind         vCPU exits handled by the VMM so far, by kind (e.g. {@code io-out},
 *                            {@code mmio-read}, {@code hlt}; {@code intr} counts the VMM's own
 *                            interruptions of KVM_RUN), summed over the vCPUs; final once the guest ended
 * @param residentGuestBytes  guest RAM resident in host memory now (pages touched); 0 once the VM is released
 * @param guestMemoryBytes    the guest's RAM size
 * @param serialOutputBytes   bytes the guest wrote to its serial port (the kernel's log with
 *                            {@code debugConsole()}; nothing at all on a quiet boot whose stdio is virtio)
 * @param guestOutput         what the VMM did with the program's stdout and stderr so far, by stream; empty when the
 *                            backend does not count it (the serial console)
 */
public record VmStatistics(Map<String, Long> exitsByKind, long residentGuestBytes, long guestMemoryBytes,
                           long serialOutputBytes, Map<OutputFrame.Stream, GuestOutputStatistics> guestOutput) {
    public VmStatistics {
        Objects.requireNonNull(exitsByKind, "exitsByKind");
        Objects.requireNonNull(guestOutput, "guestOutput");
        exitsByKind = Collections.unmodifiableMap(new TreeMap<>(exitsByKind));
        guestOutput = guestOutput.isEmpty() ? Map.of() : Collections.unmodifiableMap(new EnumMap<>(guestOutput));
        if (residentGuestBytes < 0 || guestMemoryBytes < 0 || serialOutputBytes < 0) {
            throw new IllegalArgumentException("memory figures must not be negative");
        }
    }

    /** All exits counted, of every kind. */
    public long totalExits() {
        return exitsByKind.values().stream().mapToLong(Long::longValue).sum();
    }
}
