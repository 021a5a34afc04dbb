package dev.arrow.bench;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.BootPhase;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.VmStatistics;
import dev.arrow.config.SizeUnit;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Host memory added per running hello arrow with 1, 10 and 100 arrows alive in this JVM (run it
 * where KVM boots Linux). Each arrow is {@code hello-wait} (64 MiB guest): it greets, then waits
 * for a line on stdin, so it stays booted. After each step it measures the process's RSS
 * (VmRSS), its memory as the kernel accounts it ({@link ProcessMemory}: Pss, Private_Dirty, the
 * kernel image's mappings, the host kernel's counters), the Java heap in use after a GC, and the
 * guest RAM the arrows have touched (mincore over their guest memory); per-arrow figures are the
 * increase over the baseline divided by the number alive. Start the JVM with a fixed, pre-touched heap (-Xms = -Xmx, -XX:+AlwaysPreTouch)
 * so that heap growth does not pass for arrow memory: the heap is reported on its own.
 *
 * <p>What idle arrows cost besides memory, at the baseline (none alive) and after each step: the JVM's
 * open file descriptors, its CPU time over {@code --idle-seconds} while every arrow waits on stdin
 * ({@link IdleCpu}), and the boot of one more arrow started alone ({@code --probes} times, each ended
 * before the next): start → its first output. The steps start arrows {@code --parallel} at a time, so
 * their wall time is not one arrow's boot time; the probes are.
 *
 * <pre>  memory --out FILE [--counts 1,10,100] [--parallel 2] [--idle-seconds 10] [--probes 3]</pre>
 */
public final class MemoryPerArrow {
    static final int MEMORY_MIB = 64;
    /** An arrow that did not greet within this (per arrow, per starter thread) is given up and replaced. */
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(120);
    /** How far apart the two reads of the guests' RAM are that find it steady ({@link #awaitGuestMemorySteady()}). */
    private static final Duration STEADY_READ_GAP = Duration.ofSeconds(2);
    /** What the guests' RAM may shrink by between those reads and be steady: below one arrow's page drop (~1 MiB). */
    private static final long STEADY_SLACK_BYTES = 256 << 10;
    /** How long a step waits at most for the guests' RAM to stop shrinking. */
    private static final Duration STEADY_PATIENCE = Duration.ofSeconds(60);
    static final int MAX_FAILURES = 5;

    private final Arrow arrow;
    private final int parallel;
    private final Duration idleWindow;
    private final int probes;
    private final long ticksPerSecond = ProcessCpu.ticksPerSecond();
    private final ExecutorService starters;
    private final List<ArrowProcess> alive = new ArrayList<>();
    /** Arrows that did not greet in time (steps and probes alike), for the report. */
    private final List<Map<String, Object>> failures = new ArrayList<>();

    private MemoryPerArrow(Arrow arrow, int parallel, Duration idleWindow, int probes) {
        this.arrow = arrow;
        this.parallel = parallel;
        this.idleWindow = idleWindow;
        this.probes = probes;
        this.starters = Executors.newFixedThreadPool(parallel);
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Path out = a.path("out");
        int parallel = a.integer("parallel", 2);
        int idleSeconds = a.integer("idle-seconds", 10);
        int probes = a.integer("probes", 3);
        if (idleSeconds < 1 || probes < 1) {
            throw new IllegalArgumentException("--idle-seconds " + idleSeconds + " --probes " + probes
                    + ": both must be at least 1 (the CPU window in seconds, the probe boots per step)");
        }
        List<Integer> counts = new ArrayList<>();
        for (String c : a.string("counts", "1,10,100").split(",")) {
            counts.add(Integer.parseInt(c.trim()));
        }
        Arrow arrow = Arrow.of(NativePrograms.require("hello-wait")).memory(MEMORY_MIB, SizeUnit.MiB)
                .stdin(Input.pipe()).stdout(Output.pipe()).stderr(Output.discard());
        MemoryPerArrow m = new MemoryPerArrow(arrow, parallel, Duration.ofSeconds(idleSeconds), probes);
        Map<String, Object> result;
        try {
            result = m.run(counts);
        } finally {
            m.starters.shutdownNow();
            // measured: stop the VMs at once (an orderly end of 100 guests sharing the lab's one CPU takes long)
            stop(m.alive);
        }
        Json.write(out, result);
    }

