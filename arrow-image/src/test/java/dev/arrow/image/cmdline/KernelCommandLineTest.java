package dev.arrow.image.cmdline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class KernelCommandLineTest {
    @Test
    void defaultsAreQuietSerialAndEndTheVmOnRebootOrPanic() {
        assertThat(KernelCommandLine.builder().build().toString()).isEqualTo("console=ttyS0 reboot=k panic=-1 quiet loglevel=0");
    }

    @Test
    void debugPrintsEverythingFromEarlyBootOn() {
        String line = KernelCommandLine.builder().debug(true).build().toString();
        assertThat(line).isEqualTo("console=ttyS0 earlyprintk=serial,ttyS0 loglevel=8 reboot=k panic=-1");
        assertThat(line).doesNotContain("quiet");
    }

    @Test
    void paramsReplaceDefaultsInPlaceAndAppendNewOnes() {
        String line = KernelCommandLine.builder().param("reboot", "t").flag("nokaslr").param("loglevel", "3").build().toString();
        assertThat(line).isEqualTo("console=ttyS0 reboot=t panic=-1 quiet loglevel=3 nokaslr");
        assertThat(KernelCommandLine.builder().remove("quiet").build().toString()).doesNotContain("quiet");
    }

    @Test
    void virtioMmioDevicesAreAnnouncedInOrder() {
        String line = KernelCommandLine.builder()
                .virtioMmio(VirtioMmioDevice.at(0xd000_0000L, 5))
                .virtioMmio(new VirtioMmioDevice(0xd000_1000L, 0x200, 6))
                .build().toString();
        assertThat(line).endsWith(" virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=512@0xd0001000:6");
    }

    @Test
    void valuesWithSpacesAreQuoted() {
        assertThat(KernelCommandLine.builder().param("dyndbg", "file foo.c +p").build().toString()).endsWith(" dyndbg=\"file foo.c +p\"");
    }

    @Test
    void badKeysAndValuesAreRejected() {
        KernelCommandLine.Builder b = KernelCommandLine.builder();
        assertThatThrownBy(() -> b.param("", "x")).isInstanceOf(InvalidCommandLineException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> b.param("a b", "x")).hasMessageContaining("a space");
        assertThatThrownBy(() -> b.param("a=b", "x")).hasMessageContaining("'='");
        assertThatThrownBy(() -> b.flag("x\ny")).hasMessageContaining("a newline");
        assertThatThrownBy(() -> b.param("k", "a\nb")).hasMessageContaining("a newline");
        assertThatThrownBy(() -> b.param("k", "a\0b")).hasMessageContaining("a NUL");
        assertThatThrownBy(() -> b.param("k", "say \"hi\"")).hasMessageContaining("double quote");
        assertThatThrownBy(() -> b.param("k", "caf\u00e9")).hasMessageContaining("U+00E9");
        assertThatThrownBy(() -> b.flag("--")).hasMessageContaining("run spec");
    }

    @Test
    void lengthLimitIsTheKernelsIncludingTheNul() {
        int base = KernelCommandLine.builder().build().length();
        int room = KernelCommandLine.MAX_LENGTH - base - " x=".length();
        KernelCommandLine atLimit = KernelCommandLine.builder().param("x", "v".repeat(room)).build();
        assertThat(atLimit.length()).isEqualTo(2047);
        assertThat(atLimit.toNulTerminatedBytes()).hasSize(2048);
        assertThatThrownBy(() -> KernelCommandLine.builder().param("x", "v".repeat(room + 1)).build())
                .isInstanceOf(InvalidCommandLineException.class).hasMessageContaining("2048").hasMessageContaining("2047");
    }

    @Test
    void tooManyDevicesOverflowTheLine() {
        KernelCommandLine.Builder b = KernelCommandLine.builder();
        for (int i = 0; i < 80; i++) b.virtioMmio(VirtioMmioDevice.at(0xd000_0000L + 0x1000L * i, 5 + i));
        assertThatThrownBy(b::build).hasMessageContaining("virtio-mmio");
    }

    @Test
    void nulTerminatedBytesAreAscii() {
        byte[] bytes = KernelCommandLine.builder().build().toNulTerminatedBytes();
        assertThat(bytes[bytes.length - 1]).isZero();
        assertThat(new String(bytes, 0, bytes.length - 1, StandardCharsets.US_ASCII)).isEqualTo(KernelCommandLine.builder().build().toString());
    }

    @Test
    void deviceWindowsAreValidated() {
        assertThatThrownBy(() -> new VirtioMmioDevice(0x1000, 0, 5)).hasMessageContaining("positive");
        assertThatThrownBy(() -> new VirtioMmioDevice(Long.MAX_VALUE, 0x1000, 5)).hasMessageContaining("wraps");
        assertThatThrownBy(() -> new VirtioMmioDevice(0x1000, 0x1000, 0)).hasMessageContaining("irq");
        assertThat(new VirtioMmioDevice(0x1_0000_0000L, 2L << 20, 9).parameterValue()).isEqualTo("2M@0x100000000:9");
        assertThat(new VirtioMmioDevice(0x1_0000_0000L, 2L << 20, 9).parameter())
                .isEqualTo("virtio_mmio.device=2M@0x100000000:9");
        assertThat(new VirtioMmioDevice(0xd000_0000L, 3000, 5).parameter()).isEqualTo("virtio_mmio.device=3000@0xd0000000:5");
    }
}
