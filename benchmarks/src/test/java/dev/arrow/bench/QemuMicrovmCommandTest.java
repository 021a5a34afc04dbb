package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.image.init.InitProtocol;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 1: how the QEMU peer's command line carries init's status lines under each accelerator. */
class QemuMicrovmCommandTest {
    private static final String CMDLINE = "console=ttyS0 reboot=k";

    private static List<String> command(QemuMicrovm.Accelerator accelerator) {
        return new QemuMicrovm(Path.of("vmlinux"), Path.of("initrd"), CMDLINE, 64, accelerator)
                .command(Path.of("qmp.sock"), Path.of("status.sock"), Path.of("stdout.sock"));
    }

    private static String after(List<String> command, String option) {
        return command.get(command.indexOf(option) + 1);
    }

    @Test
    void fourDebugconsAtTheFourStatusPortsShareOneMultiplexedSocket() {
        for (QemuMicrovm.Accelerator accelerator : QemuMicrovm.Accelerator.values()) {
            List<String> c = command(accelerator);
            assertThat(c).containsSubsequence("-chardev", "socket,id=status,path=status.sock,server=off,mux=on");
            assertThat(c.stream().filter(a -> a.startsWith("isa-debugcon"))).containsExactly(
                    "isa-debugcon,iobase=0xf4,chardev=status", "isa-debugcon,iobase=0xf5,chardev=status",
                    "isa-debugcon,iobase=0xf6,chardev=status", "isa-debugcon,iobase=0xf7,chardev=status");
        }
    }

    @Test
    void onlyUnderTcgIsInitToldToWriteItsStatusLinesByteByByte() {
        assertThat(after(command(QemuMicrovm.Accelerator.KVM), "-append")).isEqualTo(CMDLINE);
        assertThat(after(command(QemuMicrovm.Accelerator.TCG), "-append"))
                .isEqualTo(CMDLINE + " " + InitProtocol.BYTEWISE_STATUS_PARAMETER);
    }
}
