package dev.arrow.backend.kvm;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Shared by the tier-4 boot tests: the guest programs built for them. */
final class BootTestSupport {
    private BootTestSupport() {
    }

    /** The static test program built from src/test/c into target/guest-programs. */
    static Path guestApp() {
        try {
            Path testClasses = Path.of(BootTestSupport.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path app = testClasses.resolveSibling("guest-programs").resolve("guestapp");
            if (!Files.isExecutable(app)) {
                throw new IllegalStateException(app + " is missing: build arrow-core's tests with Maven (needs musl-tools)");
            }
            return app;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
