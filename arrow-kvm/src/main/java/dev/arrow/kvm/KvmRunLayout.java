package dev.arrow.kvm;

/**
 * Where the fields of {@code struct kvm_run} (x86-64, {@code <linux/kvm.h>}) sit in the page KVM
 * shares with each vCPU: the header, then the exit-reason union at offset 32, one group of offsets
 * per exit reason. {@link Vcpu} reads exits and writes answers at these offsets through a
 * {@code ByteBuffer} view of the mapping (no JNA {@code Structure} on the exit path).
 */
final class KvmRunLayout {
    private KvmRunLayout() {
    }

    /** u8 immediate_exit: KVM_RUN returns at once with EINTR while it is set. */
    static final int IMMEDIATE_EXIT = 1;
    /** u32 exit_reason, one of {@link VcpuExit.Reason}. */
    static final int EXIT_REASON = 8;
    /** u8 if_flag: the guest's RFLAGS.IF when KVM_RUN returned (every return, an interrupted one included). */
    static final int IF_FLAG = 13;

    // KVM_EXIT_IO: u8 direction, u8 size, u16 port, u32 count, u64 data_offset (from the start of kvm_run)
    static final int IO_DIRECTION = 32;
    static final int IO_SIZE = 33;
    static final int IO_PORT = 34;
    static final int IO_COUNT = 36;
    static final int IO_DATA_OFFSET = 40;
    /** io.direction of a write by the guest (KVM_EXIT_IO_OUT). */
    static final int IO_DIRECTION_OUT = 1;

    // KVM_EXIT_MMIO: u64 phys_addr, u8 data[8], u32 len, u8 is_write
    static final int MMIO_PHYS_ADDR = 32;
    static final int MMIO_DATA = 40;
    static final int MMIO_LEN = 48;
    static final int MMIO_IS_WRITE = 52;

    // KVM_EXIT_FAIL_ENTRY: u64 hardware_entry_failure_reason, u32 cpu
    static final int FAIL_ENTRY_REASON = 32;
    static final int FAIL_ENTRY_CPU = 40;

    // KVM_EXIT_INTERNAL_ERROR: u32 suberror, u32 ndata, u64 data[16]
    static final int INTERNAL_SUBERROR = 32;
    static final int INTERNAL_NDATA = 36;
    static final int INTERNAL_DATA = 40;

    // KVM_EXIT_SYSTEM_EVENT: u32 type, u32 ndata, u64 data[16]
    static final int SYSTEM_EVENT_TYPE = 32;
    static final int SYSTEM_EVENT_NDATA = 36;
    static final int SYSTEM_EVENT_DATA = 40;
    /** Entries of the u64 data arrays of the internal-error and system-event exits. */
    static final int MAX_EXIT_DATA = 16;
}
