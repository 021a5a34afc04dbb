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
 * The peer: {@code qemu-system-x86_64 -accel kvm -M microvm} booting a given kernel, initramfs and
 * command line to the same end as an Arrow guest (init's i8042 reset), timed by this harness from
 * the process spawn. QEMU is told to pause instead of resetting ({@code -action
 * reboot=shutdown,shutdown=pause}) so that KVM's counters of its VM can be read (debugfs) before
 * it quits. init's status lines arrive through an isa-debugcon on port 0xF4, as in tier 3, here
 * over a socket so each mark gets its host arrival time.
 */
public final class QemuMicrovm {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long TIMEOUT_SECONDS = 120;

    /** A guest mark as received: guest uptime and host arrival, in ns since the spawn. */
    public record Mark(String name, long guestUptimeNanos, long sinceSpawnNanos) {
    }

    /**
     * One boot.
     *
     * @param spawnToResetNanos       spawn until QEMU announced the guest's reset (QMP SHUTDOWN, guest-reset)
     * @param spawnToFirstOutputNanos spawn until the first byte on the serial console; -1 if none
     * @param marks                   init's marks in arrival order
     * @param kvmStats                KVM's debugfs counters of the VM at the reset (empty without debugfs)
     * @param output                  what the guest wrote on the serial console
     * @param shutdownReason          the reason QEMU gave
     */
    public record Run(long spawnToResetNanos, long spawnToFirstOutputNanos, List<Mark> marks,
                      Map<String, Long> kvmStats, String output, String shutdownReason) {
    }

    private final Path kernel;
    private final Path initrd;
    private final String commandLine;
    private final int memoryMiB;

    public QemuMicrovm(Path kernel, Path initrd, String commandLine, int memoryMiB) {
        this.kernel = kernel;
        this.initrd = initrd;
        this.commandLine = commandLine;
        this.memoryMiB = memoryMiB;
    }

    /** The command line, with the two socket paths. */
    public List<String> command(Path qmpSocket, Path statusSocket) {
        return List.of("qemu-system-x86_64", "-accel", "kvm", "-M", "microvm,acpi=off,pcie=off,rtc=off",
                "-cpu", "host", "-smp", "1", "-m", memoryMiB + "M",
                "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-monitor", "none",
                "-device", "i8042",
                "-kernel", kernel.toString(), "-initrd", initrd.toString(), "-append", commandLine,
                "-chardev", "socket,id=status,path=" + statusSocket + ",server=off",
                "-device", "isa-debugcon,iobase=0x" + Integer.toHexString(InitProtocol.STATUS_PORT) + ",chardev=status",
                "-chardev", "socket,id=qmp,path=" + qmpSocket + ",server=off", "-mon", "chardev=qmp,mode=control",
                "-action", "reboot=shutdown,shutdown=pause");
    }

    /** Boots once and returns what was measured; QEMU is gone when this returns. */
    public Run boot(Path workDir) throws IOException, InterruptedException {
        Path qmpPath = workDir.resolve("qmp.sock");
        Path statusPath = workDir.resolve("status.sock");
        Files.deleteIfExists(qmpPath);
        Files.deleteIfExists(statusPath);
        ExecutorService threads = Executors.newFixedThreadPool(3, r -> {
            Thread t = new Thread(r, "qemu-peer-io");
            t.setDaemon(true);
            return t;
        });
        Process qemu = null;
        try (ServerSocketChannel qmpServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             ServerSocketChannel statusServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            qmpServer.bind(UnixDomainSocketAddress.of(qmpPath));
            statusServer.bind(UnixDomainSocketAddress.of(statusPath));
            ProcessBuilder pb = new ProcessBuilder(command(qmpPath, statusPath))
                    .redirectError(workDir.resolve("qemu.stderr").toFile());
            long t0 = System.nanoTime();
            qemu = pb.start();
            qemu.getOutputStream().close();
            Process started = qemu;
            Path consoleFile = workDir.resolve("console.out");
            Future<Long> console = threads.submit(() -> readConsole(started.getInputStream(), consoleFile, t0));
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
                long firstOutput = console.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                List<Mark> received = marks.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                String output = new String(Files.readAllBytes(consoleFile), StandardCharsets.UTF_8);
                return new Run(resetAt, firstOutput, received, stats, output, reason);
            }
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            throw new IOException("the QEMU boot failed: " + e + "; stderr: " + stderr(workDir), e);
        } finally {
            if (qemu != null && qemu.isAlive()) {
                qemu.destroyForcibly();
                qemu.waitFor(10, TimeUnit.SECONDS);
            }
            threads.shutdownNow();
            Files.deleteIfExists(qmpPath);
            Files.deleteIfExists(statusPath);
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

    /** Copies the console to {@code file}; returns when its first byte came (ns since the spawn), or -1. */
    private static long readConsole(InputStream in, Path file, long t0) throws IOException {
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
        List<String> c = new ArrayList<>(command(Path.of("QMP.sock"), Path.of("STATUS.sock")));
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
