package dev.arrow.kvm;

import org.junit.jupiter.api.Assumptions;

/** Skips tier-2 tests, with the reason, on hosts whose /dev/kvm cannot be used. */
public final class KvmAssumptions {
    private KvmAssumptions() {
    }

    public static void assumeKvm() {
        HostKvm host = HostKvm.detect();
        Assumptions.assumeTrue(host.usable(), host.description());
    }
}
