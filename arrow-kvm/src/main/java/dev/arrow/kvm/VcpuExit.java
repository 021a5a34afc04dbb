package dev.arrow.kvm;

import java.util.Arrays;

/**
 * Why {@link Vcpu#run()} returned, decoded from the vCPU's kvm_run page. Data that the guest
 * wrote is copied out; reads ({@link IoIn}, {@link MmioRead}) are answered with
 * {@code respond(...)} before the next {@code run()}, otherwise the guest reads all-ones (as from
 * an empty bus).
 */
public sealed interface VcpuExit {

    /** The kernel's exit reason numbers ({@code KVM_EXIT_*}). */
    final class Reason {
        public static final int UNKNOWN = 0;
        public static final int EXCEPTION = 1;
        public static final int IO = 2;
        public static final int HYPERCALL = 3;
        public static final int DEBUG = 4;
        public static final int HLT = 5;
        public static final int MMIO = 6;
        public static final int IRQ_WINDOW_OPEN = 7;
        public static final int SHUTDOWN = 8;
        public static final int FAIL_ENTRY = 9;
        public static final int INTR = 10;
        public static final int INTERNAL_ERROR = 17;
        public static final int SYSTEM_EVENT = 24;

        private Reason() {
        }
    }

    /** The guest wrote {@code count} items of {@code size} bytes (1, 2 or 4) to an I/O port. */
    record IoOut(int port, int size, int count, byte[] data) implements VcpuExit {
        /** The first item, zero-extended little-endian. */
        public long value() {
            return littleEndian(data, size);
        }

        @Override
        public String toString() {
            return String.format("IoOut[port=0x%x size=%d count=%d data=%s]", port, size, count, hex(data));
        }
    }

    /** The guest reads {@code count} items of {@code size} bytes from an I/O port. */
    final class IoIn implements VcpuExit {
        private final Vcpu vcpu;
        private final long sequence;
        private final int port;
        private final int size;
        private final int count;
        private final int dataOffset;

        IoIn(Vcpu vcpu, long sequence, int port, int size, int count, int dataOffset) {
            this.vcpu = vcpu;
            this.sequence = sequence;
            this.port = port;
            this.size = size;
            this.count = count;
            this.dataOffset = dataOffset;
        }

        public int port() {
            return port;
        }

        public int size() {
            return size;
        }

        public int count() {
            return count;
        }

        /** Supplies all {@code size * count} bytes the guest reads. */
        public void respond(byte[] data) {
            if (data.length != size * count) {
                throw new IllegalArgumentException("port 0x" + Integer.toHexString(port) + " read wants "
                        + size * count + " bytes, got " + data.length);
            }
            vcpu.respond(sequence, dataOffset, data);
        }

        /** Supplies a single item ({@code count} must be 1), truncated to {@code size} bytes. */
        public void respond(long value) {
            if (count != 1) {
                throw new IllegalArgumentException("string read of " + count + " items needs respond(byte[])");
            }
            respond(toLittleEndian(value, size));
        }

        @Override
        public String toString() {
            return String.format("IoIn[port=0x%x size=%d count=%d]", port, size, count);
        }
    }

    /** The guest read {@code length} (1-8) bytes at a guest physical address outside RAM. */
    final class MmioRead implements VcpuExit {
        private final Vcpu vcpu;
        private final long sequence;
        private final long address;
        private final int length;

        MmioRead(Vcpu vcpu, long sequence, long address, int length) {
            this.vcpu = vcpu;
            this.sequence = sequence;
            this.address = address;
            this.length = length;
        }

        public long address() {
            return address;
        }

        public int length() {
            return length;
        }

        public void respond(byte[] data) {
            if (data.length != length) {
                throw new IllegalArgumentException(String.format("MMIO read at 0x%x wants %d bytes, got %d",
                        address, length, data.length));
            }
            vcpu.respond(sequence, KvmRunLayout.MMIO_DATA, data);
        }

        /** Supplies the value read, truncated to {@code length} bytes. */
        public void respond(long value) {
            respond(toLittleEndian(value, length));
        }

        @Override
        public String toString() {
            return String.format("MmioRead[address=0x%x length=%d]", address, length);
        }
    }

    /** The guest wrote {@code length} (1-8) bytes at a guest physical address outside RAM (or to read-only memory). */
    record MmioWrite(long address, int length, byte[] data) implements VcpuExit {
        public long value() {
            return littleEndian(data, length);
        }

        @Override
        public String toString() {
            return String.format("MmioWrite[address=0x%x length=%d data=%s]", address, length, hex(data));
        }
    }

    /** The guest executed HLT (only without an in-kernel irqchip; with one, KVM waits for an interrupt). */
    record Hlt() implements VcpuExit {
    }

    /** The guest shut the CPU down: a triple fault or a reset through the keyboard controller emulation. */
    record Shutdown() implements VcpuExit {
    }

    /** KVM could not enter the guest: the vCPU state is invalid for the hardware. */
    record FailEntry(long hardwareEntryFailureReason, int cpu) implements VcpuExit {
        @Override
        public String toString() {
            return String.format("FailEntry[reason=0x%x cpu=%d]", hardwareEntryFailureReason, cpu);
        }
    }

    /**
     * KVM hit an internal error, e.g. it could not emulate an instruction (suberror 1). On PVM
     * hosts this is how an unsupported guest instruction ends the run.
     */
    record InternalError(int suberror, long[] data) implements VcpuExit {
        public static final int EMULATION = 1;
        public static final int SIMUL_EX = 2;
        public static final int DELIVERY_EV = 3;
        public static final int UNEXPECTED_EXIT_REASON = 4;

        public String suberrorName() {
            return switch (suberror) {
                case EMULATION -> "emulation failure";
                case SIMUL_EX -> "exception while delivering an exception";
                case DELIVERY_EV -> "exit while delivering an event";
                case UNEXPECTED_EXIT_REASON -> "unexpected hardware exit reason";
                default -> "suberror " + suberror;
            };
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("InternalError[").append(suberrorName());
            for (long d : data) {
                sb.append(String.format(" 0x%x", d));
            }
            return sb.append(']').toString();
        }
    }

    /** A system-level event (shutdown, reset, crash) reported by KVM. */
    record SystemEvent(int type, long[] data) implements VcpuExit {
        public static final int SHUTDOWN = 1;
        public static final int RESET = 2;
        public static final int CRASH = 3;

        public String typeName() {
            return switch (type) {
                case SHUTDOWN -> "shutdown";
                case RESET -> "reset";
                case CRASH -> "crash";
                default -> "type " + type;
            };
        }

        @Override
        public String toString() {
            return "SystemEvent[" + typeName() + " " + Arrays.toString(data) + "]";
        }
    }

    /** The run was interrupted: {@link Vcpu#kick()} (immediate_exit or the kick signal), or another signal. */
    record Intr() implements VcpuExit {
    }

    /** Any other exit reason; the VMM treats it as fatal. */
    record Unknown(int reason) implements VcpuExit {
    }

    private static long littleEndian(byte[] data, int size) {
        long v = 0;
        for (int i = Math.min(size, Math.min(8, data.length)) - 1; i >= 0; i--) {
            v = (v << 8) | (data[i] & 0xFF);
        }
        return v;
    }

    private static byte[] toLittleEndian(long value, int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (value >>> (8 * i));
        }
        return b;
    }

    private static String hex(byte[] data) {
        StringBuilder sb = new StringBuilder();
        for (byte x : data) {
            sb.append(String.format("%02x", x));
        }
        return sb.toString();
    }
}
