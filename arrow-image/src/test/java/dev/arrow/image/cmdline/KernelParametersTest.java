package dev.arrow.image.cmdline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class KernelParametersTest {
    @Test
    void initsParametersAreQuietSerialAndEndTheVmOnRebootOrPanic() {
        assertThat(KernelParameters.forInit(false).joined()).isEqualTo("console=ttyS0 reboot=k,f panic=-1 noreplace-smp tsc=reliable quiet loglevel=1");
    }

    @Test
    void aDebugConsolePrintsEverythingFromEarlyBootOn() {
        KernelParameters debug = KernelParameters.forInit(true);
        assertThat(debug.joined()).isEqualTo("console=ttyS0 earlyprintk=serial,ttyS0 loglevel=8 reboot=k,f panic=-1 noreplace-smp tsc=reliable");
        assertThat(debug.entries()).doesNotContain("quiet");
    }

    @Test
    void theGuestResetsThroughTheI8042WithoutShuttingItsInterruptControllersDownFirst() {
        // k: the i8042 reset the VMM takes for the guest's end; f: no IO-APIC clearing (hundreds of emulated exits)
        for (boolean debug : new boolean[] {false, true}) {
            assertThat(KernelParameters.forInit(debug).entries()).contains("reboot=k,f").noneMatch(e -> e.equals("reboot=k"));
        }
    }

    @Test
    void aParameterIsOneWordSoTheJoinedLineKeepsTheList() {
        assertThatThrownBy(() -> new KernelParameters(List.of("dyndbg=file foo.c"))).hasMessageContaining("white space");
        assertThatThrownBy(() -> new KernelParameters(List.of(""))).hasMessageContaining("empty");
    }
}
