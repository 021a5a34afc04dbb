package dev.arrow.spi;

import java.io.IOException;

/**
 * Where a backend delivers the guest paths of {@link dev.arrow.config.ArrowSpec#copyOutOnExit()}, which the guest sends
 * after the program ended and before the VM stops. Provided by arrow-core to {@link ArrowLauncher#launch(
 * dev.arrow.config.ArrowSpec, OutputSink, OutputSink, BootEvents, ExitCopySink)}; every copy is delivered before the
 * session's outcome completes. Called on one backend thread at a time.
 */
public interface ExitCopySink {

    /** Accepts nothing: for a spec without copy-out paths. */
    ExitCopySink NONE = new ExitCopySink() {
        @Override
        public GuestFileReceiver begin(String guestPath) {
            throw new IllegalStateException("no copy-out paths were declared, yet the guest sends " + guestPath);
        }

        @Override
        public void end(String guestPath, IOException failure) {
        }
    };

    /**
     * The guest begins sending {@code guestPath}, one of the spec's copy-out paths not sent before (the backend drops
     * any other); its entries go to the returned receiver.
     */
    GuestFileReceiver begin(String guestPath);

    /** The copy of {@code guestPath} begun last has ended: whole if {@code failure} is null. */
    void end(String guestPath, IOException failure);
}