    /** This JVM before any step: after a warm-up arrow's life and the first arrow's probes, settled. */
    private record Baseline(long rss, MemorySnapshot memory, long heap, long threads, long fds, IdleCpu cpu) {
    }

    private Map<String, Object> run(List<Integer> counts) throws IOException, InterruptedException {
        // warm-up: one full life, so classes and JIT are in the baseline
        end(List.of(boot(arrow)));
        settle();
        // the first arrow: one started alone with none alive (before the baseline, so that its memory is in it)
        List<Long> baseProbes = probeBoots();
        settle();
        long baseJitWait = IdleCpu.awaitQuietJit();
        Baseline base = new Baseline(rssBytes(), MemorySnapshot.read(MappingGroup.ARROW), heapUsed(),
                Thread.activeCount(), openFds(), IdleCpu.measure(idleWindow, ticksPerSecond));
        nativeMemoryTracking("baseline");
        System.err.printf("[memory] 0 alive: %d open fds, CPU %.2f%% of a core; one arrow boots in %.0f ms (median of %d)%n",
                base.fds(), base.cpu().percentOfCore(), Stats.median(baseProbes) / 1e6, probes);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("guestMemoryMiB", MEMORY_MIB);
        result.put("baselineRssBytes", base.rss());
        result.put("baselineMemory", base.memory().memory().toJson());
        result.put("baselinePrivateDirtyByKind", base.memory().kinds().privateDirty().bytes());
        result.put("baselineHeapBytes", base.heap());
        result.put("baselineOpenFds", base.fds());
        result.put("baselineIdleCpu", base.cpu().toJson());
        result.put("baselineJitQuietWaitNanos", baseJitWait);
        result.put("baselineProbeFirstOutputNanos", baseProbes);
        List<Map<String, Object>> steps = new ArrayList<>();
        for (int target : counts) {
            long bootNanos = bootUpTo(target);
            settle();
            long steadyNanos = awaitGuestMemorySteady();
            Map<String, Object> step = memoryStep(base, bootNanos);
            step.put("guestMemorySteadyWaitNanos", steadyNanos);
            long fds = openFds();
            step.put("openFds", fds);
            step.put("jitQuietWaitNanos", IdleCpu.awaitQuietJit());
            IdleCpu cpu = IdleCpu.measure(idleWindow, ticksPerSecond);
            step.put("idleCpu", cpu.toJson());
            List<Long> probe = probeBoots();
            step.put("probeFirstOutputNanos", probe);
            steps.add(step);
            System.err.printf("[memory] %d alive: %.2f fds per arrow, CPU %.2f%% of a core (%.2f%% with none alive; by"
                            + " thread: %s); one more arrow boots in %.0f ms (median of %d)%n", alive.size(),
                    (fds - base.fds()) / (double) alive.size(), cpu.percentOfCore(), base.cpu().percentOfCore(),
                    ThreadCpu.describe(cpu.byThread()), Stats.median(probe) / 1e6, probes);
        }
        result.put("jvmArguments", ManagementFactory.getRuntimeMXBean().getInputArguments());
        result.put("parallelStarts", parallel);
        result.put("probesPerStep", probes);
        result.put("steps", steps);
        result.put("bootFailures", failures);
        return result;
    }

