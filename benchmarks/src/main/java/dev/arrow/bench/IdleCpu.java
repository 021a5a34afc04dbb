package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * This process's CPU time over a window in which it sits idle (all its threads, user + system, from
 * {@code /proc/self/stat}): what arrows that wait on stdin cost the host's CPU. The kernel counts
 * the time in clock ticks (10 ms at 100 per second), so a 10 s window resolves 0.1% of a core.
 *
 * @param windowNanos the wall time between the two readings
 * @param used        the CPU time used between them
 * @param byThread    where it went: the threads' CPU time by name with numbers as "N" (so that the same
 *                    thread of every arrow sums up: {@code arrow-vmN-vcpuN}), largest first, at most
 *                    {@link #THREAD_KINDS} and "others" (threads that ended within the window are left out)
 * @param jitNanos    of {@code used}, what the JIT compiler threads used (all of them, {@link #JIT_COMPILER_KIND}):
 *                    compiles queued by the work before the window, which the figures without the JIT leave out
 * @param readingNanos of {@code used}, what the measuring thread itself used to read every thread's counters inside
 *                    the window (a {@code ThreadMXBean} reading around them): the benchmark's cost, not the arrows'
 *                    (with 100 arrows alive it reads 200 more threads' {@code stat} files, 0.65% of a lab core in the
 *                    run of 2026-12-07), which {@link #idlePercentOfCore} leaves out
 */
record IdleCpu(long windowNanos, ProcessCpu used, List<Map.Entry<String, Long>> byThread, long jitNanos,
        long readingNanos) {
    static final int THREAD_KINDS = 6;
    /** HotSpot's compiler threads ("C1 CompilerThread0", "C2 CompilerThread1", cut to 15 characters) as {@link #kind}. */
    static final String JIT_COMPILER_KIND = "CN CompilerThre";

    /** Reads this process's CPU time, sleeps {@code window}, reads it again. */
    static IdleCpu measure(Duration window, long ticksPerSecond) throws IOException, InterruptedException {
        long pid = ProcessHandle.current().pid();
        // the thread readings inside the process's window: the JIT's share (from the threads) can then never exceed
        // the process's CPU time, also when reading hundreds of threads' stat files is slow and itself gets compiled
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long t0 = System.nanoTime();
        ProcessCpu before = ProcessCpu.read(pid, ticksPerSecond);
        long readingBefore = threads.getCurrentThreadCpuTime();
        ThreadCpu threadsBefore = ThreadCpu.read(pid, ticksPerSecond);
        long readingBetween = threads.getCurrentThreadCpuTime();
        Thread.sleep(window.toMillis());
        long readingAgain = threads.getCurrentThreadCpuTime();
        ThreadCpu threadsAfter = ThreadCpu.read(pid, ticksPerSecond);
        long readingAfter = threads.getCurrentThreadCpuTime();
        ProcessCpu after = ProcessCpu.read(pid, ticksPerSecond);
        long elapsed = System.nanoTime() - t0;
        long reading = readingBefore < 0 ? 0 : (readingBetween - readingBefore) + (readingAfter - readingAgain);
        List<Map.Entry<String, Long>> byThread = threadsAfter.since(threadsBefore, THREAD_KINDS, IdleCpu::kind);
        long jit = threadsAfter.since(threadsBefore, Integer.MAX_VALUE, IdleCpu::kind).stream()
                .filter(e -> e.getKey().startsWith(JIT_COMPILER_KIND)).mapToLong(Map.Entry::getValue).sum();
        return new IdleCpu(elapsed, after.minus(before), byThread, jit, reading);
    }

    /** How long the JIT compilers must not have compiled before an idle window starts ({@link #awaitQuietJit}). */
    static final Duration JIT_QUIET = Duration.ofSeconds(2);
    /** The longest wait for {@link #JIT_QUIET}: a JIT that keeps compiling is then measured as it is. */
    static final Duration JIT_QUIET_MAX_WAIT = Duration.ofSeconds(60);

    /**
     * Waits until this JVM's JIT compilers have compiled nothing for {@link #JIT_QUIET} (the total compilation time of
     * {@link java.lang.management.CompilationMXBean} stands still), at most {@link #JIT_QUIET_MAX_WAIT}: the compiles
     * that starting many arrows queued are the JVM warming up, not what idle arrows cost. Returns how long it waited,
     * negative if the JIT was still compiling when the wait ended (or cannot be watched).
     */
    static long awaitQuietJit() throws InterruptedException {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        long t0 = System.nanoTime();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return -1;
        }
        long last = jit.getTotalCompilationTime();
        long quietSince = t0;
        while (System.nanoTime() - quietSince < JIT_QUIET.toNanos()) {
            if (System.nanoTime() - t0 >= JIT_QUIET_MAX_WAIT.toNanos()) {
                return -(System.nanoTime() - t0);
            }
            Thread.sleep(100);
            long now = jit.getTotalCompilationTime();
            if (now != last) {
                last = now;
                quietSince = System.nanoTime();
            }
        }
        return System.nanoTime() - t0;
    }

    /** A thread's name with each run of digits as "N": {@code arrow-vm12-vcpu0} → {@code arrow-vmN-vcpuN}. */
    static String kind(String threadName) {
        return threadName.replaceAll("[0-9]+", "N");
    }

    /** User plus system time over the window, in % of one core. */
    double percentOfCore() {
        return percentOfCore(used.totalNanos(), windowNanos);
    }

    /** An idle CPU measurement as {@link #toJson()} wrote it, in % of one core; NaN if there is none. */
    static double percentOfCore(JsonNode cpu) {
        double window = cpu.path("windowNanos").asDouble();
        return window > 0 ? percentOfCore(cpu.path("userNanos").asDouble() + cpu.path("systemNanos").asDouble(), window)
                : Double.NaN;
    }

    /**
     * {@link #percentOfCore(JsonNode)} less the JIT compiler threads' share ({@code jitCompilerNanos}) and the measuring
     * thread's readings ({@code readingNanos}; a measurement from before either was recorded counts whole); NaN if
     * there is none, and NaN if they exceed the process's (a measurement of 2026-12-07 that read the threads after the
     * process's window closed: compiles during that reading counted for the JIT only, so the difference is not a
     * figure).
     */
    static double idlePercentOfCore(JsonNode cpu) {
        double without = percentOfCore(cpu) - jitPercentOfCore(cpu) - readingPercentOfCore(cpu);
        return without < 0 ? Double.NaN : without;
    }

    /** The measuring thread's own readings in an idle measurement, in % of one core (0 if not recorded). */
    static double readingPercentOfCore(JsonNode cpu) {
        double window = cpu.path("windowNanos").asDouble();
        return window > 0 ? percentOfCore(cpu.path("readingNanos").asDouble(0), window) : Double.NaN;
    }

    /** The JIT compiler threads' CPU time in an idle measurement, in % of one core (0 if not recorded). */
    static double jitPercentOfCore(JsonNode cpu) {
        double window = cpu.path("windowNanos").asDouble();
        return window > 0 ? percentOfCore(cpu.path("jitCompilerNanos").asDouble(0), window) : Double.NaN;
    }

    /** {@code cpuNanos} used over {@code windowNanos} of wall time, in % of one core. */
    static double percentOfCore(double cpuNanos, double windowNanos) {
        return 100 * cpuNanos / windowNanos;
    }

    /**
     * As JSON: {@code {"windowNanos":..,"userNanos":..,"systemNanos":..,"guestNanos":..,
     * "jitCompilerNanos":..,"readingNanos":..,"byThreadNanos":{"arrow-vmN-vcpuN":..,..}}}.
     */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("windowNanos", windowNanos);
        m.putAll(used.toJson());
        m.put("jitCompilerNanos", jitNanos);
        m.put("readingNanos", readingNanos);
        m.put("byThreadNanos", ThreadCpu.toJson(byThread));
        return m;
    }
}
