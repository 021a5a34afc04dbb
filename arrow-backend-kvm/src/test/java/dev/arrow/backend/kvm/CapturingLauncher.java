package dev.arrow.backend.kvm;

import dev.arrow.config.ArrowSpec;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;
import java.util.concurrent.atomic.AtomicReference;

/** The KVM backend, keeping the last session it started so that a boot test can look at its VM. */
final class CapturingLauncher implements ArrowLauncher {
    private final KvmLauncher kvm = new KvmLauncher();
    final AtomicReference<KvmSession> last = new AtomicReference<>();

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
        return kept(kvm.launch(spec, stdout, stderr));
    }

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events,
            ExitCopySink exitCopies) {
        return kept(kvm.launch(spec, stdout, stderr, events, exitCopies));
    }

    private MicroVmSession kept(MicroVmSession s) {
        last.set((KvmSession) s);
        return s;
    }
}
