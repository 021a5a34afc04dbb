package dev.arrow.image.elf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.image.HostCommand;
import dev.arrow.image.elf.BinaryCheckException.Reason;
import dev.arrow.testing.ElfWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StaticBinaryCheckTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final Path LS = Path.of("/bin/ls");

    @TempDir
    Path tmp;

    private static BinaryCheckException failure(ThrowingCallable call) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(call);
        assertThat(t).isInstanceOf(BinaryCheckException.class);
        return (BinaryCheckException) t;
    }

    /** A minimal 64-bit ELF: header plus the given program headers (type, offset, filesz). */
    static byte[] elf(int elfClass, int data, int type, int machine, long entry, long[]... phdrs) {
        ElfWriter elf = ElfWriter.executable().elfClass(elfClass).data(data).type(type).machine(machine).entry(entry);
        for (long[] ph : phdrs) {
            elf.segment((int) ph[0], ph[1], 0x400000, ph[2], ph[2]);
        }
        return elf.contents(new byte[16]).bytes();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void busyboxFromBusyboxStaticIsAStaticExecutable() {
        assumeTrue(Files.isRegularFile(BUSYBOX), "/bin/busybox missing: install the Debian package busybox-static");
        StaticBinary b = StaticBinaryCheck.check(BUSYBOX);
        assertThat(b.kind()).isEqualTo(StaticBinary.Kind.STATIC_EXECUTABLE);
        assertThat(b.entryPoint()).isNotZero();
    }

    @Test
    void dynamicallyLinkedLsIsRejectedNamingTheInterpreterAndTheFix() {
        assumeTrue(Files.isRegularFile(LS), "/bin/ls missing");
        BinaryCheckException e = failure(() -> StaticBinaryCheck.check(LS));
        assertThat(e.reason()).isEqualTo(Reason.DYNAMICALLY_LINKED);
        assertThat(e.getMessage()).contains("/bin/ls", "dynamically linked", "/lib64/ld-linux-x86-64.so.2", "gcc -static", "CGO_ENABLED=0");
        assertThat(e.path()).isEqualTo(LS);
    }

    @Test
    void staticPieBuiltWithGccIsAccepted() throws IOException {
        assumeTrue(HostCommand.available("gcc"), "gcc is not installed: cannot build a static-pie to check");
        Path src = tmp.resolve("pie.c");
        Files.writeString(src, "int main(void) { return 7; }\n");
        Path out = tmp.resolve("pie");
        HostCommand.Result r = HostCommand.run(List.of("gcc", "-static-pie", "-fPIE", "-o", out.toString(), src.toString()), tmp, null,
                Duration.ofMinutes(2));
        assumeTrue(r.exitCode() == 0, "gcc -static-pie failed here (static glibc missing?): " + r.stderr());
        StaticBinary b = StaticBinaryCheck.check(out);
        assertThat(b.kind()).isEqualTo(StaticBinary.Kind.STATIC_PIE);
        assertThat(b.size()).isEqualTo(Files.size(out));
    }

    @Test
    void textFileIsNotAnElf() throws IOException {
        Path p = write("notes.txt", "just some text\n".getBytes(StandardCharsets.US_ASCII));
        BinaryCheckException e = failure(() -> StaticBinaryCheck.check(p));
        assertThat(e.reason()).isEqualTo(Reason.NOT_ELF);
        assertThat(e.getMessage()).contains("not an ELF program", "\"just\"", "statically linked x86-64");
    }

    @Test
    void emptyFileIsNotAnElf() throws IOException {
        Path p = write("empty", new byte[0]);
        assertThat(failure(() -> StaticBinaryCheck.check(p)).getMessage()).contains("empty file");
    }

    @Test
    void scriptIsNamedAsAScript() throws IOException {
        Path p = write("run.sh", "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.US_ASCII));
        BinaryCheckException e = failure(() -> StaticBinaryCheck.check(p));
        assertThat(e.reason()).isEqualTo(Reason.SCRIPT);
        assertThat(e.getMessage()).contains("#!/bin/sh");
    }

    @Test
    void aarch64ElfNamesTheMachine() throws IOException {
        Path p = write("arm", elf(2, 1, 2, 183, 0x400000, new long[] {1, 0, 64}));
        BinaryCheckException e = failure(() -> StaticBinaryCheck.check(p));
        assertThat(e.reason()).isEqualTo(Reason.WRONG_MACHINE);
        assertThat(e.getMessage()).contains("aarch64", "x86-64", "GOARCH=amd64");
    }

    @Test
    void bigEndianElfIsTheWrongMachine() throws IOException {
        Path p = write("s390", elf(2, 2, 2, 22, 0x400000, new long[] {1, 0, 64}));
        BinaryCheckException e = failure(() -> StaticBinaryCheck.check(p));
        assertThat(e.reason()).isEqualTo(Reason.WRONG_MACHINE);
        assertThat(e.getMessage()).contains("s390", "big-endian");
    }

    @Test
    void thirtyTwoBitElfIsRejected() throws IOException {
        byte[] bytes = elf(2, 1, 2, 3, 0x8048000, new long[] {1, 0, 64});
        bytes[4] = 1; // ELFCLASS32
        Path p = write("i386", bytes);
        BinaryCheckException e = failure(() -> StaticBinaryCheck.check(p));
        assertThat(e.reason()).isEqualTo(Reason.NOT_64_BIT);
        assertThat(e.getMessage()).contains("32-bit", "i386");
    }

    @Test
    void syntheticStaticAndDynamicX8664Headers() throws IOException {
        Path ok = write("static", elf(2, 1, 2, 62, 0x401000, new long[] {1, 0, 120}));
        assertThat(StaticBinaryCheck.check(ok).kind()).isEqualTo(StaticBinary.Kind.STATIC_EXECUTABLE);

        byte[] dyn = elf(2, 1, 3, 62, 0x1040, new long[] {3, 64 + 56 * 2, 8}, new long[] {1, 0, 64});
        byte[] interp = "/ld.so\0\0".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(interp, 0, dyn, 64 + 56 * 2, interp.length);
        BinaryCheckException e = failure(() -> StaticBinaryCheck.check(write("dyn", dyn)));
        assertThat(e.reason()).isEqualTo(Reason.DYNAMICALLY_LINKED);
        assertThat(e.getMessage()).contains("interpreter /ld.so)");
    }

    @Test
    void sharedLibraryAndObjectFilesAreNotPrograms() throws IOException {
        BinaryCheckException lib = failure(() -> StaticBinaryCheck.check(write("lib.so", elf(2, 1, 3, 62, 0, new long[] {1, 0, 64}))));
        assertThat(lib.reason()).isEqualTo(Reason.NOT_EXECUTABLE);
        assertThat(lib.getMessage()).contains("shared library");
        BinaryCheckException obj = failure(() -> StaticBinaryCheck.check(write("x.o", elf(2, 1, 1, 62, 0))));
        assertThat(obj.reason()).isEqualTo(Reason.NOT_EXECUTABLE);
        assertThat(obj.getMessage()).contains("object file");
    }

    @Test
    void truncatedBinariesAreReportedAsTruncated() throws IOException {
        assumeTrue(Files.isRegularFile(BUSYBOX), "/bin/busybox missing: install the Debian package busybox-static");
        byte[] full = Files.readAllBytes(BUSYBOX);
        for (int cut : new int[] {30, 63, 100, full.length / 2}) {
            Path p = write("cut-" + cut, Arrays.copyOf(full, cut));
            BinaryCheckException e = failure(() -> StaticBinaryCheck.check(p));
            assertThat(e.reason()).as("cut at %d", cut).isEqualTo(Reason.TRUNCATED);
            assertThat(e.getMessage()).contains("truncated", cut + " bytes");
        }
        Path tiny = write("cut-3", Arrays.copyOf(full, 3));
        assertThat(failure(() -> StaticBinaryCheck.check(tiny)).reason()).isEqualTo(Reason.NOT_ELF);
    }

    @Test
    void programHeaderOffsetsBeyondTheFileAreTruncationNotCrashes() throws IOException {
        byte[] bytes = elf(2, 1, 2, 62, 0x401000, new long[] {1, 0, 64});
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(32, -8L); // e_phoff = 2^64 - 8
        assertThat(failure(() -> StaticBinaryCheck.check(write("wild", bytes))).reason()).isEqualTo(Reason.TRUNCATED);
        byte[] badSeg = elf(2, 1, 2, 62, 0x401000, new long[] {1, Long.MAX_VALUE, 64});
        assertThat(failure(() -> StaticBinaryCheck.check(write("wildseg", badSeg))).reason()).isEqualTo(Reason.TRUNCATED);
        byte[] noPh = elf(2, 1, 2, 62, 0x401000);
        assertThat(failure(() -> StaticBinaryCheck.check(write("noph", noPh))).reason()).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void missingFilesAndDirectoriesAreNamed() {
        Path missing = tmp.resolve("missing");
        assertThat(failure(() -> StaticBinaryCheck.check(missing)).reason()).isEqualTo(Reason.NOT_FOUND);
        assertThat(failure(() -> StaticBinaryCheck.check(tmp)).reason()).isEqualTo(Reason.NOT_REGULAR_FILE);
    }
}
