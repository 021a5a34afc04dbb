package dev.arrow.image.init;

import dev.arrow.image.cmdline.KernelParameters;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.testing.QemuCondition;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Test harness for tier 3 networking: a guest under QEMU TCG ({@code -M microvm,acpi=off}, as in
 * {@link QemuTcg}; without ACPI QEMU announces its virtio-mmio devices on the kernel command line,
 * which is what our ACPI-less kernel reads) whose virtio-net card (QEMU's own virtio-net-device on virtio-mmio) is
 * connected to a real passt over its Unix stream socket ({@code -netdev stream}), the way Arrow's
 * VMM connects its own virtio-net device. passt gets the same address plan and options as
 * {@code dev.arrow.kvm.net.PasstCommand} builds (guest 10.0.2.15/24, gateway 10.0.2.2, DNS
 * 10.0.2.3). QEMU starts paused ({@code -S}) and is resumed through its monitor once passt has
 * accepted its connection, so the guest's link is up from its first instruction, as with Arrow's
 * VMM. The guest may run for as long as the test needs; {@link #close()} kills QEMU and passt and
 * removes their files.
 */
final class PasstQemu implements AutoCloseable {
    static final String PASST = "passt";
    static final String MAC = "02:41:52:52:4f:57";

    private final Path dir;
    private final Process passt;
    private final Process qemu;
    private final Path serial;
    private final Path passtLog;
    private final Path qemuLog;

    private PasstQemu(Path dir, Process passt, Process qemu) {
        this.dir = dir;
        this.passt = passt;
        this.qemu = qemu;
        this.serial = dir.resolve("serial.out");
        this.passtLog = dir.resolve("passt.log");
        this.qemuLog = dir.resolve("qemu.log");
    }

    /** Starts passt with {@code forwards} (e.g. {@code "-t", "18080:80"}) and boots the guest connected to it. */
    static PasstQemu boot(Path kernel, Initramfs initramfs, List<String> forwards) throws IOException, InterruptedException {
        // World-traversable private directory: as root, passt drops to nobody before binding its socket.
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "arrow-net-tcg-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path socket = dir.resolve("passt.sock");
        // Never --debug: the debug logging of Debian 12's passt crashes it (SIGSEGV) on the first TCP connection.
        List<String> passtCmd = new ArrayList<>(List.of(PASST, "--foreground", "--one-off", "--ipv4-only",
                "--socket", socket.toString(), "--address", "10.0.2.15", "--netmask", "24", "--gateway", "10.0.2.2",
                "--dns-forward", "10.0.2.3", "--no-dhcp"));
        passtCmd.addAll(forwards);
        Process passt = new ProcessBuilder(passtCmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("passt.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (unixSockets(socket, LISTENING) == 0) { // QEMU 7.2 connects once and does not retry
            if (!passt.isAlive() || System.nanoTime() > deadline) {
                passt.destroyForcibly();
                String log = Files.readString(dir.resolve("passt.log"));
                deleteTree(dir);
                throw new IOException("passt did not start: " + log);
            }
            Thread.sleep(20);
        }
        Path initrd = dir.resolve("initrd.cpio");
        initramfs.writeTo(initrd);
        KernelParameters cmdline = QemuStatusChannel.kernelParameters(KernelParameters.forInit(false));
        Path monitor = dir.resolve("monitor.sock");
        List<String> cmd = new ArrayList<>(List.of(QemuCondition.QEMU, "-S", "-monitor", "unix:" + monitor + ",server=on,wait=off",
                "-M", "microvm,acpi=off", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "256M",
                "-nodefaults", "-no-reboot", "-display", "none",
                "-kernel", kernel.toString(), "-initrd", initrd.toString(), "-append", cmdline.joined(),
                "-serial", "file:" + dir.resolve("serial.out"),
                "-netdev", "stream,id=n0,server=off,addr.type=unix,addr.path=" + socket,
                "-device", "virtio-net-device,netdev=n0,mac=" + MAC));
        cmd.addAll(QemuStatusChannel.qemuArguments(dir.resolve("status.out")));
        Process qemu = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        PasstQemu vm = new PasstQemu(dir, passt, qemu);
        try {
            vm.resumeWhenConnected(socket, monitor);
        } catch (IOException | RuntimeException e) {
            vm.close();
            throw e;
        }
        return vm;
    }

    /** Waits until QEMU's connection to passt is established, then tells QEMU's monitor to start the guest. */
    private void resumeWhenConnected(Path socket, Path monitor) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (unixSockets(socket, CONNECTED) == 0) {
            if (!qemu.isAlive() || !passt.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("QEMU did not connect to passt; " + diagnostics());
            }
            Thread.sleep(20);
        }
        while (!Files.exists(monitor)) {
            if (System.nanoTime() > deadline) {
                throw new IOException("QEMU's monitor did not open; " + diagnostics());
            }
            Thread.sleep(20);
        }
        // "cont", then "info status" until QEMU says it runs: a command sent before the monitor reads
        // may go unanswered, and a guest left paused looks like one that never boots.
        StringBuilder transcript = new StringBuilder();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(monitor));
            ch.configureBlocking(false);
            ByteBuffer reply = ByteBuffer.allocate(4096);
            for (int attempt = 0; attempt < 5; attempt++) {
                ch.write(ByteBuffer.wrap("cont\ninfo status\n".getBytes(StandardCharsets.US_ASCII)));
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                while (System.nanoTime() < until) {
                    reply.clear();
                    int n = ch.read(reply);
                    if (n < 0) {
                        throw new IOException("QEMU's monitor closed; it said: " + transcript + "; " + diagnostics());
                    }
                    transcript.append(new String(reply.array(), 0, reply.position(), StandardCharsets.ISO_8859_1));
                    if (transcript.indexOf("VM status: running") >= 0) {
                        return;
                    }
                    Thread.sleep(10);
                }
            }
        }
        throw new IOException("QEMU did not start the guest after 'cont'; its monitor said: " + transcript + "; "
                + diagnostics());
    }

    private static final int LISTENING = 0;
    private static final int CONNECTED = 1;

    /**
     * How many sockets named {@code socket} are listening (flag __SO_ACCEPTCON) or connected
     * (state SS_CONNECTED, also before passt accepts), as /proc/net/unix shows them. Connecting to
     * find out would use up passt's one client.
     */
    private static int unixSockets(Path socket, int which) throws IOException {
        String path = socket.toString();
        int n = 0;
        for (String line : Files.readAllLines(Path.of("/proc/net/unix"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 8 || !f[7].equals(path)) {
                continue;
            }
            boolean listening = (Integer.parseInt(f[3], 16) & 0x10000) != 0;
            boolean connected = f[5].equals("03");
            if (which == LISTENING ? listening : connected) {
                n++;
            }
        }
        return n;
    }

    /** Waits for the guest to end by itself; false on timeout. */
    boolean waitForExit(Duration timeout) throws InterruptedException {
        return qemu.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    boolean isRunning() {
        return qemu.isAlive();
    }

    int qemuExitCode() {
        return qemu.exitValue();
    }

    String console() throws IOException {
        return Files.exists(serial) ? Files.readString(serial, StandardCharsets.ISO_8859_1) : "";
    }

    /** Status records init wrote, decoded. */
    List<InitStatus> statusRecords() throws IOException {
        Path status = dir.resolve("status.out");
        InitStatusDecoder decoder = new InitStatusDecoder();
        List<InitStatus> records = new ArrayList<>();
        if (Files.exists(status)) for (byte b : Files.readAllBytes(status)) decoder.accept(b).ifPresent(records::add);
        return records;
    }

    /** Waits until init reports boot mark {@code name} (e.g. app-exec). */
    void awaitMark(String name, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (statusRecords().stream().noneMatch(r -> r instanceof InitStatus.Mark m && m.name().equals(name))) {
            if (!qemu.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("no mark " + name + " from init; " + diagnostics());
            }
            Thread.sleep(50);
        }
    }

    /** Console, status, QEMU and passt output, for assertion messages. */
    String diagnostics() throws IOException {
        return "console:\n" + console() + "\nstatus: " + statusRecords() + "\nqemu:\n"
                + (Files.exists(qemuLog) ? Files.readString(qemuLog) : "") + "\npasst ("
                + (passt.isAlive() ? "running" : "exited with " + passt.exitValue()) + "):\n"
                + (Files.exists(passtLog) ? Files.readString(passtLog) : "");
    }

    @Override
    public void close() throws InterruptedException {
        qemu.destroyForcibly();
        qemu.waitFor(10, TimeUnit.SECONDS);
        passt.destroy();
        if (!passt.waitFor(5, TimeUnit.SECONDS)) {
            passt.destroyForcibly();
            passt.waitFor(5, TimeUnit.SECONDS);
        }
        deleteTree(dir);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort in a test
        }
    }
}
