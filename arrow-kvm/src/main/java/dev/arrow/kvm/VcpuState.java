package dev.arrow.kvm;

import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.MsrEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Everything KVM keeps for one x86 vCPU, enough to continue it in another VM: CPUID, MP state,
 * general and special registers, the XSAVE area (x87, SSE, AVX...), the XCRs, the debug
 * registers, the local APIC, the MSRs KVM reports as worth saving, and the pending events
 * (exceptions, interrupts, NMI, SMI). Captured by {@link Vcpu#saveState()}, given to any number of
 * vCPUs by {@link Vcpu#restoreState(VcpuState)}. Immutable: the mutable register classes are
 * copied in and out.
 */
public record VcpuState(List<CpuidEntry> cpuid, MpState mpState, Regs regs, Sregs sregs, KernelStruct xsave,
                        KernelStruct xcrs, KernelStruct debugRegs, LapicState lapic, List<MsrEntry> msrs,
                        KernelStruct events) {

    /**
     * @throws IllegalArgumentException if a kernel struct is of the wrong kind
     */
    public VcpuState {
        cpuid = List.copyOf(cpuid);
        Objects.requireNonNull(mpState, "mpState");
        regs = copy(Regs.SIZE, regs::encode, Regs::decode);
        sregs = copy(Sregs.SIZE, sregs::encode, Sregs::decode);
        requireKind(xsave, KernelStruct.Kind.XSAVE);
        requireKind(xcrs, KernelStruct.Kind.XCRS);
        requireKind(debugRegs, KernelStruct.Kind.DEBUGREGS);
        lapic = copy(LapicState.SIZE, lapic::encode, LapicState::decode);
        msrs = List.copyOf(msrs);
        requireKind(events, KernelStruct.Kind.VCPU_EVENTS);
    }

    /** A copy of the general registers. */
    @Override
    public Regs regs() {
        return copy(Regs.SIZE, regs::encode, Regs::decode);
    }

    /** A copy of the special registers. */
    @Override
    public Sregs sregs() {
        return copy(Sregs.SIZE, sregs::encode, Sregs::decode);
    }

    /** A copy of the local APIC's registers. */
    @Override
    public LapicState lapic() {
        return copy(LapicState.SIZE, lapic::encode, LapicState::decode);
    }

    private static void requireKind(KernelStruct struct, KernelStruct.Kind kind) {
        if (Objects.requireNonNull(struct, kind.name()).kind() != kind) {
            throw new IllegalArgumentException("expected a " + kind + " struct, got " + struct);
        }
    }

    /** A copy made by encoding into a buffer of {@code size} bytes and decoding it again. */
    private static <T> T copy(int size, Consumer<ByteBuffer> encode, Function<ByteBuffer, T> decode) {
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        encode.accept(b);
        return decode.apply(b);
    }
}
