package dev.arrow.kvm.virtio.console;

/**
 * What became of the guest's output on one port so far ({@link ConsolePort#outputCounters()}). Every byte the device
 * took out of the guest's transmit buffers was read by the host, dropped, or still waits for the host, so
 * {@code taken == read + dropped + waiting} whenever neither side is moving bytes.
 *
 * @param taken    bytes taken out of the guest's transmit buffers
 * @param salvaged of those, bytes taken when the driver reset the device while they were still in the guest's ring
 *                 (Linux resets it when it shuts down)
 * @param dropped  of those, bytes the host never got: output after the host stream ended or was closed, beyond the
 *                 salvage limit, or on a port that carries no guest output; each drop is logged at WARN
 * @param read     bytes the host's stream ({@link ConsolePort#fromGuest()}) has returned
 * @param waiting  bytes held for the host now: in the port's buffer or salvaged and not yet in it
 */
public record GuestOutputCounters(long taken, long salvaged, long dropped, long read, long waiting) {

    /** E.g. {@code taken 8388608 (salvaged 61340), read 8388608, dropped 0, waiting 0}. */
    @Override
    public String toString() {
        return "taken " + taken + " (salvaged " + salvaged + "), read " + read + ", dropped " + dropped + ", waiting "
                + waiting;
    }
}
