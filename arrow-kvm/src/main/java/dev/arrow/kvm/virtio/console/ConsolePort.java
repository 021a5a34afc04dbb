package dev.arrow.kvm.virtio.console;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * The host side of one virtio-console port: its id and name (the guest sees the name in
 * {@code /sys/class/virtio-ports/vport<dev>p<id>/name}) and one bounded stream in the port's
 * direction. A {@link Direction#FROM_GUEST} port gives the host an {@link InputStream} of what the
 * guest writes (like {@link Process#getInputStream()}); it ends after the guest closes the port or
 * stops. A {@link Direction#TO_GUEST} port gives an {@link OutputStream} whose bytes the guest
 * reads; closing it is end-of-file for the guest once the bytes are delivered.
 *
 * <p>Both streams block while their bounded buffer is full (or empty): that is the back-pressure.
 * Guest bytes on a port that carries no guest output are dropped and counted; {@link #outputCounters()} says what
 * became of a guest-to-host port's bytes.
 */
public final class ConsolePort {

    /** Which way the port carries data. */
    public enum Direction {
        /** Host to guest, e.g. the application's stdin. */
        TO_GUEST,
        /** Guest to host, e.g. the application's stdout or stderr. */
        FROM_GUEST
    }

    private final int id;
    private final String name;
    private final Direction direction;
    final DeviceHostPipe pipe;
    private final InputStream fromGuest;
    private final OutputStream toGuest;
    // guarded by the owning console's transport lock
    boolean guestClosed;
    /**
     * Guest output the driver had queued when it reset the device ({@link VirtioConsole#driverResetting}), taken out
     * of guest memory then and written to the host buffer as room comes, before anything newer. Guarded by itself.
     */
    final ArrayDeque<byte[]> salvaged = new ArrayDeque<>();
    // guarded by this
    private long takenBytes;
    private long salvagedBytes;
    private long droppedBytes;

    ConsolePort(int id, String name, Direction direction, int bufferBytes, Runnable hostActivity) {
        this.id = id;
        this.name = name;
        this.direction = direction;
        this.pipe = new DeviceHostPipe("virtio-console port " + id + " (" + name + ")", bufferBytes);
        this.fromGuest = direction == Direction.FROM_GUEST ? pipe.inputStream(hostActivity) : null;
        this.toGuest = direction == Direction.TO_GUEST ? pipe.outputStream(hostActivity) : null;
    }

    public int id() {
        return id;
    }

    public String name() {
        return name;
    }

    public Direction direction() {
        return direction;
    }

    /**
     * What the guest writes to this port.
     *
     * @throws IllegalStateException if this is a {@link Direction#TO_GUEST} port
     */
    public InputStream fromGuest() {
        if (fromGuest == null) {
            throw new IllegalStateException("port " + id + " (" + name + ") carries data to the guest; use toGuest()");
        }
        return fromGuest;
    }

    /**
     * Completes once a read of {@link #fromGuest()} would not block: the guest's first bytes have reached the host
     * buffer, its output has ended, or the host closed the stream. A host that reads only when there is something
     * to read starts its reader then, instead of keeping a thread blocked from the start. It completes on the
     * device's thread (or the closing one): what depends on it must not block.
     *
     * @throws IllegalStateException if this is a {@link Direction#TO_GUEST} port
     */
    public CompletableFuture<Void> fromGuestReadable() {
        fromGuest();
        return pipe.readable().copy();
    }

    /**
     * Runs {@code callback} once, as soon as a read of {@link #fromGuest()} would not block (the guest's bytes reached
     * the host buffer, its output ended, or the host closed the stream), unless a read would not block now: then it
     * returns false and keeps nothing. A host reader that leaves when the port has nothing to read asks for this
     * and comes back when called, so an arrow whose program is quiet holds no reader thread. The callback runs on the
     * device's thread (or the closing one): it must not block. One callback at a time.
     *
     * @return true if the callback was kept (nothing to read now)
     * @throws IllegalStateException if this is a {@link Direction#TO_GUEST} port, or an earlier callback still waits
     */
    public boolean callWhenReadable(Runnable callback) {
        fromGuest();
        return pipe.callWhenReadable(callback);
    }

    /**
     * Bytes for the guest to read; close it to send end-of-file.
     *
     * @throws IllegalStateException if this is a {@link Direction#FROM_GUEST} port
     */
    public OutputStream toGuest() {
        if (toGuest == null) {
            throw new IllegalStateException("port " + id + " (" + name + ") carries data from the guest; use fromGuest()");
        }
        return toGuest;
    }

    /** True once the host has seen (or will see, after the buffered bytes) the end of the guest's output. */
    public boolean isOutputEnded() {
        return direction == Direction.FROM_GUEST && pipe.isWriterClosed();
    }

    /**
     * Guest bytes dropped: written after the host closed {@link #fromGuest()}, after the stream
     * ended, or on a port that carries no guest output.
     */
    public synchronized long droppedBytes() {
        return droppedBytes + pipe.discardedBytes();
    }

    /** Guest bytes the device dropped itself (without the host-side discards {@link #droppedBytes()} adds). */
    synchronized long guestBytesDropped() {
        return droppedBytes;
    }

    synchronized void addDropped(long bytes) {
        droppedBytes += bytes;
    }

    /** Counts bytes the device took out of the guest's transmit buffers for this port ({@code salvaged}: at a reset). */
    synchronized void addTaken(long bytes, boolean salvaged) {
        takenBytes += bytes;
        if (salvaged) {
            salvagedBytes += bytes;
        }
    }

    /**
     * What became of the guest's output on this port so far: taken from the guest, read by the host, dropped, waiting.
     *
     * @throws IllegalStateException if this is a {@link Direction#TO_GUEST} port
     */
    public GuestOutputCounters outputCounters() {
        fromGuest();
        long salvageWaiting;
        synchronized (salvaged) {
            salvageWaiting = salvaged.stream().mapToLong(b -> b.length).sum();
        }
        synchronized (this) {
            return new GuestOutputCounters(takenBytes, salvagedBytes, droppedBytes + pipe.discardedBytes(),
                    pipe.readBytes(), pipe.available() + salvageWaiting);
        }
    }

    @Override
    public String toString() {
        return "port " + id + " (" + name + ", " + direction + ")";
    }
}
