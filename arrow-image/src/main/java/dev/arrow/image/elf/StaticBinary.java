package dev.arrow.image.elf;

import java.nio.file.Path;

/**
 * A file {@link StaticBinaryCheck} accepted: a 64-bit little-endian x86-64 ELF program without
 * a dynamic loader, either a classic static executable (ET_EXEC) or a static-pie (ET_DYN
 * without PT_INTERP).
 */
public record StaticBinary(Path path, Kind kind, long entryPoint, long size) {
    public enum Kind {
        /** ET_EXEC, linked at a fixed address. */
        STATIC_EXECUTABLE,
        /** ET_DYN without an interpreter: relocates itself (gcc -static-pie, Go -buildmode=pie with CGO off). */
        STATIC_PIE
    }
}
