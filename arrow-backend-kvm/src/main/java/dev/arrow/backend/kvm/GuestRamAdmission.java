package dev.arrow.backend.kvm;

import dev.arrow.HostMemoryException;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Admits a new guest only if its RAM fits what the host can still give, counting what this JVM's
 * running guests may still take: each may fill its whole RAM, and the host has already paid for
 * what they touched. So {@code new + sum(promised - resident) <= room * overcommit}, where room is
 * {@link HostMemory#roomBytes()} (MemAvailable, and the memory cgroup's remainder) and overcommit is
 * 1 unless the JVM says otherwise ({@value #OVERCOMMIT_PROPERTY}, e.g. 10 for dense hosts whose
 * guests stay small). One ledger per JVM ({@link #JVM}); thread-safe.
 */
final class GuestRamAdmission {
    /** System property: how many times the host's room guests may be promised (a number, at least 1). */
    static final String OVERCOMMIT_PROPERTY = "arrow.memoryOvercommit";
    static final GuestRamAdmission JVM = new GuestRamAdmission();
    private static final long MiB = 1 << 20;

    private final Set<Reservation> live = new HashSet<>();

    /** A ledger of its own (tests); arrows use {@link #JVM}. */
    GuestRamAdmission() {
    }

    /** One admitted guest's RAM; {@link #close()} when the guest has ended. */
    final class Reservation implements AutoCloseable {
        private final long bytes;
        private volatile LongSupplier resident = () -> 0;

        private Reservation(long bytes) {
            this.bytes = bytes;
        }

        /** Where the guest's resident RAM can be read once it runs (what the host already paid for). */
        void residentFrom(LongSupplier residentBytes) {
            this.resident = residentBytes;
        }

        long untouched() {
            long r;
            try {
                r = resident.getAsLong();
            } catch (RuntimeException e) {
                r = 0;
            }
            return Math.max(0, bytes - Math.max(0, r));
        }

        @Override
        public void close() {
            synchronized (GuestRamAdmission.this) {
                live.remove(this);
            }
        }
    }

    /**
     * Reserves {@code bytes} of guest RAM, or refuses.
     *
     * @param host       the host's memory now; empty when it cannot be read (then nothing is checked)
     * @param overcommit how many times the room may be promised (at least 1)
     * @throws HostMemoryException naming the figures and the ways out
     */
    synchronized Reservation admit(long bytes, Optional<HostMemory> host, double overcommit) {
        if (host.isPresent()) {
            HostMemory h = host.get();
            long room = (long) Math.min(Long.MAX_VALUE, h.roomBytes() * overcommit);
            long promised = 0;
            for (Reservation r : live) {
                promised += r.bytes;
            }
            if (bytes + promised > room) {
                // the whole RAM of every running guest does not fit: count what they have not touched yet
                // (reading each guest's residency costs a page-table walk of its RAM, so only when needed)
                promised = 0;
                for (Reservation r : live) {
                    promised += r.untouched();
                }
            }
            if (bytes + promised > room) {
                throw new HostMemoryException("guest RAM of " + bytes / MiB + " MiB does not fit what this host can give: "
                        + h.roomBytes() / MiB + " MiB available (MemAvailable " + h.availableBytes() / MiB + " MiB; "
                        + h.cgroupDescription() + (h.cgroupRoomBytes().isPresent() ? " leaves "
                        + h.cgroupRoomBytes().getAsLong() / MiB + " MiB" : "") + ")"
                        + (overcommit != 1 ? " x " + overcommit + " (" + OVERCOMMIT_PROPERTY + ")" : "")
                        + ", of which " + promised / MiB + " MiB may still be taken by the " + live.size()
                        + " running arrow(s) of this JVM: ask for less memory, close arrows, or let guests be promised "
                        + "more than the host has with -D" + OVERCOMMIT_PROPERTY + "=<factor> (a guest that then fills "
                        + "its RAM may make the host's OOM killer end this JVM)");
            }
        }
        Reservation r = new Reservation(bytes);
        live.add(r);
        return r;
    }

    /** Running guests reserved now. */
    synchronized int liveCount() {
        return live.size();
    }

    /** The overcommit factor the JVM's system property asks for (1 without it). */
    static double overcommitFromSystemProperty() {
        String value = System.getProperty(OVERCOMMIT_PROPERTY);
        if (value == null || value.isBlank()) {
            return 1;
        }
        try {
            double factor = Double.parseDouble(value.trim());
            if (factor >= 1 && Double.isFinite(factor)) {
                return factor;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        throw new HostMemoryException("system property " + OVERCOMMIT_PROPERTY + "=" + value
                + " is not a number of at least 1: give e.g. -D" + OVERCOMMIT_PROPERTY + "=4, or leave it unset");
    }
}
