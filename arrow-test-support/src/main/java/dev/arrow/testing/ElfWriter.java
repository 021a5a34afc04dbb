package dev.arrow.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the small ELF files that tests load or check: a 64-byte ELF64 header, program headers of 56
 * bytes each right after it, then the contents. By default a little-endian x86-64 executable
 * ({@code ET_EXEC}, {@code EM_X86_64}) without segments; each field can be set to a wrong value to
 * test the checks. No section headers.
 */
public final class ElfWriter {
    /** Size of the ELF64 header; the program headers start right after it. */
    public static final int HEADER_SIZE = 64;
    /** Size of one ELF64 program header. */
    public static final int PROGRAM_HEADER_SIZE = 56;
    public static final int ELFCLASS32 = 1;
    public static final int ELFCLASS64 = 2;
    public static final int ELFDATA2LSB = 1;
    public static final int ELFDATA2MSB = 2;
    public static final int ET_REL = 1;
    public static final int ET_EXEC = 2;
    public static final int ET_DYN = 3;
    public static final int EM_X86_64 = 62;
    public static final int PT_LOAD = 1;
    public static final int PT_INTERP = 3;
    private static final int PF_R_X = 5;
    private static final long PAGE = 0x1000;

    private record ProgramHeader(int type, long offset, long address, long fileSize, long memorySize) {
    }

    private int elfClass = ELFCLASS64;
    private int data = ELFDATA2LSB;
    private int type = ET_EXEC;
    private int machine = EM_X86_64;
    private long entry;
    private final List<ProgramHeader> programHeaders = new ArrayList<>();
    private byte[] contents = new byte[0];

    /** A little-endian x86-64 executable with no segments, entry 0 and no contents. */
    public static ElfWriter executable() {
        return new ElfWriter();
    }

    /**
     * The smallest program that runs {@code code}: one read+execute {@code PT_LOAD} of the code
     * alone (file offset {@link #headersSize(int) headersSize(1)}) at {@code address}, entered there.
     */
    public static byte[] program(long address, byte[] code) {
        return executable().entry(address)
                .segment(PT_LOAD, headersSize(1), address, code.length, code.length)
                .contents(code).bytes();
    }

    /** The size of the headers with {@code programHeaders} program headers: where the contents start. */
    public static int headersSize(int programHeaders) {
        return HEADER_SIZE + PROGRAM_HEADER_SIZE * programHeaders;
    }

    /** {@code EI_CLASS}, written as is (the layout stays ELF64's). */
    public ElfWriter elfClass(int elfClass) {
        this.elfClass = elfClass;
        return this;
    }

    /** {@code EI_DATA}: {@link #ELFDATA2MSB} writes every field big-endian. */
    public ElfWriter data(int data) {
        this.data = data;
        return this;
    }

    /** {@code e_type}. */
    public ElfWriter type(int type) {
        this.type = type;
        return this;
    }

    /** {@code e_machine}. */
    public ElfWriter machine(int machine) {
        this.machine = machine;
        return this;
    }

    /** {@code e_entry}. */
    public ElfWriter entry(long entry) {
        this.entry = entry;
        return this;
    }

    /**
     * Adds a read+execute program header of {@code type}: {@code fileSize} bytes at file
     * {@code offset}, mapped at {@code address} (virtual and physical) with {@code memorySize}
     * bytes, page-aligned.
     */
    public ElfWriter segment(int type, long offset, long address, long fileSize, long memorySize) {
        programHeaders.add(new ProgramHeader(type, offset, address, fileSize, memorySize));
        return this;
    }

    /** The bytes after the program headers. */
    public ElfWriter contents(byte[] contents) {
        this.contents = contents.clone();
        return this;
    }

    /** The file. */
    public byte[] bytes() {
        int start = headersSize(programHeaders.size());
        ByteBuffer b = ByteBuffer.allocate(start + contents.length)
                .order(data == ELFDATA2MSB ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7F, 'E', 'L', 'F', (byte) elfClass, (byte) data, 1, 0}); // EI_VERSION 1
        b.position(16);
        b.putShort((short) type).putShort((short) machine).putInt(1)                 // e_version
                .putLong(entry).putLong(HEADER_SIZE).putLong(0).putInt(0)           // e_phoff, e_shoff, e_flags
                .putShort((short) HEADER_SIZE).putShort((short) PROGRAM_HEADER_SIZE)
                .putShort((short) programHeaders.size())
                .putShort((short) 64).putShort((short) 0).putShort((short) 0);       // e_shentsize, e_shnum, e_shstrndx
        for (ProgramHeader ph : programHeaders) {
            b.putInt(ph.type()).putInt(PF_R_X).putLong(ph.offset()).putLong(ph.address()).putLong(ph.address())
                    .putLong(ph.fileSize()).putLong(ph.memorySize()).putLong(PAGE);
        }
        b.put(contents);
        return b.array();
    }
}
