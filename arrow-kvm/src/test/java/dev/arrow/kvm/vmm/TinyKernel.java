package dev.arrow.kvm.vmm;

import dev.arrow.testing.ElfWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A stand-in "kernel" for builder tests: 64-bit code wrapped in a minimal ELF64 x86-64 executable
 * (one PT_LOAD segment at 1 MiB, entered at its first byte), which the VMM loads and enters like
 * a vmlinux. Extra code may be placed at other addresses through {@link #withExtra}.
 */
final class TinyKernel {
    static final long LOAD_ADDRESS = 0x100000;

    private TinyKernel() {
    }

    /** The ELF bytes for {@code code} loaded and entered at {@link #LOAD_ADDRESS}. */
    static byte[] elf(byte[] code) {
        return ElfWriter.program(LOAD_ADDRESS, code);
    }

    static Path write(Path dir, byte[] code) throws IOException {
        Path p = Files.createTempFile(dir, "tiny-kernel", ".elf");
        Files.write(p, elf(code));
        return p;
    }
}
