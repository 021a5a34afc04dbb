package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.image.init.InitStatus;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The peer: {@code qemu-system-x86_64 -M microvm} booting a given kernel, initramfs and command line
 * to the same end as an Arrow guest (init's i8042 reset), timed by this harness from the process
 * spawn. QEMU is told to pause instead of resetting ({@code -action reboot=shutdown,shutdown=pause})
 * so that KVM's counters of its VM can be read (debugfs) before it quits. init's status lines
 * arrive over a socket, so each mark gets its host arrival time, through four {@code isa-debugcon}s
 * at ports 0xF4..0xF7 sharing that socket (a {@code mux=on} chardev, which takes up to 4 devices and
 * passes their bytes through in order): an isa-debugcon is one byte wide, and QEMU under KVM hands a
 * port access wider than its device to the devices at the following ports byte by byte, so init's
 * {@code outl}s arrive whole and the guest makes the same status exits as in Arrow's VMM. QEMU's TCG
 * drops such an access instead, so under TCG init is told to write byte by byte
 * ({@link InitProtocol#BYTEWISE_STATUS_PARAMETER}), as in tier 3.
 *
 * <p>The guest gets the devices an arrow gets from {@code Arrow.start()}: a virtio console whose
 * ports are named as init looks for them ({@code arrow.stdin}, {@code arrow.stdout},
 * {@code arrow.stderr}, {@code arrow.control}: QEMU's virtio-serial), a virtio entropy source, a virtio
 * balloon with free page reporting (the command line must carry the balloon's reporting order, as Arrow's does), all
 * on modern virtio-mmio, the serial port for the kernel's log, the i8042 for the reset, and no PIT
 * under KVM ({@code pit=off}: Arrow's VMs have none, docs/boot-profile.md). The app's
 * stdout port is a socket, read by this harness (first output, the greeting). What still differs
 * from Arrow's VM is {@link #DIFFERENCES}.
 */
public final class QemuMicrovm {
    /**
     * What differs between this VM and the one {@code Arrow.start()} builds for the same image; the
     * report prints it beside the comparison.
     */
    static final String DIFFERENCES = "QEMU runs its firmware (qboot) first and enters the ELF vmlinux at its PVH entry point"
            + " (32-bit), Arrow enters it at its ELF entry in 64-bit mode;"
            + " QEMU's virtio-serial reserves port 0 for a console, so it has one unused port (12 queues against Arrow's 10);"
            + " QEMU's virtio devices offer their usual extra features (event index, indirect descriptors) and QEMU's own"
            + " virtio-mmio addresses and `virtio_mmio.device=` entries; the app's stdin, stderr and control ports go to"
            + " /dev/null in QEMU, to pipes in Arrow.";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long TIMEOUT_SECONDS = 120;
    /** Ports 1..4 carry Arrow's ports; port 0 is reserved by QEMU for a console. */
    private static final int MAX_PORTS = 5;

    /**
     * How QEMU runs the guest: KVM with the host's CPU and no PIT, as Arrow's VMs (the benchmark), or TCG with its most
     * capable CPU and the PIT (tests without /dev/kvm: TCG's CPU has no TSC-deadline timer and there is no kvmclock, so
     * the guest kernel needs the PIT, and panics "IO-APIC + timer doesn't work!" without it).
     */
    public enum Accelerator {
        KVM("kvm", "host", "off"), TCG("tcg", "max", "on");

        private final String accel;
        private final String cpu;
        private final String pit;

        Accelerator(String accel, String cpu, String pit) {
            this.accel = accel;
            this.cpu = cpu;
            this.pit = pit;
        }
    }

    /** A guest mark as received: guest uptime and host arrival, in ns since the spawn. */
    public record Mark(String name, long guestUptimeNanos, long sinceSpawnNanos) {
    }

    /**
     * One boot.
     *
     * @param spawnToResetNanos       spawn until QEMU announced the guest's reset (QMP SHUTDOWN, guest-reset)
     * @param spawnToFirstOutputNanos spawn until the first byte the app wrote to its stdout port; -1 if none
     * @param marks                   init's marks in arrival order
     * @param kvmStats                KVM's debugfs counters of the VM at the reset (empty without debugfs)
     * @param output                  what the app wrote to its stdout port
     * @param console                 what the guest wrote on the serial console (the kernel's log)
     * @param shutdownReason          the reason QEMU gave
     */
    public record Run(long spawnToResetNanos, long spawnToFirstOutputNanos, List<Mark> marks,
                      Map<String, Long> kvmStats, String output, String console, String shutdownReason) {
    }

    private final Path kernel;
    private final Path initrd;
    private final String commandLine;
    private final int memoryMiB;
    private final Accelerator accelerator;

    /** A peer booting {@code kernel} and {@code initrd} (an image with {@code stdio virtio}) with {@code commandLine}. */
    public QemuMicrovm(Path kernel, Path initrd, String commandLine, int memoryMiB, Accelerator accelerator) {
        this.kernel = kernel;
        this.initrd = initrd;
        this.commandLine = commandLine;
        this.memoryMiB = memoryMiB;
        this.accelerator = accelerator;
    }

    /** The command line, with the three socket paths. */
    public List<String> command(Path qmpSocket, Path statusSocket, Path stdoutSocket) {
        List<String> c = new ArrayList<>(List.of("qemu-system-x86_64", "-accel", accelerator.accel,
                // without ACPI, microvm announces its virtio-mmio devices on the kernel command line, as Arrow does
                "-M", "microvm,acpi=off,pcie=off,rtc=off,pit=" + accelerator.pit, "-global", "virtio-mmio.force-legacy=false",
                "-cpu", accelerator.cpu, "-smp", "1", "-m", memoryMiB + "M",
                "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-monitor", "none",
                "-device", "i8042",
                "-kernel", kernel.toString(), "-initrd", initrd.toString(),
                "-append", accelerator == Accelerator.TCG ? commandLine + " " + InitProtocol.BYTEWISE_STATUS_PARAMETER : commandLine,
                "-chardev", "socket,id=status,path=" + statusSocket + ",server=off,mux=on"));
        for (int port = InitProtocol.STATUS_PORT; port < InitProtocol.STATUS_PORT + InitProtocol.STATUS_PORT_COUNT; port++) {
            c.addAll(List.of("-device", "isa-debugcon,iobase=0x" + Integer.toHexString(port) + ",chardev=status"));
        }
        c.addAll(List.of("-device", "virtio-serial-device,max_ports=" + MAX_PORTS,
                "-chardev", "file,id=stdin,path=/dev/null",
                "-chardev", "socket,id=stdout,path=" + stdoutSocket + ",server=off",
                "-chardev", "file,id=stderr,path=/dev/null",
                "-chardev", "file,id=control,path=/dev/null"));
        String[][] ports = {{"stdin", InitProtocol.STDIN_PORT_NAME}, {"stdout", InitProtocol.STDOUT_PORT_NAME},
                {"stderr", InitProtocol.STDERR_PORT_NAME}, {"control", InitProtocol.CONTROL_PORT_NAME}};
        for (int i = 0; i < ports.length; i++) {
            c.addAll(List.of("-device", "virtserialport,chardev=" + ports[i][0] + ",name=" + ports[i][1] + ",nr=" + (i + 1)));
        }
        c.addAll(List.of("-device", "virtio-rng-device", "-device", "virtio-balloon-device,free-page-reporting=on",
                "-chardev", "socket,id=qmp,path=" + qmpSocket + ",server=off", "-mon", "chardev=qmp,mode=control",
                "-action", "reboot=shutdown,shutdown=pause"));
        return List.copyOf(c);
    }

    /** Boots once and returns what was measured; QEMU is gone when this returns. */
    public Run boot(Path workDir) throws IOException, InterruptedException {
        Path qmpPath = workDir.resolve("qmp.sock");
        Path statusPath = workDir.resolve("status.sock");
        Path stdoutPath = workDir.resolve("stdout.sock");
        for (Path p : List.of(qmpPath, statusPath, stdoutPath)) {
            Files.deleteIfExists(p);
        }
        ExecutorService threads = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "qemu-peer-io");
            t.setDaemon(true);
            return t;
        });
        Process qemu = null;
        try (ServerSocketChannel qmpServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             ServerSocketChannel statusServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             ServerSocketChannel stdoutServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            qmpServer.bind(UnixDomainSocketAddress.of(qmpPath));
            statusServer.bind(UnixDomainSocketAddress.of(statusPath));
            stdoutServer.bind(UnixDomainSocketAddress.of(stdoutPath));
            ProcessBuilder pb = new ProcessBuilder(command(qmpPath, statusPath, stdoutPath))
                    .redirectError(workDir.resolve("qemu.stderr").toFile());
            long t0 = System.nanoTime();
            qemu = pb.start();
            qemu.getOutputStream().close();
            Process started = qemu;
            Path consoleFile = workDir.resolve("console.out");
            Future<Long> console = threads.submit(() -> copy(started.getInputStream(), consoleFile, t0));
            Path stdoutFile = workDir.resolve("stdout.out");
            Future<Long> stdout = threads.submit(() -> {
                try (SocketChannel ch = stdoutServer.accept(); InputStream in = Channels.newInputStream(ch)) {
                    return copy(in, stdoutFile, t0);
                }
            });
            Future<List<Mark>> marks = threads.submit(() -> readMarks(statusServer, t0));
            Future<SocketChannel> qmpAccept = threads.submit(qmpServer::accept);
            SocketChannel qmp;
            try {
                qmp = qmpAccept.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
                throw new IOException("QEMU did not connect its QMP socket: " + e + "; stderr: " + stderr(workDir), e);
            }
            try (qmp) {
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(qmp), StandardCharsets.UTF_8));
                OutputStream out = Channels.newOutputStream(qmp);
                in.readLine(); // greeting
                send(out, "{\"execute\":\"qmp_capabilities\"}");
                String reason = null;
                long resetAt = -1;
                String line;
                while ((line = in.readLine()) != null) {
                    JsonNode msg = JSON.readTree(line);
                    if ("SHUTDOWN".equals(msg.path("event").asText())) {
                        resetAt = System.nanoTime() - t0;
                        reason = msg.path("data").path("reason").asText();
                        break;
                    }
                }
                if (resetAt < 0) {
                    throw new IOException("QEMU closed QMP before the guest ended; stderr: " + stderr(workDir));
                }
                Map<String, Long> stats = KvmDebugfs.readFor(qemu.pid());
                send(out, "{\"execute\":\"quit\"}");
                if (!qemu.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    throw new IOException("QEMU did not quit");
                }
                console.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                long firstOutput = stdout.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                List<Mark> received = marks.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                return new Run(resetAt, firstOutput, received, stats, Files.readString(stdoutFile, StandardCharsets.UTF_8),
                        Files.readString(consoleFile, StandardCharsets.UTF_8), reason);
            }
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            throw new IOException("the QEMU boot failed: " + e + "; stderr: " + stderr(workDir), e);
        } finally {
            if (qemu != null && qemu.isAlive()) {
                qemu.destroyForcibly();
                qemu.waitFor(10, TimeUnit.SECONDS);
            }
            threads.shutdownNow();
            for (Path p : List.of(qmpPath, statusPath, stdoutPath)) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String stderr(Path workDir) {
        try {
            return Files.readString(workDir.resolve("qemu.stderr")).strip();
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    private static void send(OutputStream out, String command) throws IOException {
        out.write((command + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Copies {@code in} to {@code file} until its end; returns when its first byte came (ns since the spawn), or -1. */
    private static long copy(InputStream in, Path file, long t0) throws IOException {
        long first = -1;
        byte[] buffer = new byte[4096];
        try (OutputStream copy = Files.newOutputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                if (first < 0) {
                    first = System.nanoTime() - t0;
                }
                copy.write(buffer, 0, n);
            }
        }
        return first;
    }

    private static List<Mark> readMarks(ServerSocketChannel server, long t0) throws IOException {
        List<Mark> marks = new ArrayList<>();
        try (SocketChannel ch = server.accept();
             InputStream in = Channels.newInputStream(ch)) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                if (b != '\n') {
                    if (line.size() < InitProtocol.STATUS_LINE_MAX_BYTES) {
                        line.write(b);
                    }
                    continue;
                }
                long at = System.nanoTime() - t0;
                InitStatus.parse(line.toString(StandardCharsets.US_ASCII)).ifPresent(s -> {
                    if (s instanceof InitStatus.Mark m) {
                        marks.add(new Mark(m.name(), m.uptimeNanos(), at));
                    }
                });
                line.reset();
            }
        }
        return marks;
    }

    /** The arguments as one shell-like line, for reports. */
    public String describeCommand() {
        List<String> c = command(Path.of("QMP.sock"), Path.of("STATUS.sock"), Path.of("STDOUT.sock"));
        StringBuilder sb = new StringBuilder();
        for (String a : c) {
            sb.append(sb.length() == 0 ? "" : " ").append(a.contains(" ") ? "'" + a + "'" : a);
        }
        return sb.toString();
    }

    static Map<String, Object> toJson(Run r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("spawnToResetNanos", r.spawnToResetNanos());
        m.put("spawnToFirstOutputNanos", r.spawnToFirstOutputNanos());
        List<Map<String, Object>> marks = new ArrayList<>();
        for (Mark k : r.marks()) {
            Map<String, Object> mk = new LinkedHashMap<>();
            mk.put("name", k.name());
            mk.put("guestUptimeNanos", k.guestUptimeNanos());
            mk.put("sinceSpawnNanos", k.sinceSpawnNanos());
            marks.add(mk);
        }
        m.put("marks", marks);
        m.put("kvmStats", r.kvmStats());
        m.put("shutdownReason", r.shutdownReason());
        return m;
    }
}
