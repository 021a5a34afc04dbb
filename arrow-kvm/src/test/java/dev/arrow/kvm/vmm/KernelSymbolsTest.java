package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelSymbolsTest {

    @Test
    void aRipIsNamedByTheFunctionItLiesIn(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/gcc")) && Files.isExecutable(Path.of("/usr/bin/nm")),
                "gcc and nm (build-essential) are needed to make an object file with known symbols");
        Path source = Files.writeString(dir.resolve("two.c"),
                "void first(void) { __asm__ volatile(\".fill 32, 1, 0x90\"); }\nvoid second(void) { }\n");
        Path object = dir.resolve("two.o");
        Process cc = new ProcessBuilder("gcc", "-O0", "-fno-asynchronous-unwind-tables", "-c", "-o", object.toString(),
                source.toString()).inheritIO().start();
        assertThat(cc.waitFor()).isZero();
        KernelSymbols symbols = KernelSymbols.of(object);
        assertThat(symbols.name(0x0)).isEqualTo("first+0x0");
        assertThat(symbols.name(0x5)).isEqualTo("first+0x5");
        String second = symbols.annotate("rip 0x40");
        assertThat(second).matches("rip 0x40 <(first|second)\\+0x[0-9a-f]+>");
        assertThat(symbols.annotate("vCPU 0: rip 0x0 rsp 0x10, vCPU 1: rip 0x3 rsp 0x0"))
                .isEqualTo("vCPU 0: rip 0x0 <first+0x0> rsp 0x10, vCPU 1: rip 0x3 <first+0x3> rsp 0x0");
    }

    @Test
    void withoutSymbolsARipStaysAsItIs() {
        KernelSymbols none = KernelSymbols.of(Path.of("/no/such/vmlinux"));
        assertThat(none.name(0x1000)).isEmpty();
        assertThat(none.annotate("vCPU 0: rip 0x1000 rsp 0x2")).isEqualTo("vCPU 0: rip 0x1000 rsp 0x2");
    }
}
