package dev.arrow.image.init;

import java.util.Locale;

/** The Linux resource limits init can set for the app (setrlimit(2)); {@link #specName()} is the name in the spec file. */
public enum Rlimit {
    AS, CORE, CPU, DATA, FSIZE, LOCKS, MEMLOCK, MSGQUEUE, NICE, NOFILE, NPROC, RSS, RTPRIO, RTTIME, SIGPENDING, STACK;

    /** Lower-case name without the RLIMIT_ prefix, e.g. {@code nofile}. */
    public String specName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
