package dev.arrow.kvm.vmm;

import java.util.Arrays;

/**
 * How a guest ended, as {@link RunningVm#awaitExit} reports it. Exactly one outcome per VM: the
 * first event that ends the guest wins.
 */
public sealed interface VmOutcome {

    /** One line for logs and error messages. */
    String describe();

    /**
     * True for the orderly ends: the guest asked for a reset through the i8042 (Arrow's power off), or the
     * VMM's user ended it once the guest said it was done ({@link Ended}).
     */
    default boolean isOrderly() {
        return this instanceof Reset || this instanceof Ended;
    }

    /**
     * The guest said it was done (Arrow's init: its last status line, after the program's status and its output), and
     * the VMM's user ended it there, without waiting for the guest kernel's own shutdown and reset.
     */
    record Ended() implements VmOutcome {
        @Override
        public String describe() {
            return "the guest announced its end (orderly power off)";
        }
    }

    /** The guest pulsed the reset line of the keyboard controller ({@code reboot=k}): orderly power off. */
    record Reset() implements VmOutcome {
        @Override
        public String describe() {
            return "the guest requested a reset through the i8042 (orderly power off)";
        }
    }

    /** KVM_EXIT_SHUTDOWN: the CPU hit a triple fault (or another shutdown condition). */
    record TripleFault(int vcpu, long rip) implements VmOutcome {
        @Override
        public String describe() {
            return String.format("vCPU %d shut down (triple fault) at rip 0x%x", vcpu, rip);
        }
    }

    /** Every vCPU is halted with interrupts disabled (or never started): nothing can wake the guest. */
    record Halted() implements VmOutcome {
        @Override
        public String describe() {
            return "every vCPU halted with interrupts disabled";
        }
    }

    /** KVM could not continue, e.g. an instruction it cannot emulate (suberror 1). */
    record InternalError(int vcpu, int suberror, String suberrorName, long[] data, long rip, String hostNote)
            implements VmOutcome {
        @Override
        public String describe() {
            return String.format("vCPU %d: KVM internal error (%s) at rip 0x%x, data %s%s", vcpu, suberrorName, rip,
                    Arrays.toString(Arrays.stream(data).mapToObj(d -> "0x" + Long.toHexString(d)).toArray()),
                    hostNote.isEmpty() ? "" : ": " + hostNote);
        }
    }

    /** KVM could not enter the guest: the vCPU state was rejected by the hardware. */
    record FailEntry(int vcpu, long hardwareReason) implements VmOutcome {
        @Override
        public String describe() {
            return String.format("vCPU %d: KVM could not enter the guest (hardware reason 0x%x)", vcpu, hardwareReason);
        }
    }

    /** The guest accessed guest-physical memory that is neither RAM nor a device. */
    record GuestMemoryFault(int vcpu, long address, int length, boolean write, String detail) implements VmOutcome {
        @Override
        public String describe() {
            return String.format("vCPU %d: guest %s of %d bytes at 0x%x outside RAM and devices%s", vcpu,
                    write ? "write" : "read", length, address, detail.isEmpty() ? "" : ": " + detail);
        }
    }

    /** The host stopped the VM ({@link RunningVm#stop()} or close). */
    record Stopped() implements VmOutcome {
        @Override
        public String describe() {
            return "stopped by the host";
        }
    }

    /** The VMM itself failed (a KVM call, an unexpected exit, a device error); the cause says what. */
    record VmmError(int vcpu, Throwable cause) implements VmOutcome {
        @Override
        public String describe() {
            return "vCPU " + vcpu + ": VMM error: " + cause;
        }
    }
}
