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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

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
 * <pre>  memory --out FILE [--counts 1,10,100] [--parallel 2]</pre>
 */
public final class MemoryPerArrow {
    static final int MEMORY_MIB = 64;

    private MemoryPerArrow() {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Path out = a.path("out");
        int parallel = a.integer("parallel", 2);
        List<Integer> counts = new ArrayList<>();
        for (String c : a.string("counts", "1,10,100").split(",")) {
            counts.add(Integer.parseInt(c.trim()));
        }
        Arrow arrow = Arrow.of(NativePrograms.require("hello-wait")).memory(MEMORY_MIB, SizeUnit.MiB)
                .stdin(Input.pipe()).stdout(Output.pipe()).stderr(Output.discard());

        // warm-up: one full life, so classes and JIT are in the baseline
        ArrowProcess warm = boot(arrow);
        end(List.of(warm));

        settle();
        long baseRss = rssBytes();
        ProcessMemory baseMemory = ProcessMemory.read(MappingGroup.ARROW);
        long baseHeap = heapUsed();
        long baseThreads = Thread.activeCount();
        List<ArrowProcess> alive = new ArrayList<>();
        List<Map<String, Object>> steps = new ArrayList<>();
        List<Map<String, Object>> failures = new ArrayList<>();
        ExecutorService starters = Executors.newFixedThreadPool(parallel);
        try {
            for (int target : counts) {
                long t0 = System.nanoTime();
                while (alive.size() < target) {
                    if (failures.size() >= MAX_FAILURES) {
                        throw new IllegalStateException(failures.size() + " arrows failed to boot: " + failures);
                    }
                    List<Attempt> attempts = new ArrayList<>();
                    for (int i = alive.size(); i < target; i++) {
                        Attempt at = new Attempt();
                        at.future = starters.submit(() -> at.boot(arrow));
                        attempts.add(at);
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
                long bootNanos = System.nanoTime() - t0;
                settle();
                long rss = rssBytes();
                ProcessMemory perArrow = ProcessMemory.read(MappingGroup.ARROW).minus(baseMemory).dividedBy(alive.size());
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
                step.put("rssPerArrowBytes", (rss - baseRss) / alive.size());
                step.put("memoryPerArrow", perArrow.toJson());
                step.put("heapPerArrowBytes", (heap - baseHeap) / alive.size());
                step.put("guestResidentPerArrowBytes", guest / alive.size());
                step.put("threadsPerArrow", (double) (Thread.activeCount() - baseThreads) / alive.size());
                step.put("bootWallNanos", bootNanos);
                step.put("exitsPerArrow", exits / alive.size());
                steps.add(step);
                System.err.printf("[memory] %d alive: RSS +%.1f MiB, Pss +%.1f MiB, Private_Dirty +%.1f MiB, host kernel +%.2f MiB"
                                + " per arrow (guest RAM touched %.1f MiB, Java heap %.2f MiB), booted in %.1f s%n", alive.size(),
                        (rss - baseRss) / alive.size() / 1048576.0,
                        perArrow.process().get(ProcessMemory.PSS).orElse(0) / 1048576.0,
                        perArrow.process().get(ProcessMemory.PRIVATE_DIRTY).orElse(0) / 1048576.0,
                        perArrow.hostKernelBytes() / 1048576.0,
                        guest / alive.size() / 1048576.0, (heap - baseHeap) / alive.size() / 1048576.0, bootNanos / 1e9);
            }
        } finally {
            starters.shutdownNow();
            // measured: stop the VMs at once (an orderly end of 100 guests sharing the lab's one CPU takes long)
            stop(alive);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("guestMemoryMiB", MEMORY_MIB);
        result.put("baselineRssBytes", baseRss);
        result.put("baselineMemory", baseMemory.toJson());
        result.put("baselineHeapBytes", baseHeap);
        result.put("jvmArguments", ManagementFactory.getRuntimeMXBean().getInputArguments());
        result.put("parallelStarts", parallel);
        result.put("steps", steps);
        result.put("bootFailures", failures);
        Json.write(out, result);
    }

    /** An arrow that did not greet within this (per arrow, per starter thread) is given up and replaced. */
    static final java.time.Duration BOOT_TIMEOUT = java.time.Duration.ofSeconds(120);
    static final int MAX_FAILURES = 5;

    /** One arrow being booted on a starter thread, so that the main thread can give it up. */
    static final class Attempt {
        volatile ArrowProcess process;
        Future<ArrowProcess> future;

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

    private static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(300);
        }
    }

    private static long heapUsed() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
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
