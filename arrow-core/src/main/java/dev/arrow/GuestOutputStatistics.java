package dev.arrow;

/**
 * What the VMM did with one output stream of the guest program so far ({@link VmStatistics#guestOutput()}): the bytes
 * it took from the guest, and of those the ones it handed on, dropped or still holds. When a stream arrives shorter
 * than the program wrote it, these say where the rest stayed: {@code fromGuest == handedOn + dropped + waiting} once
 * the stream has ended, and {@code delivered <= handedOn}.
 *
 * @param fromGuest bytes taken from the guest's side of the stream (e.g. out of its virtio queue)
 * @param salvaged  of those, bytes taken out of guest memory when the guest reset its device as it shut down, with
 *                  the stream's reader behind
 * @param dropped   of those, bytes never handed on (each drop is logged at WARN)
 * @param handedOn  of those, bytes handed to the backend's thread that writes the stream to its {@link Output}
 * @param waiting   of those, bytes the VMM holds now, not yet handed on
 * @param delivered bytes that thread has written to the {@link Output} (for a pipe: what {@code getInputStream()}
 *                  or {@code getErrorStream()} can read)
 */
public record GuestOutputStatistics(long fromGuest, long salvaged, long dropped, long handedOn, long waiting,
                                    long delivered) {
    public GuestOutputStatistics {
        if (fromGuest < 0 || salvaged < 0 || dropped < 0 || handedOn < 0 || waiting < 0 || delivered < 0) {
            throw new IllegalArgumentException("byte counts must not be negative");
        }
    }

    /** E.g. {@code from the guest 8388608 (salvaged 61340), handed on 8388608, dropped 0, waiting 0, delivered 8388608}. */
    @Override
    public String toString() {
        return "from the guest " + fromGuest + " (salvaged " + salvaged + "), handed on " + handedOn + ", dropped "
                + dropped + ", waiting " + waiting + ", delivered " + delivered;
    }
}
