package dev.arrow.image.init;

import dev.arrow.image.cmdline.KernelParameters;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.testing.QemuCondition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test harness for tier 3: boots the guest kernel with an initramfs under plain QEMU TCG and
 * collects the serial console and the status port.
 *
 * <p>Machine: {@code -M microvm} with its defaults (ISA serial at 0x3F8, PIC/PIT/IOAPIC) and no
 * i8042. With {@code reboot=k} the kernel's keyboard-controller reset finds no controller and
 * falls through to its other reset methods, which reset the machine; {@code -no-reboot} turns
 * that reset into QEMU exiting, so a boot ends on its own in ~2-3 s. The status port 0xF4 is an
 * {@code isa-debugcon} writing to a file, init writing to it byte by byte ({@link QemuStatusChannel}). QEMU always
 * runs under a hard timeout and is killed when it overruns.
 */
final class QemuTcg {
    record Boot(String console, List<InitStatus> records, long ignoredStatusLines, int qemuExit, boolean timedOut, Duration elapsed,
                String qemuLog) {
        InitStatus finalStatus() {
            return records.stream().filter(InitStatus::isFinal).findFirst()
                    .orElseThrow(() -> new AssertionError("no final status from init; console:\n" + console + "\nqemu:\n" + qemuLog));
        }

        long mark(String name) {
            return records.stream().filter(r -> r instanceof InitStatus.Mark m && m.name().equals(name))
                    .mapToLong(r -> ((InitStatus.Mark) r).uptimeNanos()).findFirst()
                    .orElseThrow(() -> new AssertionError("no mark " + name + " in " + records));
        }
    }

    private QemuTcg() {
    }

    /**
     * QEMU's virtio-serial device with the four ports init looks for ({@link InitProtocol}'s names), standing in for
     * Arrow's virtio console: stdin and control are pipe chardevs (QEMU reads FIFO {@code <base>.in}), stdout and stderr
     * go to files. Without ACPI, microvm announces its virtio-mmio devices on the command line, as the guest kernel needs.
     */
    static List<String> virtioSerial(Path stdinPipe, Path stdout, Path stderr, Path controlPipe) {
        return List.of("-machine", "acpi=off", "-device", "virtio-serial-device",
                "-chardev", "pipe,id=cin,path=" + stdinPipe,
                "-device", "virtserialport,chardev=cin,name=" + InitProtocol.STDIN_PORT_NAME + ",nr=1",
                "-chardev", "file,id=cout,path=" + stdout,
                "-device", "virtserialport,chardev=cout,name=" + InitProtocol.STDOUT_PORT_NAME + ",nr=2",
                "-chardev", "file,id=cerr,path=" + stderr,
                "-device", "virtserialport,chardev=cerr,name=" + InitProtocol.STDERR_PORT_NAME + ",nr=3",
                "-chardev", "pipe,id=cctl,path=" + controlPipe,
                "-device", "virtserialport,chardev=cctl,name=" + InitProtocol.CONTROL_PORT_NAME + ",nr=4");
    }

    static Boot boot(Path kernel, Initramfs initramfs, KernelParameters cmdline, Path workDir, Duration timeout) throws IOException {
        return boot(kernel, initramfs, cmdline, workDir, timeout, List.of());
    }

    /** As above, with {@code extraArgs} (e.g. more devices) appended to QEMU's command line. */
    static Boot boot(Path kernel, Initramfs initramfs, KernelParameters cmdline, Path workDir, Duration timeout,
                     List<String> extraArgs) throws IOException {
        Path initrd = workDir.resolve("initrd.cpio");
        Path serial = workDir.resolve("serial.out");
        Path status = workDir.resolve("status.out");
        Path log = workDir.resolve("qemu.log");
        initramfs.writeTo(initrd);
        List<String> cmd = new ArrayList<>(List.of(QemuCondition.QEMU,
                "-M", "microvm", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "256M",
                "-nodefaults", "-no-reboot", "-display", "none",
                "-kernel", kernel.toString(), "-initrd", initrd.toString(),
                "-append", QemuStatusChannel.kernelParameters(cmdline).joined(),
                "-serial", "file:" + serial));
        cmd.addAll(QemuStatusChannel.qemuArguments(status));
        cmd.addAll(extraArgs);
        long start = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        boolean timedOut;
        try {
            timedOut = !p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (timedOut) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while QEMU ran", e);
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
        InitStatusDecoder decoder = new InitStatusDecoder();
        List<InitStatus> records = new ArrayList<>();
        if (Files.exists(status)) for (byte b : Files.readAllBytes(status)) decoder.accept(b).ifPresent(records::add);
        String console = Files.exists(serial) ? Files.readString(serial, StandardCharsets.ISO_8859_1) : "";
        String qemuLog = Files.exists(log) ? Files.readString(log, StandardCharsets.ISO_8859_1) : "";
        return new Boot(console, records, decoder.ignoredLines(), timedOut ? -1 : p.exitValue(), timedOut, elapsed, qemuLog);
    }
}
