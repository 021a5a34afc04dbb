package dev.arrow.image.elf;

import dev.arrow.image.elf.BinaryCheckException.Reason;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Checks, before anything boots, that a host file is a program Arrow's guest can run: a 64-bit
 * x86-64 ELF executable that needs no dynamic loader. Reads only the ELF header, the program
 * headers and the interpreter string, all bounds-checked against the file's size, so a
 * truncated or hostile file gives an {@link BinaryCheckException}, never anything else.
 */
public final class StaticBinaryCheck {
    static final int EM_X86_64 = 62;
    static final int ET_REL = 1, ET_EXEC = 2, ET_DYN = 3, ET_CORE = 4;
    static final int PT_LOAD = 1, PT_INTERP = 3;
    private static final int EHDR64_BYTES = 64;
    private static final int PHDR64_BYTES = 56;
    private static final int MAX_PHNUM = 0xFFFF;
    private static final int MAX_INTERP_BYTES = 4096;
    private static final String STATIC_FIX =
            "link statically, e.g. gcc -static, musl-gcc -static, CGO_ENABLED=0 for Go, or --target x86_64-unknown-linux-musl for Rust";

    /** e_machine values worth naming in an error (from the ELF gABI / Linux elf-em.h). */
    private static final Map<Integer, String> MACHINES = Map.ofEntries(
            Map.entry(2, "sparc"), Map.entry(3, "i386 (32-bit x86)"), Map.entry(8, "mips"), Map.entry(20, "powerpc"),
            Map.entry(21, "ppc64"), Map.entry(22, "s390"), Map.entry(40, "arm"), Map.entry(42, "superh"),
            Map.entry(43, "sparc64"), Map.entry(50, "ia64"), Map.entry(EM_X86_64, "x86-64"), Map.entry(183, "aarch64"),
            Map.entry(243, "riscv"), Map.entry(247, "bpf"), Map.entry(258, "loongarch"));

    private StaticBinaryCheck() {
    }

