package dev.arrow.kvm.vmm;

import dev.arrow.kvm.Asm;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.testing.ElfWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal initramfs for boot tests: a newc cpio with /dev, /dev/console and a static x86-64
 * /init assembled here, which prints a greeting, reports {@code arrow-status exited 0} on the
 * status port (after ioperm) and reboots (RB_AUTOBOOT), as Arrow's real init does.
 */
final class Initramfs {
    static final String GREETING = "hello from init\n";
    static final String STATUS = "arrow-status exited 0";
    private static final long INIT_BASE = 0x400000;

    private Initramfs() {
    }

    /** The init program: a static ELF64 executable. */
    static byte[] init() {
        int codeStart = ElfWriter.headersSize(1);
        int codeLength = initCode(0).here();
        byte[] code = initCode(INIT_BASE + codeStart + codeLength).raw(GREETING.getBytes(StandardCharsets.US_ASCII)).bytes();
        int size = codeStart + code.length;
        return ElfWriter.executable().entry(INIT_BASE + codeStart)
                .segment(ElfWriter.PT_LOAD, 0, INIT_BASE, size, size) // the whole file
                .contents(code).bytes();
    }

    private static Asm initCode(long greetingAddress) {
        return Asm.longMode()
                // write(1, greeting, length)
                .movRax(1).movRdi(1).movRsi(greetingAddress).movRdx(GREETING.length()).syscall()
                // ioperm(0xf4, 1, 1)
                .movRax(173).movRdi(Layout.STATUS_PORT).movRsi(1).movRdx(1).syscall()
                .outString(Layout.STATUS_PORT, STATUS + "\n")
                // reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_RESTART)
                .movRax(169).movRdi(0xFEE1DEADL).movRsi(0x28121969L).movRdx(0x01234567L).syscall()
                // exit(1) if reboot returned
                .movRax(60).movRdi(1).syscall();
    }

    /** The cpio archive (newc): /dev, /dev/console (char 5:1) and /init. */
    static byte[] cpio() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        entry(out, 1, "dev", 0040755, 0, 0, new byte[0]);
        entry(out, 2, "dev/console", 0020600, 5, 1, new byte[0]);
        entry(out, 3, "init", 0100755, 0, 0, init());
        entry(out, 0, "TRAILER!!!", 0, 0, 0, new byte[0]);
        return out.toByteArray();
    }

    private static void entry(ByteArrayOutputStream out, int ino, String name, int mode, int rdevMajor,
                              int rdevMinor, byte[] data) {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        String header = String.format("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0);
        out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(nameBytes);
        pad(out);
        out.writeBytes(data);
        pad(out);
    }

    private static void pad(ByteArrayOutputStream out) {
        while (out.size() % 4 != 0) {
            out.write(0);
        }
    }
}
