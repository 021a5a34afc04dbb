package dev.arrow.bench;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.ArrowTemplate;
import dev.arrow.BootPhase;
import dev.arrow.BootTimeline;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.config.SizeUnit;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * Templates against cold boots, in one JVM (run it where KVM boots Linux), through the public API only
 * ({@link Arrow#template()}, {@link ArrowTemplate#start()}):
 * <ol>
 *   <li><b>pairs</b>: a cold {@code Arrow.start()} of the hello arrow and a clone of its template (init point),
 *       alternating which goes first, the JVM settled before each (as {@link PeerComparison} does). Each clone
 *       has ended before the next starts, so from the second on it runs on the VM its predecessor gave back
 *       to the template (recycled). Start → app exec, start → first output, start → {@code waitFor()}.</li>
 *   <li><b>cycles</b>: K hello clones back to back on each of 1 and 2 starter threads (start, read the
 *       output, {@code waitFor()}, close): clones per second and the process's CPU time; from the one-thread
 *       run, the reset → next call latency ({@link Cycle#resetToNext}).</li>
 *   <li><b>memory</b>: clones of a {@code hello-wait} template (greets, then waits on stdin) kept alive, 1, 10
 *       and 100 (and 1,000) at once besides a warm-up clone, started back to back on one thread: {@link ProcessMemory}
 *       per clone (Pss, Private_Dirty, template RAM, host kernel), RSS, threads, open fds and the idle clones' CPU
 *       over {@link #IDLE_WINDOW} (the JIT quiet first, as {@link MemoryPerArrow} does); and the start → first output of
 *       these clones, none of which gets a recycled VM (no clone of this template has ended): the template's
 *       pool hands out the VMs it made ahead, then each clone makes its own unless the pool's thread has one
 *       ready.</li>
 * </ol>
 * Start the JVM as for {@link MemoryPerArrow} (a fixed, pre-touched heap; {@code -Darrow.memoryOvercommit} for
 * 100 guests of 64 MiB).
 *
 * <pre>  template --out FILE [--pairs N] [--warmup W] [--warmup-clones C] [--settle-ms MS] [--cycles K] [--counts 1,10,100]</pre>
 */
public final class TemplateBenchmark {
    static final int MEMORY_MIB = 64;
    /** How long the memory part watches the process's CPU while its clones idle. */
    static final Duration IDLE_WINDOW = Duration.ofSeconds(10);
    private static final String GREETING = "Hello from an arrow";
    /** Starter threads of the cycles part, in order; the first run gives the reset → next latencies. */
    static final List<Integer> STARTERS = List.of(1, 2);

    private TemplateBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Path out = a.path("out");
        int pairs = a.integer("pairs", 10);
        int warmup = a.integer("warmup", 2);
        int warmupClones = a.integer("warmup-clones", 0);
        int settleMillis = a.integer("settle-ms", PeerComparison.DEFAULT_SETTLE_MILLIS);
        int cycles = a.integer("cycles", 50);
        List<Integer> counts = new ArrayList<>();
        for (String c : a.string("counts", "1,10,100").split(",")) {
            counts.add(Integer.parseInt(c.trim()));
        }

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("guestMemoryMiB", MEMORY_MIB);
        result.put("hostCpus", Runtime.getRuntime().availableProcessors());
        result.put("settleMillis", settleMillis);
        result.put("warmupClones", warmupClones);
        result.put("jvmArguments", ManagementFactory.getRuntimeMXBean().getInputArguments());
        Arrow hello = Arrow.of(NativePrograms.require("hello")).memory(MEMORY_MIB, SizeUnit.MiB)
                .stdin(Input.empty()).stdout(Output.pipe()).stderr(Output.discard());
        long t0 = System.nanoTime();
        try (ArrowTemplate template = hello.template()) {
            long bootNanos = System.nanoTime() - t0;
            System.err.printf("[template] the hello template booted and froze in %.1f ms%n", bootNanos / 1e6);
            result.put("templateBoot", Map.of("wallNanos", bootNanos, "timeline", Json.timeline(template.bootTimeline())));
            warmUp(template, warmupClones);
            result.put("pairs", pairs(hello, template, warmup, pairs, settleMillis));
            Json.write(out, result); // each part is written as soon as it is done: a later failure keeps it
            List<Map<String, Object>> runs = new ArrayList<>();
            result.put("cycles", runs);
            for (int starters : STARTERS) {
                PeerComparison.settle(settleMillis);
                runs.add(cycles(template, starters, cycles));
                Json.write(out, result);
            }
        }
        PeerComparison.settle(settleMillis);
        result.put("memory", memory(counts));
        Json.write(out, result);
    }

    /**
     * {@code clones} hello clones back to back, not measured: the clone path's Java code is compiled by the JIT
     * before the pairs measure it, as in a JVM that has made many clones (a cold boot's path is warmed by the
     * template's own boot and the warm-up pairs).
     */
    private static void warmUp(ArrowTemplate template, int clones) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        for (int i = 0; i < clones; i++) {
            Cycle.run(template::start, false);
        }
        if (clones > 0) {
            System.err.printf("[template] %d warm-up clones in %.1f ms%n", clones, (System.nanoTime() - t0) / 1e6);
        }
    }

    // ---- pairs: cold boot against clone ----

    private static List<Map<String, Object>> pairs(Arrow hello, ArrowTemplate template, int warmup, int pairs,
                                                   int settleMillis) throws IOException, InterruptedException {
        List<Map<String, Object>> runs = new ArrayList<>();
        for (int i = 0; i < warmup + pairs; i++) {
            boolean cloneFirst = i % 2 == 0;
            Cycle cold = null;
            Cycle clone = null;
            for (int k = 0; k < 2; k++) {
                PeerComparison.settle(settleMillis);
                if ((k == 0) == cloneFirst) {
                    clone = Cycle.run(template::start, true);
                } else {
                    cold = Cycle.run(hello::start, true);
                }
            }
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("iteration", i);
            run.put("warmup", i < warmup);
            run.put("cloneFirst", cloneFirst);
            run.put("cold", cold.toJson());
            run.put("clone", clone.toJson());
            runs.add(run);
            System.err.printf("[template] %s %d: start → first output: cold %.2f ms, clone %.3f ms%n",
                    i < warmup ? "warm-up" : "pair", i, cold.sinceStart(BootPhase.FIRST_OUTPUT) / 1e6,
                    clone.sinceStart(BootPhase.FIRST_OUTPUT) / 1e6);
        }
        return runs;
    }

    // ---- cycles: clones back to back ----

    /** {@code clones} hello clones on {@code starters} threads, each started, read, waited for and closed in turn. */
    private static Map<String, Object> cycles(ArrowTemplate template, int starters, int clones) throws Exception {
        long pid = ProcessHandle.current().pid();
        long ticks = ProcessCpu.ticksPerSecond();
        ExecutorService pool = Executors.newFixedThreadPool(starters);
        List<Future<List<Cycle>>> threads = new ArrayList<>();
        ProcessCpu cpu0 = ProcessCpu.read(pid, ticks);
        long t0 = System.nanoTime();
        try {
            for (int s = 0; s < starters; s++) {
                int share = clones / starters + (s < clones % starters ? 1 : 0);
                threads.add(pool.submit(() -> {
                    List<Cycle> done = new ArrayList<>();
                    for (int i = 0; i < share; i++) {
                        done.add(Cycle.run(template::start, false));
                    }
                    return done;
                }));
            }
            List<List<Cycle>> byThread = new ArrayList<>();
            for (Future<List<Cycle>> f : threads) {
                byThread.add(f.get());
            }
            long wall = System.nanoTime() - t0;
            ProcessCpu cpu = ProcessCpu.read(pid, ticks).minus(cpu0);
            List<Long> firstOutput = new ArrayList<>();
            List<Map<String, Object>> resets = new ArrayList<>();
            for (List<Cycle> thread : byThread) {
                for (int i = 0; i < thread.size(); i++) {
                    firstOutput.add(thread.get(i).sinceStart(BootPhase.FIRST_OUTPUT));
                    if (i > 0 && starters == 1) {
                        resets.add(thread.get(i - 1).resetToNext(thread.get(i)).toJson());
                    }
                }
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("starters", starters);
            m.put("clones", clones);
            m.put("wallNanos", wall);
            m.put("cpu", cpu.toJson());
            m.put("firstOutputNanos", firstOutput);
            m.put("resetToNext", resets);
            System.err.printf("[template] %d clones on %d thread(s): %.1f clones/s, CPU %.2f s (%.1f%% guest)%n", clones,
                    starters, clones / (wall / 1e9), cpu.totalNanos() / 1e9, 100.0 * cpu.guestNanos() / Math.max(1, cpu.totalNanos()));
            return m;
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- memory: clones kept alive ----

    private static Map<String, Object> memory(List<Integer> counts) throws Exception {
        Arrow helloWait = Arrow.of(NativePrograms.require("hello-wait")).memory(MEMORY_MIB, SizeUnit.MiB)
                .stdin(Input.pipe()).stdout(Output.pipe()).stderr(Output.discard());
        Map<String, Object> result = new LinkedHashMap<>();
        List<Map<String, Object>> steps = new ArrayList<>();
        List<ArrowProcess> alive = new ArrayList<>();
        long t0 = System.nanoTime();
        try (ArrowTemplate template = helloWait.template()) {
            result.put("templateBootWallNanos", System.nanoTime() - t0);
            // a warm-up clone, so that classes, JIT and the template's pool are in the baseline; it stays alive
            // to the end, so that no clone of the steps gets its VM back from it
            ArrowProcess warm = MemoryPerArrow.greet(template.start());
            PeerComparison.settle(PeerComparison.DEFAULT_SETTLE_MILLIS);
            long ticksPerSecond = ProcessCpu.ticksPerSecond();
            IdleCpu.awaitQuietJit();
            long baseRss = MemoryPerArrow.rssBytes();
            ProcessMemory base = ProcessMemory.read(MappingGroup.ARROW);
            int baseThreads = Thread.activeCount();
            long baseFds = MemoryPerArrow.openFds();
            IdleCpu baseCpu = IdleCpu.measure(IDLE_WINDOW, ticksPerSecond);
            result.put("baselineRssBytes", baseRss);
            result.put("baselineMemory", base.toJson());
            result.put("baselineOpenFds", baseFds);
            result.put("baselineIdleCpu", baseCpu.toJson());
            try {
                for (int target : counts) {
                    List<Long> firstOutput = new ArrayList<>();
                    long s0 = System.nanoTime();
                    try {
                        while (alive.size() < target) {
                            ArrowProcess p = MemoryPerArrow.greet(template.start());
                            alive.add(p);
                            firstOutput.add(p.timeline().entry(BootPhase.FIRST_OUTPUT).orElseThrow().sinceStartNanos());
                        }
                    } catch (RuntimeException | IOException e) {
                        // the steps before stay measured; say where and why this one stopped
                        result.put("stepFailure", "clone " + (alive.size() + 1) + " of the step to " + target + ": " + e);
                        System.err.printf("[template] the step to %d clones stopped at %d: %s%n", target, alive.size(), e);
                        break;
                    }
                    long startWall = System.nanoTime() - s0;
                    PeerComparison.settle(PeerComparison.DEFAULT_SETTLE_MILLIS);
                    long rss = MemoryPerArrow.rssBytes();
                    ProcessMemory perClone = ProcessMemory.read(MappingGroup.ARROW).minus(base).dividedBy(alive.size());
                    Map<String, Object> step = new LinkedHashMap<>();
                    step.put("alive", alive.size());
                    step.put("rssPerCloneBytes", (rss - baseRss) / alive.size());
                    step.put("memoryPerClone", perClone.toJson());
                    double threadsPerClone = (double) (Thread.activeCount() - baseThreads) / alive.size();
                    double fdsPerClone = (double) (MemoryPerArrow.openFds() - baseFds) / alive.size();
                    step.put("threadsPerClone", threadsPerClone);
                    step.put("fdsPerClone", fdsPerClone);
                    step.put("startWallNanos", startWall);
                    step.put("firstOutputNanos", firstOutput);
                    step.put("jitQuietWaitNanos", IdleCpu.awaitQuietJit());
                    IdleCpu cpu = IdleCpu.measure(IDLE_WINDOW, ticksPerSecond);
                    step.put("idleCpu", cpu.toJson());
                    steps.add(step);
                    System.err.printf("[template] %d clones alive: CPU %.2f%% of a core (%.2f%% before them; by thread: %s),"
                                    + " %.2f fds and %.2f threads per clone%n", alive.size(), cpu.percentOfCore(),
                            baseCpu.percentOfCore(), ThreadCpu.describe(cpu.byThread()), fdsPerClone, threadsPerClone);
                    System.err.printf("[template] %d clones alive: Pss +%.2f MiB, Private_Dirty +%.2f MiB, host kernel"
                                    + " +%.2f MiB, RSS +%.2f MiB per clone%n", alive.size(),
                            perClone.process().get(ProcessMemory.PSS).orElse(0) / 1048576.0,
                            perClone.process().get(ProcessMemory.PRIVATE_DIRTY).orElse(0) / 1048576.0,
                            perClone.hostKernelBytes() / 1048576.0, (rss - baseRss) / alive.size() / 1048576.0);
                }
            } finally {
                alive.add(warm);
                MemoryPerArrow.stop(alive);
            }
        }
        result.put("steps", steps);
        return result;
    }

    /**
     * One arrow's life as the caller sees it, in this JVM's {@link System#nanoTime()}: taken just before
     * {@code start()} (its {@link BootPhase#START} follows within microseconds) and when {@code waitFor()}
     * returned, with its timeline. The arrow is closed right after.
     *
     * @param startNanos  just before {@code start()} was called
     * @param waitedNanos when {@code waitFor()} returned: the guest had ended and its VM was released (a clone's
     *                    given back to its template)
     * @param timeline    its phases
     * @param kvmCounters what KVM counted for every VM of the host from before its start to after its close
     *                    (the template's and the pool's VMs do not run meanwhile); empty without debugfs
     */
    record Cycle(long startNanos, long waitedNanos, BootTimeline timeline, Map<String, Long> kvmCounters) {
        /**
         * Starts an arrow with {@code starter}, reads its output to the end, waits for it and closes it; with
         * {@code countKvm}, KVM's counters ({@link KvmDebugfs#readAll()}) are read before the start and after the
         * close (tens of ms in the lab: not where clones run back to back and the time between them is measured).
         */
        static Cycle run(Supplier<ArrowProcess> starter, boolean countKvm) throws IOException, InterruptedException {
            Map<String, Long> kvmBefore = countKvm ? KvmDebugfs.readAll() : Map.of();
            long start = System.nanoTime();
            long waited;
            ArrowProcess p = starter.get();
            try {
                String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                int code = p.waitFor();
                waited = System.nanoTime();
                if (code != 0 || !output.contains(GREETING)) {
                    throw new IllegalStateException("the hello arrow failed: " + p.outcome().getNow(null)
                            + ", output: " + output);
                }
            } finally {
                p.close();
            }
            return new Cycle(start, waited, p.timeline(),
                    countKvm ? KvmDebugfs.delta(kvmBefore, KvmDebugfs.readAll()) : Map.of());
        }

        /** Nanoseconds from start to {@code phase}, or -1 if it was not reached. */
        long sinceStart(BootPhase phase) {
            return timeline.entry(phase).map(BootTimeline.Entry::sinceStartNanos).orElse(-1L);
        }

        /**
         * From this arrow's end to {@code next}'s first output, {@code next} started on the same thread right
         * after this one was closed.
         */
        ResetToNext resetToNext(Cycle next) {
            long exited = sinceStart(BootPhase.EXITED);
            long firstOutput = next.sinceStart(BootPhase.FIRST_OUTPUT);
            if (exited < 0 || firstOutput < 0) {
                throw new IllegalArgumentException("a cycle without " + (exited < 0 ? "its end" : "the next one's first output")
                        + ": " + timeline + " / " + next.timeline);
            }
            long exitedAt = startNanos + exited;
            return new ResetToNext(waitedNanos - exitedAt, next.startNanos - waitedNanos,
                    next.startNanos + firstOutput - exitedAt);
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("startToWaitForNanos", waitedNanos - startNanos);
            m.put("timeline", Json.timeline(timeline));
            m.put("kvmCounters", kvmCounters);
            return m;
        }
    }

    /**
     * The reset → next call latency and its parts, ns.
     *
     * @param endToWaitedNanos from the guest's end ({@link BootPhase#EXITED}) to {@code waitFor()} returning:
     *                         the VM handed back to the template (its private pages dropped), the streams finished
     * @param waitedToNextStartNanos from there to the next {@code start()}: {@code close()} and the caller's loop
     * @param totalNanos       from the guest's end to the next clone's first output
     */
    record ResetToNext(long endToWaitedNanos, long waitedToNextStartNanos, long totalNanos) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("endToWaitedNanos", endToWaitedNanos);
            m.put("waitedToNextStartNanos", waitedToNextStartNanos);
            m.put("totalNanos", totalNanos);
            return m;
        }
    }
}
