package dev.arrow.bench;

import static dev.arrow.bench.MarkdownTable.bold;

import com.fasterxml.jackson.databind.JsonNode;
import dev.arrow.kvm.loader.KernelSnapshot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The RESULTS.md section on host memory per running hello arrow ({@link MemoryPerArrow}'s
 * {@code memory.json}): RSS, then the honest figures ({@link ProcessMemory}: Pss, Private_Dirty,
 * the host kernel's share) with their goals, where Private_Dirty goes, and the host kernel's
 * counters one by one.
 */
final class MemorySection {
    private static final double MIB = 1 << 20;
    private static final double KIB = 1 << 10;

    private final StringBuilder md = new StringBuilder();

    private MemorySection() {
    }

    /**
     * The figures of one step (N arrows alive), per arrow, in MiB unless named otherwise; NaN where
     * the result file does not have them (files written before {@link ProcessMemory} was measured).
     *
     * @param allInMib        Private_Dirty plus the host kernel's share: what one more arrow costs the host
     * @param kernelCopiesMib the kernel image's pages this arrow's guest wrote: its own copies ({@code Anonymous}
     *                        in the image's mappings)
     * @param kernelUnsharedMib the image's file pages that count as private because only one arrow maps them
     *                        (0 once two or more share them)
     * @param vmmMib          the rest of Private_Dirty: neither guest RAM nor the kernel image (the VMM's threads,
     *                        buffers and the JVM's growth)
     */
    record Step(int alive, double rssMib, double pssMib, double privateDirtyMib, double hostKernelMib, double allInMib,
                double guestMib, double kernelCopiesMib, double kernelUnsharedMib, double vmmMib, double anonHugeMib,
                Map<String, Double> hostKernelKib, double heapKib, double threads, double bootSeconds) {
        static Step of(JsonNode s) {
            JsonNode m = s.path("memoryPerArrow");
            JsonNode process = m.path("process");
            JsonNode kernel = m.path("mappings").path(MappingGroup.KERNEL_IMAGE.name());
            double privateDirty = mib(process, ProcessMemory.PRIVATE_DIRTY);
            double guest = s.path("guestResidentPerArrowBytes").asDouble() / MIB;
            double hostKernel = Double.NaN;
            Map<String, Double> hostKernelKib = new LinkedHashMap<>();
            if (m.has("hostKernel")) {
                hostKernel = 0;
                for (String name : ProcessMemory.HOST_KERNEL_COUNTERS) {
                    JsonNode v = m.path("hostKernel").path(name);
                    hostKernelKib.put(name, v.isNumber() ? v.asDouble() / KIB : Double.NaN);
                    hostKernel += v.asDouble() / MIB;
                }
            }
            double kernelPrivate = kernel.isMissingNode() ? Double.NaN : mibOrZero(kernel, ProcessMemory.PRIVATE_DIRTY);
            double kernelCopies = kernel.isMissingNode() ? Double.NaN : mibOrZero(kernel, ProcessMemory.ANONYMOUS);
            return new Step(s.path("alive").asInt(), s.path("rssPerArrowBytes").asDouble() / MIB,
                    mib(process, ProcessMemory.PSS), privateDirty, hostKernel, privateDirty + hostKernel, guest,
                    kernelCopies, kernelPrivate - kernelCopies, privateDirty - guest - kernelPrivate,
                    mib(process, ProcessMemory.ANON_HUGE_PAGES), hostKernelKib, s.path("heapPerArrowBytes").asDouble() / KIB,
                    s.path("threadsPerArrow").asDouble(), s.path("bootWallNanos").asDouble() / 1e9);
        }

        private static double mib(JsonNode counters, String name) {
            JsonNode v = counters.path(name);
            return v.isNumber() ? v.asDouble() / MIB : Double.NaN;
        }

        /** A group without mappings has no counters: 0. */
        private static double mibOrZero(JsonNode counters, String name) {
            return counters.path(name).asDouble() / MIB;
        }
    }

    /**
     * What the idle arrows of one step cost besides memory ({@code alive} 0: the baseline, the JVM after a
     * warm-up with none alive); NaN where the result file does not have a figure.
     *
     * @param openFds              this JVM's open file descriptors
     * @param fdsPerArrow          (open fds − the baseline's) / alive
     * @param cpuPercent           this JVM's CPU time over the idle window less its JIT compiler threads' and the
     *                             benchmark's own readings, % of one core ({@link IdleCpu#idlePercentOfCore})
     * @param jitPercent           the JIT compiler threads' CPU time over the window, % of one core: compiles queued
     *                             by the starts before it, the JVM warming up, not what the idle arrows cost
     * @param readingPercent       the measuring thread's CPU time reading every thread's counters in the window, % of
     *                             one core ({@link IdleCpu#readingPercentOfCore}; 0 in results from before it was kept)
     * @param idleCpuPercent       {@code cpuPercent} − the baseline's: what the idle arrows cost
     * @param idleCpuPerGoalPercent {@code idleCpuPercent} scaled to {@link GoalsSection#GOAL_ALIVE} arrows
     * @param probeMs              one more arrow started alone, start → its first output, median of the probes
     * @param probeToFirst         {@code probeMs} over the baseline's: against the first arrow
     * @param cpuByThreadPercent   where {@code cpuPercent} went: % of one core by thread name (numbers as "N"),
     *                             largest first ({@link IdleCpu#byThread()}); empty if not measured
     */
    record IdleCosts(int alive, double openFds, double fdsPerArrow, double cpuPercent, double jitPercent,
                     double readingPercent, double idleCpuPercent,
                     double idleCpuPerGoalPercent, double probeMs, double probeToFirst, Map<String, Double> cpuByThreadPercent) {
        /**
         * The baseline, then each step of {@code memory}; none for a file written before these were measured
         * (or null).
         */
        static List<IdleCosts> of(JsonNode memory) {
            List<IdleCosts> rows = new ArrayList<>();
            if (memory == null || !(memory.has("baselineOpenFds") || memory.has("baselineIdleCpu")
                    || memory.has("baselineProbeFirstOutputNanos"))) {
                return rows;
            }
            double baseFds = number(memory.path("baselineOpenFds"));
            double baseCpu = IdleCpu.idlePercentOfCore(memory.path("baselineIdleCpu"));
            double firstMs = medianMs(memory.path("baselineProbeFirstOutputNanos"));
            rows.add(new IdleCosts(0, baseFds, Double.NaN, baseCpu, IdleCpu.jitPercentOfCore(memory.path("baselineIdleCpu")),
                    IdleCpu.readingPercentOfCore(memory.path("baselineIdleCpu")), Double.NaN, Double.NaN, firstMs,
                    Double.isNaN(firstMs) ? Double.NaN : 1, byThreadPercent(memory.path("baselineIdleCpu"))));
            for (JsonNode s : memory.path("steps")) {
                int alive = s.path("alive").asInt();
                double fds = number(s.path("openFds"));
                double cpu = IdleCpu.idlePercentOfCore(s.path("idleCpu"));
                double probeMs = medianMs(s.path("probeFirstOutputNanos"));
                rows.add(new IdleCosts(alive, fds, (fds - baseFds) / alive, cpu, IdleCpu.jitPercentOfCore(s.path("idleCpu")),
                        IdleCpu.readingPercentOfCore(s.path("idleCpu")), cpu - baseCpu,
                        (cpu - baseCpu) / alive * GoalsSection.GOAL_ALIVE, probeMs, probeMs / firstMs,
                        byThreadPercent(s.path("idleCpu"))));
            }
            return rows;
        }

        /**
         * The row the goals set "with {@link GoalsSection#GOAL_ALIVE} alive" are read from: the step with that many
         * alive, else the largest (null if none).
         */
        static IdleCosts atGoal(List<IdleCosts> rows) {
            IdleCosts largest = null;
            for (IdleCosts r : rows) {
                if (r.alive() == GoalsSection.GOAL_ALIVE) {
                    return r;
                }
                if (r.alive() > 0 && (largest == null || r.alive() > largest.alive())) {
                    largest = r;
                }
            }
            return largest;
        }

        private static double number(JsonNode v) {
            return v.isNumber() ? v.asDouble() : Double.NaN;
        }

        private static Map<String, Double> byThreadPercent(JsonNode cpu) {
            Map<String, Double> m = new LinkedHashMap<>();
            double window = cpu.path("windowNanos").asDouble();
            cpu.path("byThreadNanos").fields().forEachRemaining(e ->
                    m.put(e.getKey(), IdleCpu.percentOfCore(e.getValue().asDouble(), window)));
            return m;
        }

        private static double medianMs(JsonNode nanos) {
            List<Long> values = new ArrayList<>();
            nanos.forEach(n -> values.add(n.asLong()));
            return Stats.median(values) / 1e6;
        }
    }

    /** The steps of {@code memory} (null: none), in the order measured. */
    static List<Step> steps(JsonNode memory) {
        List<Step> steps = new ArrayList<>();
        if (memory != null) {
            memory.path("steps").forEach(s -> steps.add(Step.of(s)));
        }
        return steps;
    }

    /** The section for {@code memory} (null: not measured), measured on {@code where}. */
    static String render(String number, JsonNode memory, KvmFlavour where) {
        MemorySection s = new MemorySection();
        s.write(number, memory, where);
        return s.md.toString();
    }

    private void write(String number, JsonNode memory, KvmFlavour where) {
        line("## " + number + ". Host memory per running hello arrow (" + where.tag() + ")");
        line("");
        if (memory == null) {
            line("Not measured in this run: the Linux-boot part did not produce `memory.json`.");
            line("");
            return;
        }
        List<String> jvm = new ArrayList<>();
        memory.path("jvmArguments").forEach(n -> jvm.add("`" + n.asText() + "`"));
        line("`MemoryPerArrow`: N arrows of `hello-wait` (" + memory.path("guestMemoryMiB").asInt() + " MiB guest each;"
                + " greets like the hello arrow, then waits on stdin so it stays booted) alive at once in one JVM"
                + " (" + String.join(" ", jvm) + "; the heap is fixed and pre-touched, so"
                + " its growth does not pass for arrow memory), started " + memory.path("parallelStarts").asInt()
                + " at a time. Per arrow = (value with N alive − baseline after a warm-up arrow) / N."
                + " RSS is the JVM's VmRSS: it counts a page once per mapping of it, so the kernel image that"
                + " every arrow maps from one shared file counts once per arrow. The honest figures come from"
                + " `/proc/self/smaps_rollup`: *Pss* shares each page among the mappings of it; *Private_Dirty* counts"
                + " only written pages no other mapping has (with one arrow alive, the image's pages it read count"
                + " as private too: nobody shares them yet). *Host kernel* is the growth of `/proc/meminfo`'s"
                + " " + String.join(", ", ProcessMemory.HOST_KERNEL_COUNTERS) + " (thread stacks, KVM's slab"
                + " objects, page tables, KVM's page tables of its guests, `struct kvm`): host-wide counters, so"
                + " whatever else ran meanwhile is in them too."
                + (where.isLab() ? " Lab figures: the guest touches the same pages on hardware KVM, the JVM's share is the same;"
                        + " the host kernel's share depends on the KVM (nested here)." : " " + where.figures()));
        line("");
        List<Step> steps = steps(memory);
        MarkdownTable perArrow = new MarkdownTable("arrows alive", "RSS added MiB", "Pss MiB", "Private_Dirty MiB",
                "host kernel MiB", bold("all-in: Private_Dirty + host kernel MiB") + " (goal ≤ "
                + Fmt.number(GoalsSection.ALL_IN_PRIVATE_MIB, 0) + ")");
        for (Step s : steps) {
            perArrow.row(String.valueOf(s.alive()), Fmt.number(s.rssMib(), 2), Fmt.number(s.pssMib(), 2),
                    Fmt.number(s.privateDirtyMib(), 2), Fmt.number(s.hostKernelMib(), 2), bold(Fmt.number(s.allInMib(), 2)));
        }
        md.append(perArrow.render());
        line("Where Private_Dirty goes, per arrow: *guest RAM touched* is mincore over each arrow's guest RAM (the"
                + " kernel image's range left out); *kernel image, own copies* are the image's pages the guest wrote"
                + " (`Anonymous` in the mappings of `/memfd:" + KernelSnapshot.FILE_NAME_PREFIX + "*`, the text every"
                + " guest patches alike at boot, mapped from `*" + KernelSnapshot.PATCHED_SUFFIX + "` once idle, included);"
                + " *kernel image, unshared* its read pages no other arrow maps; *VMM and JVM* is the rest (the VMM's"
                + " threads and buffers, the JVM's metadata). *AnonHugePages* is anonymous memory in transparent huge"
                + " pages (guest RAM is advised `MADV_NOHUGEPAGE`).");
        line("");
        MarkdownTable privateDirty = new MarkdownTable("arrows alive", "guest RAM touched MiB",
                "kernel image, own copies MiB", "kernel image, unshared MiB",
                bold("VMM and JVM MiB") + " (goal ≤ " + Fmt.number(GoalsSection.VMM_SIDE_MIB, 1) + ")", "AnonHugePages MiB",
                "Java heap KiB", "threads", "time to boot this step s");
        for (Step s : steps) {
            privateDirty.row(String.valueOf(s.alive()), Fmt.number(s.guestMib(), 2), Fmt.number(s.kernelCopiesMib(), 2),
                    Fmt.number(s.kernelUnsharedMib(), 2), bold(Fmt.number(s.vmmMib(), 2)), Fmt.number(s.anonHugeMib(), 2),
                    Fmt.number(s.heapKib(), 0), Fmt.number(s.threads(), 1), Fmt.number(s.bootSeconds(), 1));
        }
        md.append(privateDirty.render());
        byKind(memory);
        line("The host kernel's share per arrow, KiB (differences of host-wide counters; a counter this kernel does not"
                + " have is \"–\"):");
        line("");
        List<String> counters = new ArrayList<>(List.of("arrows alive"));
        counters.addAll(ProcessMemory.HOST_KERNEL_COUNTERS);
        MarkdownTable hostKernel = new MarkdownTable(counters);
        for (Step s : steps) {
            List<String> row = new ArrayList<>(List.of(String.valueOf(s.alive())));
            for (String name : ProcessMemory.HOST_KERNEL_COUNTERS) {
                row.add(Fmt.number(s.hostKernelKib().getOrDefault(name, Double.NaN), 0));
            }
            hostKernel.row(row);
        }
        md.append(hostKernel.render());
        idleCosts(memory);
        int failed = memory.path("bootFailures").size();
        if (failed > 0) {
            line("**" + failed + " arrow(s) did not greet within " + MemoryPerArrow.BOOT_TIMEOUT.toSeconds()
                    + " s and were replaced** (their timelines are in `memory.json`, `bootFailures`): a defect to"
                    + " chase, not a figure.");
            line("");
        }
    }

    /**
     * Private_Dirty per arrow by kind of mapping ({@link MappingKinds}): the kinds besides the guest's, one row each,
     * largest at the last step first, then their sum; nothing for a file from before the kinds were measured.
     */
    private void byKind(JsonNode memory) {
        List<JsonNode> steps = new ArrayList<>();
        memory.path("steps").forEach(s -> {
            if (s.has("privateDirtyByKindPerArrow")) {
                steps.add(s);
            }
        });
        if (steps.isEmpty()) {
            return;
        }
        Map<String, Double> last = new LinkedHashMap<>();
        for (JsonNode s : steps) {
            s.path("privateDirtyByKindPerArrow").fields().forEachRemaining(e -> {
                if (!MappingKinds.GUEST_KINDS.contains(e.getKey())) {
                    last.put(e.getKey(), 0.0);
                }
            });
        }
        steps.get(steps.size() - 1).path("privateDirtyByKindPerArrow").fields().forEachRemaining(e -> {
            if (last.containsKey(e.getKey())) {
                last.put(e.getKey(), e.getValue().asDouble());
            }
        });
        List<String> kinds = new ArrayList<>(last.keySet());
        kinds.sort((a, b) -> Double.compare(Math.abs(last.get(b)), Math.abs(last.get(a))));
        line("*VMM and JVM* by kind of mapping, Private_Dirty per arrow in KiB (differences of `/proc/self/smaps`, each"
                + " mapping by what the kernel shows of it: `stack: NAME` is the mapping that holds a waiting thread's"
                + " stack pointer (`/proc/self/task/TID/syscall`), glibc's thread descriptor and TLS at its top included,"
                + " by thread name with numbers as N; *" + MappingKinds.MALLOC_ARENAS + "* glibc's 64 MiB aligned"
                + " `MAP_NORESERVE` heaps of threads' arenas, *" + MappingKinds.MALLOC_MAIN + "* `[heap]`; *"
                + MappingKinds.KVM_RUN + "* the vCPUs' mappings of their `kvm_run`; *" + MappingKinds.JIT_CODE
                + "* executable anonymous memory; *" + MappingKinds.OTHER_ANONYMOUS + "* the rest of anonymous memory:"
                + " the Java heap, metaspace, malloc's own mappings of large blocks, stacks of threads that were running;"
                + " *" + MappingKinds.FILES + "* libraries and other files). Guest RAM is told apart as anonymous"
                + " `MAP_NORESERVE` memory outside malloc's heaps; its smaps figure can differ from mincore's above"
                + " (mincore counts the zero page a read maps, smaps does not):");
        line("");
        List<String> header = new ArrayList<>(List.of("kind of mapping"));
        steps.forEach(s -> header.add(s.path("alive").asInt() + " alive"));
        MarkdownTable t = new MarkdownTable(header);
        for (String kind : kinds) {
            List<String> row = new ArrayList<>(List.of("`" + kind + "`"));
            steps.forEach(s -> row.add(Fmt.number(s.path("privateDirtyByKindPerArrow").path(kind).asDouble() / KIB, 1)));
            t.row(row);
        }
        List<String> sum = new ArrayList<>(List.of(bold("sum")));
        List<String> guest = new ArrayList<>(List.of("guest RAM (smaps), for comparison"));
        for (JsonNode s : steps) {
            double total = 0;
            for (String kind : kinds) {
                total += s.path("privateDirtyByKindPerArrow").path(kind).asDouble();
            }
            sum.add(bold(Fmt.number(total / KIB, 1)));
            guest.add(Fmt.number(s.path("privateDirtyByKindPerArrow").path(MappingKinds.GUEST_RAM).asDouble() / KIB, 1));
        }
        t.row(sum);
        t.row(guest);
        md.append(t.render());
    }

    /** Bytes by kind as {@code kind 12.0, kind 4.0} KiB, largest first. */
    static String kibByKind(Map<String, Long> bytes) {
        List<Map.Entry<String, Long>> sorted = new ArrayList<>(bytes.entrySet());
        sorted.sort((a, b) -> Long.compare(Math.abs(b.getValue()), Math.abs(a.getValue())));
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Long> e : sorted) {
            sb.append(sb.length() == 0 ? "" : ", ").append(e.getKey()).append(' ').append(Fmt.number(e.getValue() / KIB, 1));
        }
        return sb.toString();
    }

    private void idleCosts(JsonNode memory) {
        List<IdleCosts> rows = IdleCosts.of(memory);
        if (rows.isEmpty()) {
            line("Open fds, idle CPU and the boot of one more arrow: not measured (`memory.json` is from before they were).");
            line("");
            return;
        }
        double windowSeconds = memory.path("baselineIdleCpu").path("windowNanos").asDouble() / 1e9;
        int probes = memory.path("probesPerStep").asInt();
        line("What idle arrows cost besides memory, measured with none alive (the baseline, after the warm-up) and after"
                + " each step, settled: this JVM's open file descriptors (the entries of `/proc/self/fd`); its CPU time"
                + " (user + system of all its threads, the guests' time included, `/proc/self/stat`) over "
                + Fmt.number(windowSeconds, 0) + " s in which every arrow waits on stdin"
                + (memory.has("baselineJitQuietWaitNanos") ? " (started once the JIT compilers had compiled nothing for "
                        + IdleCpu.JIT_QUIET.toSeconds() + " s, or after " + IdleCpu.JIT_QUIET_MAX_WAIT.toSeconds()
                        + " s of waiting for that)" : "")
 + ", less the JIT compiler threads' time (their own column: compiles"
                + " the starts before the window queued, the JVM warming up, which a long-lived JVM pays once), less the"
                + " benchmark's own readings of every thread's counters inside the window (their own column: the measuring"
                + " thread's CPU time around them, from `ThreadMXBean`; with more arrows alive it reads more threads'"
                + " `stat` files) and less the baseline's, as % of one core and scaled to " + GoalsSection.GOAL_ALIVE + " arrows (the kernel counts CPU time in "
                + 1000 / ProcessCpu.DEFAULT_TICKS_PER_SECOND + " ms ticks: "
                + Fmt.number(100.0 / ProcessCpu.DEFAULT_TICKS_PER_SECOND / windowSeconds, 2) + "% of a core over this"
                + " window); then one more arrow started alone, " + (probes == 1 ? "once" : probes + " times, each stopped before the next")
                + ":"
                + " start → its first output (the timeline's first-output phase), the median, against the same with none"
                + " alive (the first arrow). The steps start arrows " + memory.path("parallelStarts").asInt()
                + " at a time, so their time to boot is not one arrow's.");
        line("");
        MarkdownTable idle = new MarkdownTable("arrows alive", "open fds",
                bold("fds per arrow") + " (goal ≤ " + Fmt.number(GoalsSection.FDS_PER_ARROW, 0) + ")",
                "CPU without the JIT and the readings, % of a core", "JIT compilers, % of a core",
                "the benchmark's readings, % of a core",
                "idle arrows' CPU, % of a core", bold("per " + GoalsSection.GOAL_ALIVE + " idle arrows, % of a core")
                + " (goal ≤ " + Fmt.number(GoalsSection.IDLE_CPU_PERCENT, 1) + ")",
                "one more arrow: start → first output ms (median)",
                bold("against the first") + " (goal ≤ " + Fmt.number(GoalsSection.BOOT_TO_FIRST, 2) + ")");
        for (IdleCosts r : rows) {
            idle.row(String.valueOf(r.alive()), Fmt.number(r.openFds(), 0), bold(Fmt.number(r.fdsPerArrow(), 2)),
                    Fmt.number(r.cpuPercent(), 2), Fmt.number(r.jitPercent(), 2), Fmt.number(r.readingPercent(), 2),
                    Fmt.number(r.idleCpuPercent(), 2),
                    bold(Fmt.number(r.idleCpuPerGoalPercent(), 2)), Fmt.number(r.probeMs(), 0),
                    bold(Fmt.number(r.probeToFirst(), 2)));
        }
        md.append(idle.render());
        IdleCosts step = IdleCosts.atGoal(rows);
        if (step != null && !step.cpuByThreadPercent().isEmpty()) {
            line("Where this JVM's CPU went over the window, % of a core by thread (numbers in the names as N, the names"
                    + " cut to 15 characters by the kernel; threads that ended within the window left out): with "
                    + step.alive() + " alive " + threads(step) + "; with none alive " + threads(rows.get(0)) + ".");
            line("");
        }
    }

    private static String threads(IdleCosts row) {
        if (row.cpuByThreadPercent().isEmpty()) {
            return "not measured";
        }
        StringBuilder sb = new StringBuilder();
        row.cpuByThreadPercent().forEach((name, percent) -> sb.append(sb.length() == 0 ? "" : ", ")
                .append('`').append(name).append("` ").append(Fmt.number(percent, 2)));
        return sb.toString();
    }

    private void line(String s) {
        md.append(s).append('\n');
    }
}