    /** Boots arrows, {@link #parallel} at a time, until {@code target} are alive; returns the wall time it took. */
    private long bootUpTo(int target) throws InterruptedException {
        long t0 = System.nanoTime();
        while (alive.size() < target) {
            checkFailures();
            List<Attempt> attempts = new ArrayList<>();
            for (int i = alive.size(); i < target; i++) {
                attempts.add(Attempt.submit(starters, arrow));
            }
            long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos() * ((attempts.size() + parallel - 1) / parallel);
            for (Attempt at : attempts) {
                try {
                    alive.add(at.future.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                    failures.add(at.fail(e));
                }
            }
        }
        return System.nanoTime() - t0;
    }

    /** The memory and threads of the arrows alive now, per arrow over {@code base}. */
    private Map<String, Object> memoryStep(Baseline base, long bootNanos) throws IOException {
        long rss = rssBytes();
        MemorySnapshot memory = MemorySnapshot.read(MappingGroup.ARROW).minus(base.memory()).dividedBy(alive.size());
        ProcessMemory perArrow = memory.memory();
        MappingKinds kinds = memory.kinds();
        long heap = heapUsed();
        long guest = 0;
        long exits = 0;
        for (ArrowProcess p : alive) {
            VmStatistics s = p.statistics().orElseThrow();
            guest += s.residentGuestBytes();
            exits += s.totalExits();
        }
        Map<String, Object> step = new LinkedHashMap<>();
        step.put("alive", alive.size());
        step.put("rssBytes", rss);
        step.put("rssPerArrowBytes", (rss - base.rss()) / alive.size());
        step.put("memoryPerArrow", perArrow.toJson());
        step.put("privateDirtyByKindPerArrow", kinds.privateDirty().bytes());
        step.put("heapPerArrowBytes", (heap - base.heap()) / alive.size());
        step.put("guestResidentPerArrowBytes", guest / alive.size());
        step.put("threadsPerArrow", (double) (Thread.activeCount() - base.threads()) / alive.size());
        step.put("bootWallNanos", bootNanos);
        step.put("exitsPerArrow", exits / alive.size());
        System.err.printf("[memory] %d alive: RSS +%.1f MiB, Pss +%.1f MiB, Private_Dirty +%.1f MiB, host kernel +%.2f MiB"
                        + " per arrow (guest RAM touched %.1f MiB, Java heap %.2f MiB), booted in %.1f s%n", alive.size(),
                (rss - base.rss()) / alive.size() / 1048576.0,
                perArrow.process().get(ProcessMemory.PSS).orElse(0) / 1048576.0,
                perArrow.process().get(ProcessMemory.PRIVATE_DIRTY).orElse(0) / 1048576.0,
                perArrow.hostKernelBytes() / 1048576.0,
                guest / alive.size() / 1048576.0, (heap - base.heap()) / alive.size() / 1048576.0, bootNanos / 1e9);
        System.err.printf("[memory] %d alive: Private_Dirty per arrow by kind of mapping, KiB: %s%n", alive.size(),
                MemorySection.kibByKind(kinds.privateDirty().bytes()));
        nativeMemoryTracking("summary.diff");
        return step;
    }

    /**
     * Starts one more arrow alone {@link #probes} times, each stopped and the JVM settled before the next: the
     * host time from {@code start()} to its first output (the timeline's first-output phase), per probe. A probe
     * that does not greet within {@link #BOOT_TIMEOUT} is given up like a step's arrow and repeated.
     */
    private List<Long> probeBoots() throws IOException, InterruptedException {
        List<Long> firstOutput = new ArrayList<>();
        while (firstOutput.size() < probes) {
            checkFailures();
            Attempt at = Attempt.submit(starters, arrow);
            ArrowProcess p;
            try {
                p = at.future.get(BOOT_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                failures.add(at.fail(e));
                continue;
            }
            firstOutput.add(p.timeline().sinceStart(BootPhase.FIRST_OUTPUT).orElseThrow().toNanos());
            stop(List.of(p));
            settle();
        }
        return firstOutput;
    }

    private void checkFailures() {
        if (failures.size() >= MAX_FAILURES) {
            throw new IllegalStateException(failures.size() + " arrows failed to boot: " + failures);
        }
    }

    /** One arrow being booted on a starter thread, so that the main thread can give it up. */
    static final class Attempt {
        volatile ArrowProcess process;
        Future<ArrowProcess> future;

        /** Boots an arrow of {@code arrow} on one of {@code starters}. */
        static Attempt submit(ExecutorService starters, Arrow arrow) {
            Attempt at = new Attempt();
            at.future = starters.submit(() -> at.boot(arrow));
            return at;
        }

        ArrowProcess boot(Arrow arrow) throws IOException {
            process = arrow.start();
            return greet(process);
        }

        /** Gives the arrow up: what it reached goes to the report, then it is closed. */
        Map<String, Object> fail(Exception e) {
            Map<String, Object> m = new LinkedHashMap<>();
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            m.put("error", cause.toString());
            ArrowProcess p = process;
            if (p != null) {
                m.put("timeline", Json.timeline(p.timeline()));
                p.statistics().ifPresent(st -> m.put("exits", st.exitsByKind()));
                p.close();
            }
            future.cancel(true);
            System.err.println("[memory] an arrow did not boot, replaced: " + m);
            return m;
        }
    }

    /** Starts one arrow and waits for its greeting: then it is booted and waits on stdin. */
    static ArrowProcess boot(Arrow arrow) throws IOException {
        return greet(arrow.start());
    }

    /** Waits for {@code p}'s greeting (closing it if it fails). */
    static ArrowProcess greet(ArrowProcess p) throws IOException {
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
            String line = r.readLine();
            if (line == null || !line.startsWith("Hello from an arrow")) {
                throw new IllegalStateException("hello-wait did not greet (" + line + "): " + p.outcome().getNow(null));
            }
            if (!p.timeline().reached(BootPhase.FIRST_OUTPUT)) {
                throw new IllegalStateException("greeted without a first-output phase");
            }
            return p;
        } catch (IOException | RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** Stops every arrow's VM at once and releases it. */
    static void stop(List<ArrowProcess> processes) {
        for (ArrowProcess p : processes) {
            p.destroyForcibly();
        }
        for (ArrowProcess p : processes) {
            p.close();
        }
    }

    /** Lets every arrow read its line and end, then releases it. */
    static void end(List<ArrowProcess> processes) throws InterruptedException {
        for (ArrowProcess p : processes) {
            try {
                OutputStream in = p.getOutputStream();
                in.write('\n');
                in.flush();
            } catch (IOException e) {
                // already ended: closed below
            }
        }
        for (ArrowProcess p : processes) {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                System.err.println("[memory] " + p + " did not end within 30 s; stopping it");
                p.destroyForcibly();
            }
            p.close();
        }
    }

    /**
     * Where the JVM runs with {@code -XX:NativeMemoryTracking=summary} (a diagnostic run; the tracking adds to every
     * malloc of the JVM's): runs {@code jcmd VM.native_memory COMMAND} in this JVM ({@code baseline}, then
     * {@code summary.diff}: the JVM's own memory by category since the baseline) and prints its answer with glibc's
     * {@code malloc_stats()} (each arena's size and bytes in use) to stderr; nothing otherwise.
     */
    private static void nativeMemoryTracking(String command) {
        try {
            String answer = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {command}}, new String[] {String[].class.getName()});
            if (answer == null || answer.contains("not enabled")) {
                return;
            }
            System.err.println("[memory] VM.native_memory " + command + ":\n" + answer);
            System.err.flush();
            com.sun.jna.NativeLibrary.getInstance("c").getFunction("malloc_stats").invokeVoid(new Object[0]);
        } catch (javax.management.JMException | RuntimeException e) {
            System.err.println("[memory] VM.native_memory " + command + " failed: " + e);
        }
    }

