package dev.arrow.kvm.vmm;

import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.Vcpu;
import dev.arrow.kvm.VcpuExit;
import dev.arrow.kvm.device.IoBus;
import dev.arrow.kvm.x86.Layout;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one vCPU exit into device accesses on the port-I/O and MMIO buses, or into the outcome
 * that ends the guest. Port I/O nobody claims is ignored (reads see all ones, as on an empty ISA
 * bus): so are the PIT's ports 0x40-0x43 and the speaker port 0x61, since a VM has no PIT
 * (docs/boot-profile.md). MMIO nobody claims inside the 32-bit MMIO hole is ignored likewise,
 * anywhere else it is a guest memory fault. Each unclaimed address is logged once, at most
 * {@value #MAX_LOGGED_ADDRESSES} of them. Stateless apart from the set of addresses already logged;
 * thread-safe.
 */
final class ExitDispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(ExitDispatcher.class);
    static final int MAX_LOGGED_ADDRESSES = 64;

    private final IoBus pio;
    private final IoBus mmio;
    private final boolean debug;
    private final HostKvm host;
    private final Set<Long> logged = ConcurrentHashMap.newKeySet();

    ExitDispatcher(IoBus pio, IoBus mmio, boolean debug, HostKvm host) {
        this.pio = pio;
        this.mmio = mmio;
        this.debug = debug;
        this.host = host;
    }

    /**
     * Handles {@code exit} of {@code vcpu}.
     *
     * @return the outcome that ends the guest, or null to keep running
     */
    VmOutcome handle(Vcpu vcpu, VcpuExit exit) {
        if (exit instanceof VcpuExit.IoOut out) {
            writePort(out.port(), out.size(), out.count(), out.data());
            return null;
        }
        if (exit instanceof VcpuExit.IoIn in) {
            in.respond(readPort(in.port(), in.size(), in.count()));
            return null;
        }
        if (exit instanceof VcpuExit.MmioWrite w) {
            if (!mmio.write(w.address(), w.data())) {
                return unhandledMmio(vcpu, w.address(), w.length(), true);
            }
            return null;
        }
        if (exit instanceof VcpuExit.MmioRead r) {
            byte[] data = new byte[r.length()];
            Arrays.fill(data, (byte) 0xFF);
            if (!mmio.read(r.address(), data)) {
                VmOutcome fault = unhandledMmio(vcpu, r.address(), r.length(), false);
                if (fault != null) {
                    return fault;
                }
                Arrays.fill(data, (byte) 0xFF);
            }
            r.respond(data);
            return null;
        }
        if (exit instanceof VcpuExit.Shutdown) {
            return new VmOutcome.TripleFault(vcpu.id(), rip(vcpu));
        }
        if (exit instanceof VcpuExit.InternalError e) {
            String note = host == HostKvm.PVM && e.suberror() == VcpuExit.InternalError.EMULATION
                    ? host.description() + " (its instruction interpreter stopped here)" : "";
            return new VmOutcome.InternalError(vcpu.id(), e.suberror(), e.suberrorName(), e.data(), rip(vcpu), note);
        }
        if (exit instanceof VcpuExit.FailEntry f) {
            return new VmOutcome.FailEntry(vcpu.id(), f.hardwareEntryFailureReason());
        }
        if (exit instanceof VcpuExit.SystemEvent e) {
            return new VmOutcome.VmmError(vcpu.id(), new KvmException("unexpected KVM system event: " + e));
        }
        if (exit instanceof VcpuExit.Unknown u) {
            return new VmOutcome.VmmError(vcpu.id(), new KvmException("unexpected KVM exit reason " + u.reason()));
        }
        // Intr and Hlt are the runner's business
        return null;
    }

    /**
     * Hands each of the {@code count} items of {@code size} bytes in {@code data} to the device at {@code port}; an
     * item that no device takes is dropped.
     */
    void writePort(int port, int size, int count, byte[] data) {
        for (int i = 0; i < count; i++) {
            byte[] item = Arrays.copyOfRange(data, i * size, (i + 1) * size);
            if (!pio.write(port, item)) {
                unhandled("port write", port, size);
            }
        }
    }

    /**
     * The {@code count} items of {@code size} bytes the guest reads at {@code port}: each the device's answer, all
     * ones where no device answers.
     */
    byte[] readPort(int port, int size, int count) {
        byte[] data = new byte[size * count];
        byte[] item = new byte[size];
        for (int i = 0; i < count; i++) {
            Arrays.fill(item, (byte) 0xFF);
            if (!pio.read(port, item)) {
                unhandled("port read", port, size);
            }
            System.arraycopy(item, 0, data, i * size, size);
        }
        return data;
    }

    /** How many unclaimed addresses have been logged (for tests). */
    int loggedAddresses() {
        return logged.size();
    }

    private VmOutcome unhandledMmio(Vcpu vcpu, long address, int length, boolean write) {
        if (Long.compareUnsigned(address, Layout.MMIO_HOLE_START) >= 0
                && Long.compareUnsigned(address, Layout.MMIO_HOLE_END) < 0) {
            unhandled(write ? "MMIO write" : "MMIO read", address, length);
            return null;
        }
        return new VmOutcome.GuestMemoryFault(vcpu.id(), address, length, write, String.format("rip 0x%x", rip(vcpu)));
    }

    private void unhandled(String what, long address, int length) {
        if (logged.size() < MAX_LOGGED_ADDRESSES && logged.add(address)) {
            String message = "guest {} of {} bytes at 0x{} reaches no device (ignored; logged once per address)";
            if (debug) {
                LOG.info(message, what, length, Long.toHexString(address));
            } else {
                LOG.debug(message, what, length, Long.toHexString(address));
            }
        }
    }

    private static long rip(Vcpu vcpu) {
        try {
            return vcpu.getRegs().rip();
        } catch (KvmException e) {
            return -1;
        }
    }
}
