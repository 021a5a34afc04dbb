package dev.arrow.bench;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.VmStatistics;
import dev.arrow.config.Net;
import dev.arrow.config.SizeUnit;
import dev.arrow.testing.FreePort;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * TCP throughput between the host and a guest through passt ({@code Net.user().forward(hostPort,
 * guestPort)}), both directions, with the CPU time it costs (run it where KVM boots Linux). The
 * guest program {@code tcp-bench} listens on {@value #GUEST_PORT}; this harness connects to the
 * forwarded port on the host's loopback and either sends bytes the guest sinks (host → guest,
 * timed from the first byte sent to the guest's count arriving back) or reads bytes the guest
 * sends (guest → host, timed from the first byte received to the last). Each transfer stops at
 * {@code --max-mib} or {@code --max-seconds}, whichever comes first. Around each transfer it reads
 * the CPU time of this JVM (VMM, virtio-net, the passt connection and this client; KVM's guest time
 * of the vCPU thread is part of it, and reported apart) and of the passt process, from
 * {@code /proc/<pid>/stat}, and this client thread's own CPU time. The host socket's send buffer is
 * kept small ({@link #SEND_BUFFER}) so that a transfer stopped by its time limit ends soon after.
 * A failure (a transfer that stalls, an arrow that does not close) is recorded in the result's
 * {@code failures} with the transfers done before it, and ends the command with status 1.
 *
 * <pre>  net --out FILE [--max-mib M] [--max-seconds S] [--rounds R] [--warmup-mib W]</pre>
 */
public final class PasstThroughput {
    static final int GUEST_PORT = 5201;
    static final int MEMORY_MIB = 128;
    private static final int CHUNK = 256 * 1024;
    /**
     * The host socket's send buffer (the kernel doubles it): small, so that the bytes still in flight
     * when a host → guest transfer's time is up, which the guest takes before it answers, stay few.
     */
    static final int SEND_BUFFER = 128 * 1024;
    private static final Duration LISTEN_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(60);
    /** A transfer that is still blocked this long after its time is up has its socket closed. */
    private static final Duration STALL_GRACE = Duration.ofSeconds(30);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** JVM threads named in each transfer's CPU breakdown (the rest are summed). */
    private static final int TOP_THREADS = 8;

    /** Which way the bytes go. */
    enum Direction {
        HOST_TO_GUEST("host-to-guest"), GUEST_TO_HOST("guest-to-host");

        final String label;

        Direction(String label) {
            this.label = label;
        }
    }

    private final int hostPort;
    private final long passtPid;
    private final long ticksPerSecond;
    private final Duration maxTime;
    private final ScheduledExecutorService watchdog;
    private final Supplier<Map<String, Long>> vmExits;

    /**
     * @param hostPort where tcp-bench is reached on the host's loopback
     * @param passtPid the process whose CPU time is reported as passt's
     * @param watchdog closes the socket of a transfer that stalls past its time
     * @param vmExits  the VM exits by kind so far of the arrow running tcp-bench (counted per transfer)
     */
    PasstThroughput(int hostPort, long passtPid, long ticksPerSecond, Duration maxTime,
                    ScheduledExecutorService watchdog, Supplier<Map<String, Long>> vmExits) {
        this.hostPort = hostPort;
        this.passtPid = passtPid;
        this.ticksPerSecond = ticksPerSecond;
        this.maxTime = maxTime;
        this.watchdog = watchdog;
        this.vmExits = vmExits;
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        long maxBytes = a.integer("max-mib", 64) * (1L << 20);
        long warmupBytes = a.integer("warmup-mib", 4) * (1L << 20);
        Duration maxTime = Duration.ofSeconds(a.integer("max-seconds", 20));
        int rounds = a.integer("rounds", 3);
        int hostPort = FreePort.onLoopback();
        long ticks = ProcessCpu.ticksPerSecond();

        Arrow arrow = Arrow.of(NativePrograms.require("tcp-bench")).args(Integer.toString(GUEST_PORT))
                .memory(MEMORY_MIB, SizeUnit.MiB).net(Net.user().forward(hostPort, GUEST_PORT))
                .stdin(Input.empty()).stdout(Output.pipe())
                .stderr(Output.consumer(line -> System.err.println("[net] guest: " + line)));
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "net-bench-watchdog");
            t.setDaemon(true);
            return t;
        });
        List<Map<String, Object>> transfers = new ArrayList<>();
        String passtCommand = "";
        List<String> failures = new ArrayList<>();
        ArrowProcess p = arrow.start();
        try {
            awaitListening(p);
            ProcessHandle passt = passtChild();
            passtCommand = passt.info().commandLine().orElse("passt (pid " + passt.pid() + ")");
            PasstThroughput bench = new PasstThroughput(hostPort, passt.pid(), ticks, maxTime, watchdog,
                    () -> p.statistics().map(VmStatistics::exitsByKind).orElse(Map.of()));
            for (Direction d : Direction.values()) {
                transfers.add(bench.transfer(d, warmupBytes, -1));
            }
            for (int r = 0; r < rounds; r++) {
                // alternate which direction goes first
                Direction first = r % 2 == 0 ? Direction.HOST_TO_GUEST : Direction.GUEST_TO_HOST;
                Direction second = first == Direction.HOST_TO_GUEST ? Direction.GUEST_TO_HOST : Direction.HOST_TO_GUEST;
                transfers.add(bench.transfer(first, maxBytes, r));
                transfers.add(bench.transfer(second, maxBytes, r));
            }
            bench.quit();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                failures.add("tcp-bench did not exit within 30 s of its quit command");
            }
        } catch (Exception e) {
            failures.add("after " + transfers.size() + " transfer(s): " + e);
            System.err.println("[net] failed: " + e + "; boot timeline " + p.timeline());
        } finally {
            watchdog.shutdownNow();
            if (!closeWithin(p, CLOSE_TIMEOUT)) {
                failures.add("closing the arrow did not finish within " + CLOSE_TIMEOUT.toSeconds() + " s");
                System.err.println("[net] closing the arrow did not finish within " + CLOSE_TIMEOUT.toSeconds()
                        + " s; its threads:");
                printThreads();
            }
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("guestMemoryMiB", MEMORY_MIB);
        result.put("guestPort", GUEST_PORT);
        result.put("hostPort", hostPort);
        result.put("maxBytes", maxBytes);
        result.put("maxSeconds", maxTime.toSeconds());
        result.put("warmupBytes", warmupBytes);
        result.put("clockTicksPerSecond", ticks);
        result.put("passtCommand", passtCommand);
        result.put("transfers", transfers);
        result.put("failures", failures);
        Json.write(a.path("out"), result);
        if (!failures.isEmpty()) {
            System.err.println("[net] FAILED: " + String.join("; ", failures));
            System.exit(1); // a VM that would not close may still hold threads
        }
    }

    /** Closes {@code p} on a thread of its own; false if that did not finish within {@code timeout}. */
    static boolean closeWithin(AutoCloseable p, Duration timeout) throws InterruptedException {
        Thread closer = new Thread(() -> {
            try {
                p.close();
            } catch (Exception e) {
                System.err.println("[net] closing the arrow failed: " + e);
            }
        }, "net-bench-close");
        closer.setDaemon(true);
        closer.start();
        closer.join(timeout.toMillis());
        return !closer.isAlive();
    }

    private static void printThreads() {
        for (java.lang.management.ThreadInfo t : THREADS.dumpAllThreads(true, true)) {
            System.err.print(t);
            StackTraceElement[] stack = t.getStackTrace();
            // ThreadInfo.toString() stops after 8 frames
            for (int k = 8; k < stack.length; k++) {
                System.err.println("\tat " + stack[k]);
            }
        }
    }

    /**
     * One transfer of up to {@code maxBytes} (and {@link #maxTime}) to or from the tcp-bench that
     * listens behind {@link #hostPort}; {@code round} -1 is a warm-up. Its JSON for net.json.
     */
    Map<String, Object> transfer(Direction direction, long maxBytes, int round) throws IOException {
        try (Socket s = connect()) {
            ScheduledFuture<?> stall = watchdog.schedule(() -> closeQuietly(s),
                    maxTime.plus(STALL_GRACE).toMillis(), TimeUnit.MILLISECONDS);
            try {
                Measured m = direction == Direction.HOST_TO_GUEST ? send(s, maxBytes) : receive(s, maxBytes);
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("direction", direction.label);
                json.put("round", round);
                json.put("warmup", round < 0);
                json.put("requestedBytes", maxBytes);
                json.put("bytes", m.bytes);
                json.put("complete", m.bytes >= maxBytes);
                json.put("timedBytes", m.timedBytes);
                json.put("nanos", m.nanos);
                json.put("jvmCpu", m.jvm.toJson());
                json.put("passtCpu", m.passt.toJson());
                json.put("clientThreadCpuNanos", m.clientThreadNanos);
                json.put("jvmThreadCpuNanos", ThreadCpu.toJson(m.jvmThreads));
                json.put("vmExits", m.exits);
                System.err.printf(Locale.ROOT, "[net] %s%s: %d bytes in %.1f ms: %.2f MiB/s; CPU s/GiB: JVM %.2f (guest %.2f), passt %.2f%n",
                        direction.label, round < 0 ? " (warm-up)" : "", m.bytes, m.nanos / 1e6, Rates.mibPerSecond(m.timedBytes, m.nanos),
                        Rates.secondsPerGib(m.jvm.totalNanos(), m.bytes), Rates.secondsPerGib(m.jvm.guestNanos(), m.bytes),
                        Rates.secondsPerGib(m.passt.totalNanos(), m.bytes));
                System.err.println("[net]   JVM threads' CPU: " + ThreadCpu.describe(m.jvmThreads));
                System.err.printf(Locale.ROOT, "[net]   VMM exits per MiB: %s%n", perMib(m.exits, m.bytes));
                return json;
            } finally {
                stall.cancel(false);
            }
        }
    }

    /**
     * What one transfer moved, how long it took and the CPU time spent meanwhile.
     *
     * @param bytes      all bytes moved (what the CPU time is divided by)
     * @param timedBytes the bytes that moved within {@code nanos} (all of them, or all but the first read's)
     */
    private record Measured(long bytes, long timedBytes, long nanos, ProcessCpu jvm, ProcessCpu passt,
                            long clientThreadNanos, List<Map.Entry<String, Long>> jvmThreads, Map<String, Long> exits) {
    }

    /** CPU readings and VM exit counts at one moment. */
    private record CpuReading(ProcessCpu jvm, ProcessCpu passt, long clientThreadNanos, ThreadCpu jvmThreads,
                              Map<String, Long> exits) {
        Measured until(CpuReading end, long bytes, long timedBytes, long nanos) {
            Map<String, Long> exitDelta = new LinkedHashMap<>();
            end.exits.forEach((kind, n) -> {
                long d = n - exits.getOrDefault(kind, 0L);
                if (d > 0) {
                    exitDelta.put(kind, d);
                }
            });
            return new Measured(bytes, timedBytes, nanos, end.jvm.minus(jvm), end.passt.minus(passt),
                    end.clientThreadNanos - clientThreadNanos, end.jvmThreads.since(jvmThreads, TOP_THREADS), exitDelta);
        }
    }

    private CpuReading cpu() throws IOException {
        long self = ProcessHandle.current().pid();
        Map<String, Long> exits = vmExits.get();
        return new CpuReading(ProcessCpu.read(self, ticksPerSecond), ProcessCpu.read(passtPid, ticksPerSecond),
                THREADS.getCurrentThreadCpuTime(), ThreadCpu.read(self, ticksPerSecond), exits);
    }

    /** Host → guest: send until the limit, then the guest's count ends the transfer. */
    private Measured send(Socket s, long maxBytes) throws IOException {
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        out.write(("sink " + maxBytes + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] chunk = new byte[CHUNK];
        CpuReading before = cpu();
        long t0 = System.nanoTime();
        long deadline = t0 + maxTime.toNanos();
        long sent = 0;
        while (sent < maxBytes && System.nanoTime() < deadline) {
            int n = (int) Math.min(chunk.length, maxBytes - sent);
            out.write(chunk, 0, n);
            sent += n;
        }
        s.shutdownOutput();
        String reply = readLine(in);
        long nanos = System.nanoTime() - t0;
        CpuReading after = cpu();
        if (reply == null || !reply.startsWith("received ")) {
            throw new IOException("tcp-bench answered '" + reply + "' to " + sent + " bytes, expected 'received COUNT'");
        }
        long received = Long.parseLong(reply.substring("received ".length()).trim());
        if (received != sent) {
            throw new IOException("sent " + sent + " bytes, tcp-bench received " + received);
        }
        return before.until(after, received, received, nanos);
    }

    /** Guest → host: read until the limit (or the time is up); first byte to last byte. */
    private Measured receive(Socket s, long maxBytes) throws IOException {
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        byte[] chunk = new byte[CHUNK];
        CpuReading before = cpu();
        out.write(("source " + maxBytes + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        long deadline = System.nanoTime() + maxTime.toNanos();
        long got = 0;
        long first = 0;
        long last = 0;
        long firstBytes = 0;
        while (got < maxBytes && System.nanoTime() < deadline) {
            int n = in.read(chunk, 0, (int) Math.min(chunk.length, maxBytes - got));
            if (n < 0) {
                break;
            }
            last = System.nanoTime();
            if (got == 0) {
                first = last;
                firstBytes = n;
            }
            got += n;
        }
        CpuReading after = cpu();
        if (got == 0) {
            throw new IOException("tcp-bench sent nothing for 'source " + maxBytes + "'");
        }
        // the bytes of the first read came at its start: the interval carries the rest
        return before.until(after, got, got - firstBytes, last - first);
    }

    /** Exit counts divided by the MiB moved, e.g. {@code {mmio-read=12.5, io-out=0.1}}. */
    static String perMib(Map<String, Long> exits, long bytes) {
        Map<String, String> m = new LinkedHashMap<>();
        double mib = bytes / (double) (1 << 20);
        exits.forEach((kind, n) -> m.put(kind, mib > 0 ? String.format(Locale.ROOT, "%.1f", n / mib) : "-"));
        return m.toString();
    }

    /** Ends tcp-bench. */
    void quit() throws IOException {
        try (Socket s = connect()) {
            s.getOutputStream().write("quit\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String reply = readLine(s.getInputStream());
            if (!"bye".equals(reply)) {
                throw new IOException("tcp-bench answered '" + reply + "' to quit");
            }
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        s.setSendBufferSize(SEND_BUFFER);
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), hostPort), 10_000);
        s.setSoTimeout((int) maxTime.plus(STALL_GRACE).toMillis());
        return s;
    }

    /** One line (without its newline) of at most 128 bytes; null at the end of the stream. */
    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
            if (sb.length() >= 128) {
                throw new IOException("tcp-bench sent a line longer than 128 bytes: " + sb);
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    /** Waits for tcp-bench's "listening PORT" line: from then on, connections reach it. */
    private static void awaitListening(ArrowProcess p) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return r.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        String got;
        try {
            got = line.get(LISTEN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            p.destroyForcibly();
            throw new IllegalStateException("tcp-bench did not listen within " + LISTEN_TIMEOUT.toSeconds() + " s: "
                    + p.timeline());
        }
        if (got == null || !got.equals("listening " + GUEST_PORT)) {
            throw new IllegalStateException("tcp-bench did not start listening (" + got + "): " + p.outcome().getNow(null));
        }
    }

    /** This JVM's one passt child (the arrow's network backend), found by its command name in /proc. */
    static ProcessHandle passtChild() throws IOException {
        List<ProcessHandle> found = new ArrayList<>();
        for (ProcessHandle h : ProcessHandle.current().children().toList()) {
            Path stat = ProcessCpu.statFile(h.pid());
            try {
                if (ProcessCpu.commandName(Files.readString(stat)).startsWith("passt")) {
                    found.add(h);
                }
            } catch (IOException e) {
                // the child ended meanwhile
            }
        }
        if (found.size() != 1) {
            throw new IOException("expected one passt child of this JVM, found " + found.size()
                    + " (is the arrow's network Net.user()?)");
        }
        return found.get(0);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing to unblock a stalled transfer: nothing else to do
        }
    }
}
