package dev.arrow.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class ElfWriterTest {
    @Test
    void aProgramIsOneLoadOfItsCodeEnteredAtItsAddress() {
        byte[] code = {(byte) 0xF4, (byte) 0xEB, (byte) 0xFD};
        ByteBuffer elf = ByteBuffer.wrap(ElfWriter.program(0x100000, code)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(elf.capacity()).isEqualTo(64 + 56 + code.length);
        assertThat(elf.getInt(0)).isEqualTo(0x464C457F);              // \x7fELF
        assertThat(elf.get(4)).isEqualTo((byte) ElfWriter.ELFCLASS64);
        assertThat(elf.get(5)).isEqualTo((byte) ElfWriter.ELFDATA2LSB);
        assertThat(elf.getShort(16)).isEqualTo((short) ElfWriter.ET_EXEC);
        assertThat(elf.getShort(18)).isEqualTo((short) ElfWriter.EM_X86_64);
        assertThat(elf.getLong(24)).as("e_entry").isEqualTo(0x100000);
        assertThat(elf.getLong(32)).as("e_phoff").isEqualTo(64);
        assertThat(elf.getShort(54)).as("e_phentsize").isEqualTo((short) 56);
        assertThat(elf.getShort(56)).as("e_phnum").isEqualTo((short) 1);
        assertThat(elf.getInt(64)).as("p_type").isEqualTo(ElfWriter.PT_LOAD);
        assertThat(elf.getLong(64 + 8)).as("p_offset").isEqualTo(120);
        assertThat(elf.getLong(64 + 16)).as("p_vaddr").isEqualTo(0x100000);
        assertThat(elf.getLong(64 + 32)).as("p_filesz").isEqualTo(code.length);
        assertThat(elf.get(120)).isEqualTo(code[0]);
    }

    @Test
    void bigEndianDataWritesEveryFieldBigEndian() {
        byte[] bytes = ElfWriter.executable().data(ElfWriter.ELFDATA2MSB).machine(22).entry(0x1000)
                .segment(ElfWriter.PT_LOAD, 0, 0x1000, 64, 64).bytes();
        ByteBuffer elf = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        assertThat(elf.getShort(18)).isEqualTo((short) 22);
        assertThat(elf.getLong(24)).isEqualTo(0x1000);
        assertThat(elf.getLong(64 + 32)).isEqualTo(64);
    }

    @Test
    void withoutSegmentsOrContentsItIsTheHeaderAlone() {
        assertThat(ElfWriter.executable().bytes()).hasSize(ElfWriter.HEADER_SIZE);
    }
}
