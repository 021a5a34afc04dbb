package dev.arrow.bench;

import dev.arrow.testing.ElfWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tiny guest of the per-exit benchmark, shared by the Java side (wrapped as an ELF "kernel"
 * for Arrow's VmBuilder) and the C side (the flat code, for exitloop.c): 64-bit code entered at
 * 1 MiB that writes to I/O port 0x80 {@code writes} times, then 0xFE to port 0x64 (the i8042
 * reset that ends an Arrow guest). Each write is one KVM exit to the VMM.
 */
public final class ExitLoopGuest {
    /** Where the code is loaded and entered. */
    public static final long LOAD_ADDRESS = 0x100000;
    /** A port no device claims: the VMM counts and ignores writes to it. */
    public static final int LOOP_PORT = 0x80;

    private ExitLoopGuest() {
    }

    /** The machine code for {@code writes} (at least 1) loop writes, then the reset. */
    public static byte[] code(int writes) {
        if (writes < 1) {
            throw new IllegalArgumentException("the loop needs at least one write, got " + writes);
        }
        ByteBuffer b = ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0xB9).putInt(writes);                 // mov ecx, writes
        b.put((byte) 0xE6).put((byte) LOOP_PORT);           // loop: out 0x80, al
        b.put((byte) 0xFF).put((byte) 0xC9);                // dec ecx
        b.put((byte) 0x75).put((byte) 0xFA);                // jnz loop
        b.put((byte) 0xB0).put((byte) 0xFE);                // mov al, 0xfe
        b.put((byte) 0xE6).put((byte) 0x64);                // out 0x64, al  (i8042: pulse reset)
        b.put((byte) 0xEB).put((byte) 0xFE);                // jmp $
        return b.array();
    }

    /** {@code code} in a minimal ELF64 x86-64 executable: one PT_LOAD at {@link #LOAD_ADDRESS}, entered there. */
    public static byte[] elf(byte[] code) {
        return ElfWriter.program(LOAD_ADDRESS, code);
    }

    public static Path writeElf(Path dir, int writes) throws IOException {
        return Files.write(dir.resolve("exitloop-" + writes + ".elf"), elf(code(writes)));
    }

    public static Path writeFlat(Path dir, int writes) throws IOException {
        return Files.write(dir.resolve("exitloop-" + writes + ".bin"), code(writes));
    }
}
