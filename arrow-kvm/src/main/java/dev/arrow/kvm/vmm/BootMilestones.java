package dev.arrow.kvm.vmm;

import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports each {@link BootEvent} of one VM once to its {@link BootListener}, stamped with
 * {@link System#nanoTime()}; a listener that throws is logged and otherwise ignored.
 */
final class BootMilestones {
    private static final Logger LOG = LoggerFactory.getLogger(BootMilestones.class);

    private final BootListener listener;
    private final AtomicInteger reported = new AtomicInteger();

    BootMilestones(BootListener listener) {
        this.listener = listener;
    }

    void reached(BootEvent event) {
        long now = System.nanoTime();
        int bit = 1 << event.ordinal();
        if ((reported.getAndUpdate(r -> r | bit) & bit) != 0) {
            return;
        }
        try {
            listener.reached(event, now);
        } catch (RuntimeException e) {
            LOG.warn("the boot listener failed on {}; ignored", event, e);
        }
    }
}
