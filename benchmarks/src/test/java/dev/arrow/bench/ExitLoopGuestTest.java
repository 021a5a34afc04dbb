package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class ExitLoopGuestTest {

    @Test
    void codeLoopsOverThePortWritesThenPulsesTheResetLine() {
        byte[] code = ExitLoopGuest.code(100000);
        assertThat(code[0] & 0xFF).isEqualTo(0xB9); // mov ecx, imm32
        assertThat(ByteBuffer.wrap(code, 1, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()).isEqualTo(100000);
        assertThat(code[5] & 0xFF).isEqualTo(0xE6);                     // out imm8, al
        assertThat(code[6] & 0xFF).isEqualTo(ExitLoopGuest.LOOP_PORT);
        assertThat(code[9] & 0xFF).isEqualTo(0x75);                     // jnz back to the out
        assertThat(11 + code[10]).isEqualTo(5);
        assertThat(new byte[] {code[11], code[12], code[13], code[14]})
                .containsExactly(0xB0, 0xFE, 0xE6, 0x64);               // mov al, 0xfe; out 0x64, al
    }

    @Test
    void aLoopNeedsAtLeastOneWrite() {
        assertThatThrownBy(() -> ExitLoopGuest.code(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theElfLoadsAndEntersTheCodeAtOneMebibyte() {
        byte[] code = ExitLoopGuest.code(3);
        ByteBuffer elf = ByteBuffer.wrap(ExitLoopGuest.elf(code)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(elf.getInt(0)).isEqualTo(0x464C457F);
        assertThat(elf.getLong(24)).isEqualTo(ExitLoopGuest.LOAD_ADDRESS);      // entry
        assertThat(elf.getLong(64 + 16)).isEqualTo(ExitLoopGuest.LOAD_ADDRESS); // p_vaddr
        assertThat(elf.getLong(64 + 32)).isEqualTo(code.length);                // p_filesz
        byte[] payload = new byte[code.length];
        elf.get(120, payload);
        assertThat(payload).isEqualTo(code);
    }
}
