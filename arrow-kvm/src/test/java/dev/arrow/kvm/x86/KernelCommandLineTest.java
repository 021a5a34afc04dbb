package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class KernelCommandLineTest {

    @Test
    void entriesAreAppendedInOrderSeparatedByOneSpace() {
        KernelCommandLine line = KernelCommandLine.of("console=ttyS0", "quiet").with("loglevel", "0").with("nokaslr");
        assertThat(line).hasToString("console=ttyS0 quiet loglevel=0 nokaslr");
        assertThat(line.entries()).containsExactly("console=ttyS0", "quiet", "loglevel=0", "nokaslr");
        assertThat(line.length()).isEqualTo(line.toString().length());
        assertThat(KernelCommandLine.empty()).hasToString("");
    }

    @Test
    void appendingReturnsANewLine() {
        KernelCommandLine line = KernelCommandLine.of("quiet");
        line.with("panic", "-1");
        assertThat(line).hasToString("quiet");
    }

    @Test
    void anEqualEntryIsNotAddedTwiceButAKeyMayRepeat() {
        KernelCommandLine line = KernelCommandLine.of("console=ttyS0", "quiet");
        assertThat(line.with("console", "ttyS0").with("quiet")).isEqualTo(line);
        assertThat(line.with("console=tty0")).hasToString("console=ttyS0 quiet console=tty0");
    }

    @Test
    void aParameterIsSplitAtItsFirstEqualsSign() {
        assertThat(KernelCommandLine.of("earlyprintk=serial,ttyS0", "x=a=b").entries())
                .containsExactly("earlyprintk=serial,ttyS0", "x=a=b");
        assertThat(KernelCommandLine.of("k=")).hasToString("k=");
    }

    @Test
    void valuesWithSpacesAreQuoted() {
        assertThat(KernelCommandLine.empty().with("dyndbg", "file foo.c +p")).hasToString("dyndbg=\"file foo.c +p\"");
        assertThat(KernelCommandLine.of("dyndbg=file foo.c +p")).hasToString("dyndbg=\"file foo.c +p\"");
    }

    @Test
    void badKeysAndValuesAreRejected() {
        KernelCommandLine l = KernelCommandLine.empty();
        assertThatThrownBy(() -> l.with("", "x")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> l.with("=x")).hasMessageContaining("empty");
        assertThatThrownBy(() -> l.with("a b", "x")).hasMessageContaining("a space");
        assertThatThrownBy(() -> l.with("a b")).hasMessageContaining("a space");
        assertThatThrownBy(() -> l.with("x\ny")).hasMessageContaining("a newline");
        assertThatThrownBy(() -> l.with("k", "a\nb")).hasMessageContaining("a newline");
        assertThatThrownBy(() -> l.with("k", "a\0b")).hasMessageContaining("a NUL");
        assertThatThrownBy(() -> l.with("k", "say \"hi\"")).hasMessageContaining("double quote");
        assertThatThrownBy(() -> l.with("k", "caf\u00e9")).hasMessageContaining("U+00E9");
        assertThatThrownBy(() -> l.with("--")).hasMessageContaining("passes the rest to init");
        assertThatThrownBy(() -> l.with("k", null)).hasMessageContaining("null value");
    }

    @Test
    void lengthLimitIsTheBootProtocolsIncludingTheNul() {
        KernelCommandLine base = KernelCommandLine.of("console=ttyS0");
        int room = Layout.CMDLINE_MAX_SIZE - 1 - base.length() - " x=".length();
        KernelCommandLine atLimit = base.with("x", "v".repeat(room));
        assertThat(atLimit.length()).isEqualTo(2047);
        assertThat(atLimit.toNulTerminatedBytes()).hasSize(2048);
        assertThatThrownBy(() -> base.with("x", "v".repeat(room + 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2048").hasMessageContaining("2047");
        assertThatThrownBy(() -> atLimit.with("y")).hasMessageContaining("shorten it");
    }

    @Test
    void nulTerminatedBytesAreAscii() {
        KernelCommandLine line = KernelCommandLine.of("console=ttyS0", "panic=-1");
        byte[] bytes = line.toNulTerminatedBytes();
        assertThat(bytes[bytes.length - 1]).isZero();
        assertThat(new String(bytes, 0, bytes.length - 1, StandardCharsets.US_ASCII)).isEqualTo(line.toString());
    }
}
