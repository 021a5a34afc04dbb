package dev.arrow.kvm;

import java.io.ByteArrayOutputStream;

/**
 * A tiny x86 assembler for the test guests: each method emits one instruction, with its encoding
 * in the comment (checked against GNU as). Operand-size prefixes depend on the mode: 0x66 selects
 * 32-bit operands in real mode and 16-bit operands in long mode.
 */
public final class Asm {
    public enum Mode { REAL, LONG }

    private final Mode mode;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Asm(Mode mode) {
        this.mode = mode;
    }

    public static Asm real() {
        return new Asm(Mode.REAL);
    }

    public static Asm longMode() {
        return new Asm(Mode.LONG);
    }

    public byte[] bytes() {
        return out.toByteArray();
    }

    /** Offset of the next instruction from the start of the code. */
    public int here() {
        return out.size();
    }

    private Asm emit(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    private Asm imm16(int v) {
        return emit(v & 0xFF, (v >>> 8) & 0xFF);
    }

    private Asm imm32(int v) {
        return emit(v & 0xFF, (v >>> 8) & 0xFF, (v >>> 16) & 0xFF, (v >>> 24) & 0xFF);
    }

    private Asm imm64(long v) {
        return imm32((int) v).imm32((int) (v >>> 32));
    }

    private void require(Mode m, String what) {
        if (mode != m) {
            throw new IllegalStateException(what + " is only encoded for " + m + " mode");
        }
    }

    private Asm prefix32() {
        return mode == Mode.REAL ? emit(0x66) : this;
    }

    private Asm prefix16() {
        return mode == Mode.LONG ? emit(0x66) : this;
    }

    /** mov dx, imm16: BA iw (real); mov edx, imm32: BA id (long). */
    public Asm movDx(int port) {
        emit(0xBA);
        return mode == Mode.REAL ? imm16(port) : imm32(port);
    }

    /** mov al, imm8: B0 ib. */
    public Asm movAl(int v) {
        return emit(0xB0, v & 0xFF);
    }

    /** mov ax, imm16: B8 iw (real), 66 B8 iw (long). */
    public Asm movAx(int v) {
        return prefix16().emit(0xB8).imm16(v);
    }

    /** mov eax, imm32: 66 B8 id (real), B8 id (long). */
    public Asm movEax(int v) {
        return prefix32().emit(0xB8).imm32(v);
    }

    /** out dx, al: EE. */
    public Asm outDxAl() {
        return emit(0xEE);
    }

    /** out dx, ax: EF (real), 66 EF (long). */
    public Asm outDxAx() {
        return prefix16().emit(0xEF);
    }

    /** out dx, eax: 66 EF (real), EF (long). */
    public Asm outDxEax() {
        return prefix32().emit(0xEF);
    }

    /** in al, dx: EC. */
    public Asm inAlDx() {
        return emit(0xEC);
    }

    /** in ax, dx: ED (real), 66 ED (long). */
    public Asm inAxDx() {
        return prefix16().emit(0xED);
    }

    /** in eax, dx: 66 ED (real), ED (long). */
    public Asm inEaxDx() {
        return prefix32().emit(0xED);
    }

    /** out imm8, al: E6 ib. */
    public Asm outAl(int port) {
        return emit(0xE6, port & 0xFF);
    }

    /** out imm8, ax: E7 ib (real). */
    public Asm outAx(int port) {
        return prefix16().emit(0xE7, port & 0xFF);
    }

    /** mov ds, ax: 8E D8. */
    public Asm movDsAx() {
        return emit(0x8E, 0xD8);
    }

    /** mov byte [imm16], imm8: C6 06 iw ib (real mode, ds-relative). */
    public Asm movByteToAbs(int address, int value) {
        require(Mode.REAL, "mov byte [abs16]");
        return emit(0xC6, 0x06).imm16(address).emit(value & 0xFF);
    }

    /** mov word [imm16], imm16: C7 06 iw iw (real mode). */
    public Asm movWordToAbs(int address, int value) {
        require(Mode.REAL, "mov word [abs16]");
        return emit(0xC7, 0x06).imm16(address).imm16(value);
    }

    /** mov dword [imm16], imm32: 66 C7 06 iw id (real mode). */
    public Asm movDwordToAbs(int address, int value) {
        require(Mode.REAL, "mov dword [abs16]");
        return emit(0x66, 0xC7, 0x06).imm16(address).imm32(value);
    }

    /** mov eax, [imm16]: 66 A1 iw (real mode). */
    public Asm movEaxFromAbs(int address) {
        require(Mode.REAL, "mov eax, [abs16]");
        return emit(0x66, 0xA1).imm16(address);
    }

    /** mov al, [imm16]: A0 iw (real mode). */
    public Asm movAlFromAbs(int address) {
        require(Mode.REAL, "mov al, [abs16]");
        return emit(0xA0).imm16(address);
    }

    /** mov rax, imm64: 48 B8 iq. */
    public Asm movRax(long v) {
        require(Mode.LONG, "mov rax, imm64");
        return emit(0x48, 0xB8).imm64(v);
    }

    /** mov rbx, imm64: 48 BB iq. */
    public Asm movRbx(long v) {
        require(Mode.LONG, "mov rbx, imm64");
        return emit(0x48, 0xBB).imm64(v);
    }

    /** mov rsi, imm64: 48 BE iq. */
    public Asm movRsi(long v) {
        require(Mode.LONG, "mov rsi, imm64");
        return emit(0x48, 0xBE).imm64(v);
    }

    /** mov rdi, imm64: 48 BF iq. */
    public Asm movRdi(long v) {
        require(Mode.LONG, "mov rdi, imm64");
        return emit(0x48, 0xBF).imm64(v);
    }

    /** mov rcx, imm64: 48 B9 iq. */
    public Asm movRcx(long v) {
        require(Mode.LONG, "mov rcx, imm64");
        return emit(0x48, 0xB9).imm64(v);
    }

    /** mov rdx, imm64: 48 BA iq. */
    public Asm movRdx(long v) {
        require(Mode.LONG, "mov rdx, imm64");
        return emit(0x48, 0xBA).imm64(v);
    }

    /** syscall: 0F 05. */
    public Asm syscall() {
        require(Mode.LONG, "syscall");
        return emit(0x0F, 0x05);
    }

    /** rep movsb: F3 A4 (copies rcx bytes from [rsi] to [rdi]). */
    public Asm repMovsb() {
        return emit(0xF3, 0xA4);
    }

    /** Appends raw bytes (data or code assembled elsewhere). */
    public Asm raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    /** mov [rbx], rax: 48 89 03. */
    public Asm movToRbxPtrRax() {
        require(Mode.LONG, "mov [rbx], rax");
        return emit(0x48, 0x89, 0x03);
    }

    /** mov rax, [rbx]: 48 8B 03. */
    public Asm movRaxFromRbxPtr() {
        require(Mode.LONG, "mov rax, [rbx]");
        return emit(0x48, 0x8B, 0x03);
    }

    /** mov [rbx], eax: 89 03. */
    public Asm movToRbxPtrEax() {
        require(Mode.LONG, "mov [rbx], eax");
        return emit(0x89, 0x03);
    }

    /** mov eax, [rbx]: 8B 03. */
    public Asm movEaxFromRbxPtr() {
        require(Mode.LONG, "mov eax, [rbx]");
        return emit(0x8B, 0x03);
    }

    /** mov eax, [rsi + disp32]: 8B 86 id. */
    public Asm movEaxFromRsi(int displacement) {
        require(Mode.LONG, "mov eax, [rsi + disp32]");
        return emit(0x8B, 0x86).imm32(displacement);
    }

    /** mov al, [rax]: 8A 00. */
    public Asm movAlFromRaxPtr() {
        require(Mode.LONG, "mov al, [rax]");
        return emit(0x8A, 0x00);
    }

    /** xgetbv: 0F 01 D0. */
    public Asm xgetbv() {
        return emit(0x0F, 0x01, 0xD0);
    }

    /** Writes {@code text} to port {@code port} one byte at a time (mov al, c; out port, al). */
    public Asm outString(int port, String text) {
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.US_ASCII)) {
            movAl(b).outAl(port);
        }
        return this;
    }

    /** hlt: F4. */
    public Asm hlt() {
        return emit(0xF4);
    }

    /** cli: FA. */
    public Asm cli() {
        return emit(0xFA);
    }

    /** sti: FB. */
    public Asm sti() {
        return emit(0xFB);
    }

    /** ud2: 0F 0B (raises #UD). */
    public Asm ud2() {
        return emit(0x0F, 0x0B);
    }

    /** jmp short to the code offset {@code target}: EB cb. */
    public Asm jmp(int target) {
        int rel = target - (here() + 2);
        if (rel < -128 || rel > 127) {
            throw new IllegalArgumentException("short jump out of range: " + rel);
        }
        return emit(0xEB, rel & 0xFF);
    }

    /** jmp $ (spin forever): EB FE. */
    public Asm spin() {
        return jmp(here());
    }

    /** Pads with int3-free NOPs (90) up to code offset {@code offset}. */
    public Asm padTo(int offset) {
        while (here() < offset) {
            emit(0x90);
        }
        return this;
    }
}
