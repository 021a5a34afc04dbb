package dev.arrow.config;

import java.util.Locale;

/** Resources limited with {@code setrlimit(2)}, with their Linux x86-64 numbers. */
public enum RlimitResource {
    CPU(0), FSIZE(1), DATA(2), STACK(3), CORE(4), RSS(5), NPROC(6), NOFILE(7), MEMLOCK(8), AS(9),
    LOCKS(10), SIGPENDING(11), MSGQUEUE(12), NICE(13), RTPRIO(14), RTTIME(15);

    private final int linuxNumber;

    RlimitResource(int linuxNumber) {
        this.linuxNumber = linuxNumber;
    }

    /** The {@code RLIMIT_*} constant of Linux. */
    public int linuxNumber() {
        return linuxNumber;
    }

    /** Lower-case name as written in JSON, e.g. {@code "nofile"}. */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
