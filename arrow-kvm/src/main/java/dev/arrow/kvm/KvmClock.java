package dev.arrow.kvm;

import java.nio.ByteBuffer;

/**
 * The VM's kvmclock ({@code struct kvm_clock_data}, 48 bytes: u64 clock at 0, u32 flags at 8,
 * u64 realtime at 16, u64 host_tsc at 24): the guest's paravirtual clock in nanoseconds, and,
 * when {@code flags} say so, the host's real time and TSC read at the same instant.
 *
 * @param clockNanos    the kvmclock value the guest sees
 * @param flags         {@link #TSC_STABLE}, {@link #REALTIME}, {@link #HOST_TSC} as KVM reported them
 * @param realtimeNanos host CLOCK_REALTIME at that instant (valid with {@link #REALTIME})
 * @param hostTsc       host TSC at that instant (valid with {@link #HOST_TSC})
 */
public record KvmClock(long clockNanos, int flags, long realtimeNanos, long hostTsc) {
    public static final int SIZE = 48;
    /** The clock is stable across vCPUs (master clock in use); reported only, never accepted back. */
    public static final int TSC_STABLE = 2;
    /** {@code realtimeNanos} is valid. */
    public static final int REALTIME = 1 << 2;
    /** {@code hostTsc} is valid. */
    public static final int HOST_TSC = 1 << 3;

    private static final int OFF_CLOCK = 0;
    private static final int OFF_FLAGS = 8;
    private static final int OFF_REALTIME = 16;
    private static final int OFF_HOST_TSC = 24;

    /**
     * The value KVM_SET_CLOCK gets: the clock alone, no flags. Kernels before 5.16 refuse any
     * flag (Firecracker clears {@link #TSC_STABLE} for this reason), and with {@link #REALTIME}
     * newer ones advance the clock by the host time elapsed since the reading; without flags the
     * guest's clock continues from {@code clockNanos}.
     */
    public KvmClock forRestore() {
        return new KvmClock(clockNanos, 0, 0, 0);
    }

    static KvmClock decode(ByteBuffer src) {
        return new KvmClock(src.getLong(OFF_CLOCK), src.getInt(OFF_FLAGS), src.getLong(OFF_REALTIME),
                src.getLong(OFF_HOST_TSC));
    }

    void encode(ByteBuffer dst) {
        dst.putLong(OFF_CLOCK, clockNanos).putInt(OFF_FLAGS, flags).putLong(OFF_REALTIME, realtimeNanos)
                .putLong(OFF_HOST_TSC, hostTsc);
    }
}
