package dev.arrow.backend.kvm;

import dev.arrow.kvm.HostKvm;
import org.junit.jupiter.api.Assumptions;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Shared by the tier-4 boot tests: the host check and the guest programs built for them. */
final class BootTestSupport {
    private BootTestSupport() {
    }

    /** Skips the test, naming the host's KVM flavour, unless this host's KVM can boot Linux. */
    static void assumeLinuxBoots() {
        HostKvm host = HostKvm.detect();
        Assumptions.assumeTrue(host.canBootLinux(),
                host.description() + "; run the boot tests in the lab (scripts/test.sh does)");
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
