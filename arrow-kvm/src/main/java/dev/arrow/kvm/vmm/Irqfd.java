package dev.arrow.kvm.vmm;

import dev.arrow.kvm.EventFd;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.Vm;
import dev.arrow.kvm.device.InterruptTrigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A device's edge-triggered interrupt line: an eventfd registered with the VM as an irqfd, so
 * each {@link #trigger()} is one eventfd write and KVM injects the interrupt. {@link #close()}
 * unregisters it while the VM is open, then closes the eventfd: a VM that outlives its devices
 * (recycled for the next clone of a template) keeps no interrupt source of theirs.
 */
final class Irqfd implements InterruptTrigger, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Irqfd.class);

    private final Vm vm;
    private final EventFd event;
    private final int gsi;

    private Irqfd(Vm vm, EventFd event, int gsi) {
        this.vm = vm;
        this.event = event;
        this.gsi = gsi;
    }

    /** A new eventfd, registered with {@code vm} for interrupt {@code gsi}. */
    static Irqfd register(Vm vm, int gsi) {
        EventFd event = EventFd.create();
        try {
            vm.registerIrqfd(event, gsi);
        } catch (RuntimeException e) {
            event.close();
            throw e;
        }
        return new Irqfd(vm, event, gsi);
    }

    @Override
    public void trigger() {
        event.write(1);
    }

    /** Unregisters the irqfd (while the VM is open) and closes the eventfd. Idempotent. */
    @Override
    public void close() {
        if (event.isClosed()) {
            return;
        }
        if (!vm.isClosed()) {
            try {
                vm.unregisterIrqfd(event, gsi);
            } catch (KvmException e) {
                LOG.debug("unregistering the irqfd of GSI {} failed: {}", gsi, e.toString());
            }
        }
        event.close();
    }

    @Override
    public String toString() {
        return "irqfd of GSI " + gsi;
    }
}