    /** Returns what {@code file} is, or throws {@link BinaryCheckException} naming the problem and the fix. */
    public static StaticBinary check(Path file) {
        if (!Files.exists(file)) throw fail(Reason.NOT_FOUND, file, file + " does not exist: pass the path of a static x86-64 Linux program");
        if (!Files.isRegularFile(file))
            throw fail(Reason.NOT_REGULAR_FILE, file, file + " is not a regular file: pass the path of a static x86-64 Linux program");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return check(file, ch);
        } catch (NoSuchFileException e) {
            throw fail(Reason.NOT_FOUND, file, file + " does not exist: pass the path of a static x86-64 Linux program");
        } catch (AccessDeniedException e) {
            throw new BinaryCheckException(Reason.UNREADABLE, file, file + " is not readable: fix its permissions (chmod a+r)", e);
        } catch (IOException e) {
            throw new BinaryCheckException(Reason.UNREADABLE, file, "cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static StaticBinary check(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        ByteBuffer ident = read(ch, 0, (int) Math.min(EHDR64_BYTES, size));
        if (ident.remaining() < 4 || ident.get(0) != 0x7F || ident.get(1) != 'E' || ident.get(2) != 'L' || ident.get(3) != 'F') {
            if (ident.remaining() >= 2 && ident.get(0) == '#' && ident.get(1) == '!')
                throw fail(Reason.SCRIPT, file, file + " is a script (" + shebang(ident) + "), not a program: Arrow's guest has "
                        + "no interpreters; pass a statically linked x86-64 executable (or bundle the interpreter and run that)");
            throw fail(Reason.NOT_ELF, file, file + " is not an ELF program (" + (size == 0 ? "empty file" : "starts with " + hexPrefix(ident))
                    + "): pass a statically linked x86-64 Linux executable");
        }
        if (size < 20)
            throw truncated(file, size, "ELF identification");
        int elfClass = ident.get(4) & 0xFF;
        int data = ident.get(5) & 0xFF;
        if (data != 1 && data != 2)
            throw fail(Reason.MALFORMED, file, file + " has an invalid ELF byte order (" + data + "): the file is damaged; rebuild it");
        ident.order(data == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        int machine = ident.getShort(18) & 0xFFFF;
        String machineName = MACHINES.getOrDefault(machine, "machine " + machine);
        if (elfClass == 1)
            throw fail(Reason.NOT_64_BIT, file, file + " is a 32-bit ELF program for " + machineName
                    + ", but Arrow runs 64-bit x86-64 programs: build for x86-64 (e.g. gcc -m64, GOARCH=amd64)");
        if (elfClass != 2)
            throw fail(Reason.MALFORMED, file, file + " has an invalid ELF class (" + elfClass + "): the file is damaged; rebuild it");
        if (machine != EM_X86_64 || data != 1)
            throw fail(Reason.WRONG_MACHINE, file, file + " is an ELF program for " + machineName + (data == 2 ? " (big-endian)" : "")
                    + ", but Arrow runs x86-64 programs: build for x86-64 (e.g. GOARCH=amd64, "
                    + "--target x86_64-unknown-linux-musl, or a gcc without a cross prefix)");
        if (size < EHDR64_BYTES) throw truncated(file, size, "64-byte ELF header");

        int type = ident.getShort(16) & 0xFFFF;
        long entry = ident.getLong(24);
        long phoff = ident.getLong(32);
        int phentsize = ident.getShort(54) & 0xFFFF;
        int phnum = ident.getShort(56) & 0xFFFF;
        if (type == ET_REL)
            throw fail(Reason.NOT_EXECUTABLE, file, file + " is an object file (ET_REL), not a program: link it into an executable "
                    + "(e.g. gcc -static foo.o -o foo)");
        if (type == ET_CORE)
            throw fail(Reason.NOT_EXECUTABLE, file, file + " is a core dump, not a program: pass the program itself");
        if (type != ET_EXEC && type != ET_DYN)
            throw fail(Reason.NOT_EXECUTABLE, file, file + " has ELF type " + type + ", not an executable: pass a static x86-64 program");
        if (phnum == MAX_PHNUM)
            throw fail(Reason.MALFORMED, file, file + " has more than 65534 program headers (PN_XNUM), which Linux does not load: rebuild it");
        if (phnum == 0 || phentsize != PHDR64_BYTES)
            throw fail(Reason.MALFORMED, file, file + " has " + phnum + " program headers of " + phentsize
                    + " bytes (expected 56): the file is damaged or not a program; rebuild it");
        long phBytes = (long) phnum * PHDR64_BYTES;
        if (phoff < 0 || phoff > size || phBytes > size - phoff)
            throw truncated(file, size, "program headers at offset " + Long.toUnsignedString(phoff));

        ByteBuffer ph = read(ch, phoff, (int) phBytes).order(ByteOrder.LITTLE_ENDIAN);
        String interpreter = null;
        boolean loadable = false;
        for (int i = 0; i < phnum; i++) {
            int base = i * PHDR64_BYTES;
            int pType = ph.getInt(base);
            long offset = ph.getLong(base + 8);
            long filesz = ph.getLong(base + 32);
            if (pType == PT_LOAD || pType == PT_INTERP) {
                if (offset < 0 || filesz < 0 || offset > size || filesz > size - offset)
                    throw truncated(file, size, (pType == PT_LOAD ? "loadable segment " : "interpreter segment ") + i
                            + " (offset " + Long.toUnsignedString(offset) + ", " + Long.toUnsignedString(filesz) + " bytes)");
            }
            if (pType == PT_LOAD) loadable = true;
            if (pType == PT_INTERP && interpreter == null) interpreter = interpreter(ch, offset, filesz);
        }
        if (interpreter != null)
            throw fail(Reason.DYNAMICALLY_LINKED, file, file + " is dynamically linked (interpreter " + interpreter
                    + "), but Arrow's guest has no shared libraries: " + STATIC_FIX);
        if (!loadable)
            throw fail(Reason.MALFORMED, file, file + " has no loadable segment: the file is not a runnable program; rebuild it");
        if (type == ET_DYN && entry == 0)
            throw fail(Reason.NOT_EXECUTABLE, file, file + " is a shared library (ET_DYN without entry point), not a program: "
                    + "pass the executable instead");
        return new StaticBinary(file, type == ET_EXEC ? StaticBinary.Kind.STATIC_EXECUTABLE : StaticBinary.Kind.STATIC_PIE, entry, size);
    }

    private static String interpreter(FileChannel ch, long offset, long filesz) throws IOException {
        int n = (int) Math.min(filesz, MAX_INTERP_BYTES);
        ByteBuffer b = read(ch, offset, n);
        int len = 0;
        while (len < b.remaining() && b.get(len) != 0) len++;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < len; i++) {
            int c = b.get(i) & 0xFF;
            sb.append(c >= 0x20 && c < 0x7F ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return sb.length() == 0 ? "(empty)" : sb.toString();
    }

    private static ByteBuffer read(FileChannel ch, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            int n = ch.read(b, offset + b.position());
            if (n < 0) break;
        }
        b.flip();
        return b;
    }

    private static BinaryCheckException truncated(Path file, long size, String what) {
        return fail(Reason.TRUNCATED, file, file + " is truncated: its " + what + " ends past the file's " + size
                + " bytes; copy or build the file again");
    }

    private static BinaryCheckException fail(Reason reason, Path file, String message) {
        return new BinaryCheckException(reason, file, message);
    }

    private static String shebang(ByteBuffer b) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < b.remaining() && i < 60; i++) {
            int c = b.get(i) & 0xFF;
            if (c == '\n') break;
            sb.append(c >= 0x20 && c < 0x7F ? (char) c : '?');
        }
        return sb.toString();
    }

    private static String hexPrefix(ByteBuffer b) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(4, b.remaining()); i++) {
            if (i > 0) sb.append(' ');
            sb.append(String.format("%02x", b.get(i) & 0xFF));
        }
        byte[] text = new byte[Math.min(4, b.remaining())];
        for (int i = 0; i < text.length; i++) text[i] = b.get(i);
        String ascii = new String(text, StandardCharsets.US_ASCII).replaceAll("[^\\x20-\\x7e]", ".");
        return sb + " \"" + ascii + "\"";
    }
}
