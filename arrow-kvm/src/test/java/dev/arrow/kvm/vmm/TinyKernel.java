package dev.arrow.kvm.vmm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A stand-in "kernel" for builder tests: 64-bit code wrapped in a minimal ELF64 x86-64 executable
 * (one PT_LOAD segment at 1 MiB, entered at its first byte), which the VMM loads and enters like
 * a vmlinux. Extra code may be placed at other addresses through {@link #withExtra}.
 */
final class TinyKernel {
    static final long LOAD_ADDRESS = 0x100000;
    private static final int EHDR = 64;
    private static final int PHDR = 56;

    private TinyKernel() {
    }

    /** The ELF bytes for {@code code} loaded and entered at {@link #LOAD_ADDRESS}. */
    static byte[] elf(byte[] code) {
        ByteBuffer b = ByteBuffer.allocate(EHDR + PHDR + code.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1, 0});  // ELFCLASS64, little-endian, version 1
        b.putShort(16, (short) 2);          // e_type ET_EXEC
        b.putShort(18, (short) 62);         // e_machine EM_X86_64
        b.putInt(20, 1);                    // e_version
        b.putLong(24, LOAD_ADDRESS);        // e_entry
        b.putLong(32, EHDR);                // e_phoff
        b.putShort(52, (short) EHDR);       // e_ehsize
        b.putShort(54, (short) PHDR);       // e_phentsize
        b.putShort(56, (short) 1);          // e_phnum
        b.putInt(EHDR, 1);                  // p_type PT_LOAD
        b.putInt(EHDR + 4, 5);              // p_flags R+X
        b.putLong(EHDR + 8, EHDR + PHDR);   // p_offset
        b.putLong(EHDR + 16, LOAD_ADDRESS); // p_vaddr
        b.putLong(EHDR + 24, LOAD_ADDRESS); // p_paddr
        b.putLong(EHDR + 32, code.length);  // p_filesz
        b.putLong(EHDR + 40, code.length);  // p_memsz
        b.putLong(EHDR + 48, 0x1000);       // p_align
        b.put(EHDR + PHDR, code);
        return b.array();
    }

    static Path write(Path dir, byte[] code) throws IOException {
        Path p = Files.createTempFile(dir, "tiny-kernel", ".elf");
        Files.write(p, elf(code));
        return p;
    }
}
