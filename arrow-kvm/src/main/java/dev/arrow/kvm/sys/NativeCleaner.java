package dev.arrow.kvm.sys;

import java.lang.ref.Cleaner;

/** The one Cleaner of this module: a safety net for fds and mappings nobody closed. */
public final class NativeCleaner {
    public static final Cleaner CLEANER = Cleaner.create();

    private NativeCleaner() {
    }
}
