package dev.arrow.image.init;

import dev.arrow.image.cmdline.KernelParameters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How tier 3's QEMU carries init's status channel: an {@code isa-debugcon} at {@link InitProtocol#STATUS_PORT} writing to
 * a file, and init told by {@link InitProtocol#BYTEWISE_STATUS_PARAMETER} to write one byte per {@code outb}. The
 * debugcon is one byte wide ({@code valid.max_access_size = 1} in QEMU's hw/char/debugcon.c), and under TCG an
 * {@code outl} reaches its 1-byte region as one 4-byte access, which QEMU's memory core refuses whole ("Invalid write
 * ... size 4, region 'isa-debugcon', reason: invalid size (min:1 max:1)" with {@code -d guest_errors}), so init's
 * default 4-byte writes would never arrive. Used by {@link QemuTcg} and {@link PasstQemu}.
 */
final class QemuStatusChannel {
    private QemuStatusChannel() {
    }

    /** QEMU's arguments for the status port, its bytes written to {@code file}. */
    static List<String> qemuArguments(Path file) {
        return List.of("-chardev", "file,id=st,path=" + file,
                "-device", "isa-debugcon,iobase=0x" + Integer.toHexString(InitProtocol.STATUS_PORT) + ",chardev=st");
    }

    /** {@code parameters} and the one that makes init write its status lines byte by byte. */
    static KernelParameters kernelParameters(KernelParameters parameters) {
        List<String> entries = new ArrayList<>(parameters.entries());
        entries.add(InitProtocol.BYTEWISE_STATUS_PARAMETER);
        return new KernelParameters(entries);
    }
}
