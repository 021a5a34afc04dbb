package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.GuestMemoryException;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link GuestMemory} decorator for tests: before every access it checks the range itself and
 * records any attempt outside guest RAM (then fails it the way real memory would). A device that
 * validates guest input completely never produces a record.
 */
public final class WatchedMemory extends ForwardingGuestMemory {
    private final List<String> violations = new ArrayList<>();
    private long accesses;

    public WatchedMemory(GuestMemory delegate) {
        super(delegate);
    }

    public List<String> violations() {
        return violations;
    }

    public long accesses() {
        return accesses;
    }

    private void check(GuestAddress address, long length) {
        accesses++;
        if (!delegate().isValid(address, length)) {
            if (violations.size() < 20) {
                // [0] check, [1] beforeRead or beforeWrite, [2] the access, [3] its caller
                violations.add(address + "+" + length + " at " + new Throwable().getStackTrace()[3]);
            }
            throw new GuestMemoryException(address, length, "outside guest RAM (recorded by the test)");
        }
    }

    @Override
    void beforeRead(GuestAddress address, long length) {
        check(address, length);
    }

    @Override
    void beforeWrite(GuestAddress address, long length) {
        check(address, length);
    }
}