    private static void settle() throws InterruptedException {
        if (!Arrow.awaitReleased(Duration.ofSeconds(60))) { // closed arrows are released on the reaper's thread
            System.err.println("[memory] closed arrows still being released after 60 s");
        }
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(300);
        }
    }

    /**
     * Waits until the guest RAM the alive arrows hold has stopped shrinking (two reads {@link #STEADY_READ_GAP} apart
     * within {@link #STEADY_SLACK_BYTES}, at most {@link #STEADY_PATIENCE}), and returns how long that took. The
     * last-booted arrows give back pages (the page drop, free page reporting) in their first seconds; a step that read
     * smaps before such a drop and the guests' resident pages after it would count the dropped pages as the VMM's.
     */
    private long awaitGuestMemorySteady() throws InterruptedException {
        long t0 = System.nanoTime();
        long before = guestResidentBytes();
        while (System.nanoTime() - t0 < STEADY_PATIENCE.toNanos()) {
            Thread.sleep(STEADY_READ_GAP.toMillis());
            long now = guestResidentBytes();
            if (now >= before - STEADY_SLACK_BYTES) {
                return System.nanoTime() - t0;
            }
            before = now;
        }
        System.err.printf("[memory] guest RAM still shrinking after %d s%n", STEADY_PATIENCE.toSeconds());
        return System.nanoTime() - t0;
    }

    /** The guest RAM every alive arrow holds in host memory now (mincore, as {@link VmStatistics}). */
    private long guestResidentBytes() {
        long sum = 0;
        for (ArrowProcess p : alive) {
            sum += p.statistics().map(VmStatistics::residentGuestBytes).orElse(0L);
        }
        return sum;
    }

    private static long heapUsed() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** This JVM's open file descriptors: the entries of /proc/self/fd, less the one that lists them. */
    static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count() - 1;
        }
    }

    /** VmRSS of this process, from /proc/self/status. */
    static long rssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }
}
