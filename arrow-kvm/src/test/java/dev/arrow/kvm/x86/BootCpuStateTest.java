package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BootCpuStateTest {

    @Test
    void linux64EntersLongModeWithPagingOnTheBootTables() {
        BootCpuState s = BootCpuState.linux64(0x1000000);
        assertThat(s.cr0() & 0x8000_0001L).as("PG and PE").isEqualTo(0x8000_0001L);
        assertThat(s.cr4() & 0x20).as("PAE").isNotZero();
        assertThat(s.efer() & 0x500).as("LME and LMA").isEqualTo(0x500);
        assertThat(s.cr3()).isEqualTo(Layout.PML4_ADDRESS);
    }

    @Test
    void registersFollowTheBootProtocol() {
        BootCpuState s = BootCpuState.linux64(0x100200);
        assertThat(s.rip()).isEqualTo(0x100200);
        assertThat(s.rsi()).as("RSI = boot_params").isEqualTo(Layout.ZERO_PAGE_ADDRESS);
        assertThat(s.rsp()).isEqualTo(Layout.BOOT_STACK_POINTER);
        assertThat(s.rflags()).as("IF clear, reserved bit 1 set").isEqualTo(0x2);
        assertThat(s.code().selector()).isEqualTo(0x10);
        assertThat(s.code().l()).isTrue();
        assertThat(s.data().selector()).isEqualTo(0x18);
        assertThat(s.tss().type()).isEqualTo(0xb);
    }

    @Test
    void descriptorTablesPointAtTheLayout() {
        BootCpuState s = BootCpuState.linux64(0x1000000);
        assertThat(s.gdtBase()).isEqualTo(Layout.GDT_ADDRESS);
        assertThat(s.gdtLimit()).isEqualTo(Gdt.SIZE - 1);
        assertThat(s.idtBase()).isEqualTo(Layout.IDT_ADDRESS);
        assertThat(s.idtLimit()).isEqualTo(7);
    }

    @Test
    void entryMustBeAnAddress() {
        assertThatThrownBy(() -> BootCpuState.linux64(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
