package dev.arrow.kvm.memory;

/**
 * A guest memory access outside guest RAM (or one whose length wraps). The guest gave a bad
 * address: the device or vCPU that saw it stops the guest with this reason.
 */
public final class GuestMemoryException extends RuntimeException {
    private final GuestAddress address;
    private final long length;

    public GuestMemoryException(GuestAddress address, long length, String reason) {
        super(String.format("guest memory access at %s (length %d): %s", address, length, reason));
        this.address = address;
        this.length = length;
    }

    public GuestAddress address() {
        return address;
    }

    public long length() {
        return length;
    }
}
