package dev.arrow.image.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.testing.ElfWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: a kernel file's kind from its first bytes, and the errors for files that are no kernel. */
class KernelFormatTest {
    @TempDir
    Path tmp;

    /** The first 64 bytes of an ELF file of {@code elfClass} for {@code machine}. */
    static byte[] elfHeader(int elfClass, int machine) {
        return ElfWriter.executable().elfClass(elfClass).machine(machine).bytes();
    }

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    @Test
    void anX86_64ElfIsAVmlinux() throws IOException {
        assertThat(KernelFormat.check(file("vmlinux", elfHeader(2, 62)))).isEqualTo(KernelFormat.Kind.ELF_VMLINUX);
    }

    @Test
    void theBootProtocolsSignatureMakesABzImage() throws IOException {
        byte[] image = new byte[0x400];
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(0x202, 0x53726448);
        assertThat(KernelFormat.check(file("bzImage", image))).isEqualTo(KernelFormat.Kind.BZIMAGE);
    }

    @Test
    void anElfForAnotherMachineOrClassIsNamed() throws IOException {
        assertThatThrownBy(() -> KernelFormat.check(file("arm64", elfHeader(2, 183))))
                .isInstanceOf(KernelFormatException.class)
                .hasMessageContaining("is an ELF file for machine 183, not x86-64 (62)")
                .hasMessageContaining("give an uncompressed vmlinux or a bzImage");
        assertThatThrownBy(() -> KernelFormat.check(file("i386", elfHeader(1, 3))))
                .isInstanceOf(KernelFormatException.class).hasMessageContaining("is a 32-bit ELF file");
    }

    @Test
    void anythingElseIsNotAKernel() throws IOException {
        Path text = file("notes.txt", "just some text\n".getBytes());
        assertThatThrownBy(() -> KernelFormat.check(text))
                .isInstanceOf(KernelFormatException.class)
                .hasMessage("kernel " + text + " is not a Linux kernel image (15 bytes in all, no ELF header and no bzImage"
                        + " \"HdrS\" at 0x202): give an uncompressed vmlinux or a bzImage for x86-64"
                        + " (scripts/build-kernel.sh guest prints Arrow's), or leave the kernel unset to boot Arrow's"
                        + " default kernel");
        assertThatThrownBy(() -> KernelFormat.check(file("empty", new byte[0]))).isInstanceOf(KernelFormatException.class);
    }
}
