package dev.arrow.bench;

import static dev.arrow.bench.MarkdownTable.bold;

import com.fasterxml.jackson.databind.JsonNode;
import dev.arrow.BootPhase;
import dev.arrow.kvm.vmm.VmBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The RESULTS.md section on templates ({@link TemplateBenchmark}'s {@code template.json}): clones against cold
 * boots of the same hello arrow, clones started while others stay alive, clones back to back (per second, per
 * core, reset → next call), memory, fds, threads and idle CPU per clone with 1, 10, 100 (and 1,000) alive, and Firecracker's published restore
 * figures beside them. Its goals are {@link GoalsSection}'s.
 */
final class TemplateSection {
    private static final double MIB = 1 << 20;
    private static final double KIB = 1 << 10;

    /** KVM's counters (debugfs) shown for a clone, with what each counts. */
    static final Map<String, String> CLONE_KVM_COUNTERS = counters();

    private final StringBuilder md = new StringBuilder();

    private static Map<String, String> counters() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("exits", "exits, all kinds");
        m.put("pf_taken", "nested page faults (a guest page not mapped for the VM yet)");
        m.put("io_exits", "port I/O exits (init's status port)");
        m.put("mmio_exits", "MMIO exits to the VMM (virtio)");
        m.put("insn_emulation", "instructions KVM emulated (MMIO: the IO-APIC, virtio)");
        m.put("halt_exits", "HLT exits");
        return m;
    }

    private TemplateSection() {
    }

    /** Median, 90th percentile (nearest rank) and count of a sample of durations, in ms; NaN when empty. */
    record Latency(double medianMs, double p90Ms, int count) {
        static Latency of(List<Long> nanos) {
            return new Latency(Stats.median(nanos) / 1e6, nanos.isEmpty() ? Double.NaN : Stats.percentile(nanos, 90) / 1e6,
                    nanos.size());
        }

        /** The median as the report writes it: three significant digits, "–" for none. */
        String median() {
            return Fmt.significant(medianMs);
        }

        /** The 90th percentile as the report writes it: three significant digits, "–" for none. */
        String p90() {
            return Fmt.significant(p90Ms);
        }
    }

    /**
     * The figures of one memory step (N clones alive), per clone, in MiB unless named otherwise.
     *
     * @param allInMib              Private_Dirty plus the host kernel's share: what one more clone costs the host
     * @param templateRamPrivateMib Private_Dirty in the mappings of template RAM: the guest pages this clone wrote
     * @param templateRamPssMib     Pss in those mappings: its written pages and its share of the template's
     * @param firstOutput           start → first output of the clones started in this step
     * @param fds                   open fds per clone (NaN: not measured)
     * @param idleCpuPer100Percent  the idle clones' CPU (the process's without its JIT compiler threads, over the
     *                              same before them), scaled to
     *                              {@link GoalsSection#GOAL_ALIVE} clones, % of one core (NaN: not measured)
     */
    record MemoryStep(int alive, double rssMib, double pssMib, double privateDirtyMib, double templateRamPrivateMib,
                      double templateRamPssMib, double hostKernelMib, double allInMib, Map<String, Double> hostKernelKib,
                      double threads, Latency firstOutput, double fds, double idleCpuPer100Percent) {
        /** Step {@code s} of a memory part whose baseline idle CPU was {@code baseCpuPercent} (NaN: not measured). */
        static MemoryStep of(JsonNode s, double baseCpuPercent) {
            JsonNode m = s.path("memoryPerClone");
            JsonNode process = m.path("process");
            JsonNode ram = m.path("mappings").path(MappingGroup.TEMPLATE_RAM.name());
            double hostKernel = 0;
            Map<String, Double> hostKernelKib = new LinkedHashMap<>();
            for (String name : ProcessMemory.HOST_KERNEL_COUNTERS) {
                JsonNode v = m.path("hostKernel").path(name);
                hostKernelKib.put(name, v.isNumber() ? v.asDouble() / KIB : Double.NaN);
                hostKernel += v.asDouble() / MIB;
            }
            double privateDirty = mib(process, ProcessMemory.PRIVATE_DIRTY);
            return new MemoryStep(s.path("alive").asInt(), s.path("rssPerCloneBytes").asDouble() / MIB,
                    mib(process, ProcessMemory.PSS), privateDirty, ram.path(ProcessMemory.PRIVATE_DIRTY).asDouble() / MIB,
                    ram.path(ProcessMemory.PSS).asDouble() / MIB, hostKernel, privateDirty + hostKernel, hostKernelKib,
                    s.path("threadsPerClone").asDouble(), Latency.of(longs(s.path("firstOutputNanos"))),
                    s.path("fdsPerClone").isNumber() ? s.path("fdsPerClone").asDouble() : Double.NaN,
                    (IdleCpu.idlePercentOfCore(s.path("idleCpu")) - baseCpuPercent) / s.path("alive").asInt()
                            * GoalsSection.GOAL_ALIVE);
        }

        private static double mib(JsonNode counters, String name) {
            JsonNode v = counters.path(name);
            return v.isNumber() ? v.asDouble() / MIB : Double.NaN;
        }
    }

    /**
     * Clones back to back on {@code starters} threads.
     *
     * @param cpuSeconds   the process's CPU time meanwhile (user + system, the guests' time included)
     * @param guestSeconds of which KVM accounted as the guests' own
     */
    record CycleRun(int starters, int clones, double wallSeconds, double cpuSeconds, double guestSeconds,
                    Latency firstOutput) {
        static CycleRun of(JsonNode r) {
            JsonNode cpu = r.path("cpu");
            return new CycleRun(r.path("starters").asInt(), r.path("clones").asInt(), r.path("wallNanos").asDouble() / 1e9,
                    (cpu.path("userNanos").asDouble() + cpu.path("systemNanos").asDouble()) / 1e9,
                    cpu.path("guestNanos").asDouble() / 1e9, Latency.of(longs(r.path("firstOutputNanos"))));
        }

        double clonesPerSecond() {
            return clones / wallSeconds;
        }

        /** Clones per CPU second: what one fully used host core sustains at this run's cost per clone. */
        double clonesPerCoreSecond() {
            return cpuSeconds > 0 ? clones / cpuSeconds : Double.NaN;
        }
    }

    /**
     * Everything the section and the goals need from {@code template.json}.
     *
     * @param pairs      measured (not warm-up) pairs
     * @param resetToNext from a clone's end to the next clone's first output, on one thread
     */
    record Figures(int pairs, double templateBootMs, Latency coldAppExec, Latency cloneAppExec, Latency coldFirstOutput,
                   Latency cloneFirstOutput, Latency coldWaitFor, Latency cloneWaitFor, double pairRatioFirstOutput,
                   List<CycleRun> cycles, Latency resetToNext, Latency endToWaited, Latency waitedToNextStart,
                   List<MemoryStep> memory, int hostCpus, Split split, Map<String, Double> cloneKvmCounters) {
        static Figures of(JsonNode t) {
            Map<String, List<Long>> v = new LinkedHashMap<>();
            Map<String, List<Long>> kvm = new LinkedHashMap<>();
            List<Double> ratios = new ArrayList<>();
            int pairs = 0;
            for (JsonNode run : t.path("pairs")) {
                if (run.path("warmup").asBoolean()) {
                    continue;
                }
                pairs++;
                for (String kind : List.of("cold", "clone")) {
                    JsonNode r = run.path(kind);
                    add(v, kind + "AppExec", phase(r, BootPhase.APP_EXECUTED));
                    add(v, kind + "FirstOutput", phase(r, BootPhase.FIRST_OUTPUT));
                    add(v, kind + "WaitFor", r.path("startToWaitForNanos").asLong(-1));
                }
                add(v, "cloneRestore", phase(run.path("clone"), BootPhase.CLONED));
                for (String counter : CLONE_KVM_COUNTERS.keySet()) {
                    JsonNode n = run.path("clone").path("kvmCounters").path(counter);
                    if (n.isNumber()) {
                        kvm.computeIfAbsent(counter, k -> new ArrayList<>()).add(n.asLong());
                    }
                }
                add(v, "cloneGuest", between(run.path("clone"), BootPhase.CLONED, BootPhase.APP_EXECUTED));
                add(v, "coldHost", phase(run.path("cold"), BootPhase.FIRST_KVM_RUN));
                add(v, "coldKernel", between(run.path("cold"), BootPhase.FIRST_KVM_RUN, BootPhase.INIT_STARTED));
                add(v, "coldInit", between(run.path("cold"), BootPhase.INIT_STARTED, BootPhase.APP_EXECUTED));
                long cold = phase(run.path("cold"), BootPhase.FIRST_OUTPUT);
                long clone = phase(run.path("clone"), BootPhase.FIRST_OUTPUT);
                if (cold > 0 && clone > 0) {
                    ratios.add((double) cold / clone);
                }
            }
            List<CycleRun> cycles = new ArrayList<>();
            for (JsonNode r : t.path("cycles")) {
                cycles.add(CycleRun.of(r));
                for (JsonNode reset : r.path("resetToNext")) {
                    add(v, "total", reset.path("totalNanos").asLong(-1));
                    add(v, "endToWaited", reset.path("endToWaitedNanos").asLong(-1));
                    add(v, "waitedToNextStart", reset.path("waitedToNextStartNanos").asLong(-1));
                }
            }
            List<MemoryStep> memory = new ArrayList<>();
            double baseCpu = IdleCpu.idlePercentOfCore(t.path("memory").path("baselineIdleCpu"));
            t.path("memory").path("steps").forEach(s -> memory.add(MemoryStep.of(s, baseCpu)));
            return new Figures(pairs, t.path("templateBoot").path("wallNanos").asDouble(Double.NaN) / 1e6,
                    latency(v, "coldAppExec"), latency(v, "cloneAppExec"), latency(v, "coldFirstOutput"),
                    latency(v, "cloneFirstOutput"), latency(v, "coldWaitFor"), latency(v, "cloneWaitFor"),
                    Stats.median(ratios), cycles, latency(v, "total"), latency(v, "endToWaited"),
                    latency(v, "waitedToNextStart"), memory, t.path("hostCpus").asInt(),
                    new Split(latency(v, "coldHost"), latency(v, "coldKernel"), latency(v, "coldInit"),
                            latency(v, "cloneRestore"), latency(v, "cloneGuest")), medians(kvm));
        }

        private static Map<String, Double> medians(Map<String, List<Long>> samples) {
            Map<String, Double> m = new LinkedHashMap<>();
            samples.forEach((name, values) -> m.put(name, Stats.median(values)));
            return m;
        }

        /** Cold boot / clone, start → first output, as the ratio of the medians. */
        double ratioFirstOutput() {
            return coldFirstOutput.medianMs() / cloneFirstOutput.medianMs();
        }

        /** Cold boot / clone, start → app exec, as the ratio of the medians. */
        double ratioAppExec() {
            return coldAppExec.medianMs() / cloneAppExec.medianMs();
        }

        /** The step with the most clones alive, or null if memory was not measured. */
        MemoryStep largestStep() {
            return memory.isEmpty() ? null : memory.get(memory.size() - 1);
        }

        /** The one-thread run of clones back to back, or null. */
        CycleRun oneThread() {
            return cycles.stream().filter(c -> c.starters() == 1).findFirst().orElse(null);
        }

        private static void add(Map<String, List<Long>> v, String key, long nanos) {
            if (nanos >= 0) {
                v.computeIfAbsent(key, k -> new ArrayList<>()).add(nanos);
            }
        }

        private static Latency latency(Map<String, List<Long>> v, String key) {
            return Latency.of(v.getOrDefault(key, List.of()));
        }
    }

    /**
     * Where the time to the app's exec goes (medians of the pairs): a cold boot's host set-up (start → first
     * KVM_RUN), its kernel boot (→ init) and init (→ app exec); a clone's restore (start → cloned, host side) and
     * its guest's work (cloned → app exec: the launch message, init, fork and exec).
     */
    record Split(Latency coldHost, Latency coldKernel, Latency coldInit, Latency cloneRestore, Latency cloneGuest) {
    }

    /** Nanoseconds from {@code from} to {@code to} in a run's {@code timeline}, or -1 if either is missing. */
    static long between(JsonNode run, BootPhase from, BootPhase to) {
        long a = phase(run, from);
        long b = phase(run, to);
        return a < 0 || b < 0 ? -1 : b - a;
    }

    /** Nanoseconds from start to {@code phase} in a run's {@code timeline}, or -1. */
    static long phase(JsonNode run, BootPhase phase) {
        for (JsonNode e : run.path("timeline")) {
            if (e.path("phase").asText().equals(phase.label())) {
                return e.path("sinceStartNanos").asLong();
            }
        }
        return -1;
    }

    private static List<Long> longs(JsonNode array) {
        List<Long> v = new ArrayList<>();
        array.forEach(n -> v.add(n.asLong()));
        return v;
    }

    /**
     * What a lab duration of {@code labMs} implies on hardware KVM: the range the lab's slowdown
     * ({@link KvmFlavour#LAB_SLOWDOWN_LOW}–{@link KvmFlavour#LAB_SLOWDOWN_HIGH}×) gives, as "0.05–0.5 ms"; an
     * estimate, never a measurement.
     */
    static String hardwareEstimate(double labMs) {
        if (Double.isNaN(labMs)) {
            return "–";
        }
        double low = labMs / KvmFlavour.LAB_SLOWDOWN_HIGH;
        double high = labMs / KvmFlavour.LAB_SLOWDOWN_LOW;
        return high < 1 ? Fmt.significant(low * 1000) + "–" + Fmt.significant(high * 1000) + " µs"
                : Fmt.significant(low) + "–" + Fmt.significant(high) + " ms";
    }

    /** The section for {@code template} (null: not measured), measured on {@code where}. */
    static String render(String number, JsonNode template, KvmFlavour where) {
        TemplateSection s = new TemplateSection();
        s.write(number, template, where);
        return s.md.toString();
    }

    private void write(String number, JsonNode template, KvmFlavour where) {
        line("## " + number + ". Templates: clones against cold boots (" + where.tag() + ")");
        line("");
        if (template == null) {
            line("Not measured in this run: the Linux-boot part did not produce `template.json`.");
            line("");
            firecracker();
            return;
        }
        Figures f = Figures.of(template);
        List<String> jvm = new ArrayList<>();
        template.path("jvmArguments").forEach(n -> jvm.add("`" + n.asText() + "`"));
        line("`TemplateBenchmark`, one JVM (" + String.join(" ", jvm) + "), public API only: `Arrow.of(hello).template()`"
                + " boots the hello arrow (" + template.path("guestMemoryMiB").asInt() + " MiB, 1 vCPU) once up to the"
                + " init point and freezes it (" + Fmt.number(f.templateBootMs(), 1) + " ms, once); each `template.start()`"
                + " is a clone (timeline phase `cloned` instead of the boot phases). " + where.figures());
        line("");
        pairs(f, template, where);
        cycles(f, where);
        memory(f, template, where);
        firecracker();
    }

    private void pairs(Figures f, JsonNode template, KvmFlavour where) {
        line("### Clone against cold boot, same arrow");
        line("");
        line(f.pairs() + " pairs of a cold `Arrow.start()` and a clone, alternating which goes first; before each the JVM"
                + " is settled (a GC, then " + template.path("settleMillis").asLong() + " ms of pause), as in section 2."
                + " Each clone ended before the next started, so every measured clone ran on the VM the clone before it"
                + " gave back to the template (the pages it wrote given the template's bytes again, fds kept: *recycled*; the step's log,"
                + " `template.log`, has a line per hand-back, \"kept for the next clone\" or \"closed\"). Times from `start()`; *waitFor* is"
                + " `waitFor()` returning (guest ended, VM released).");
        line("");
        md.append(new MarkdownTable("from start() to", "cold boot: median ms", "p90 ms", "clone (recycled VM): median ms",
                "p90 ms", bold("cold / clone"))
                .row("app exec (`app-executed`)", f.coldAppExec().median(), f.coldAppExec().p90(), f.cloneAppExec().median(),
                        f.cloneAppExec().p90(), bold(ratio(f.ratioAppExec())))
                .row("first output (`first-output`)", f.coldFirstOutput().median(), f.coldFirstOutput().p90(),
                        f.cloneFirstOutput().median(), f.cloneFirstOutput().p90(), bold(ratio(f.ratioFirstOutput())))
                .row("`waitFor()` returned", f.coldWaitFor().median(), f.coldWaitFor().p90(), f.cloneWaitFor().median(),
                        f.cloneWaitFor().p90(), ratio(f.coldWaitFor().medianMs() / f.cloneWaitFor().medianMs()))
                .render());
        line("**Clone against cold boot, start → first output: " + ratio(f.ratioFirstOutput()) + " faster** (ratio of"
                + " the medians; median of the per-pair ratios " + ratio(f.pairRatioFirstOutput()) + "; goal ≥ "
                + Fmt.number(GoalsSection.CLONE_SPEEDUP, 0) + "× in the lab)."
                + (where.isLab() ? " On hardware KVM the goal is ≤ " + Fmt.number(GoalsSection.CLONE_HARDWARE_MS, 1)
                + " ms: the lab's " + Fmt.significant(f.cloneFirstOutput().medianMs()) + " ms, at the lab's slowdown of "
                + KvmFlavour.LAB_SLOWDOWN_LOW + "–" + KvmFlavour.LAB_SLOWDOWN_HIGH + "× (the notice at the top), implies "
                + hardwareEstimate(f.cloneFirstOutput().medianMs()) + " there: an estimate, not a measurement." : ""));
        line("");
        Split split = f.split();
        if (split.cloneRestore().count() > 0 && split.coldKernel().count() > 0) {
            line("Where the time to the app's exec goes (medians, ms): a cold boot spends "
                    + Fmt.significant(split.coldHost().medianMs()) + " on the host's set-up (start → first KVM_RUN), "
                    + Fmt.significant(split.coldKernel().medianMs()) + " booting the kernel (→ init) and "
                    + Fmt.significant(split.coldInit().medianMs()) + " in init (→ app exec); a clone spends "
                    + Fmt.significant(split.cloneRestore().medianMs()) + " restoring its VM on the host (start → `cloned`:"
                    + " the template's VM, vCPU and device state loaded into a recycled VM, its devices and threads made)"
                    + " and " + Fmt.significant(split.cloneGuest().medianMs()) + " in its guest (→ app exec: the launch"
                    + " message, init, fork and exec). The clone skips the kernel boot; what is left costs about as much"
                    + " as a cold boot's own host set-up and init, so the ratio is bounded by (set-up + kernel + init) /"
                    + " (restore + guest), not by the kernel boot alone.");
            line("");
        }
        if (template.path("warmupClones").asInt() > 0) {
            line("Before the pairs, " + template.path("warmupClones").asInt() + " clones ran back to back, unmeasured, so that"
                    + " the JIT has compiled the clone path as in a JVM that has made many clones (the cold path is warmed"
                    + " by the template's boot and the warm-up pairs).");
            line("");
        }
        if (!f.cloneKvmCounters().isEmpty()) {
            line("KVM's own account of a clone (medians of the pairs; debugfs counters of all VMs from before `start()`"
                    + " to after `close()`, the template's and the pool's VMs idle meanwhile; a cold boot's VM is destroyed"
                    + " with its counters before they can be read):");
            line("");
            MarkdownTable counters = new MarkdownTable("counter", "per clone (median)", "what it counts");
            f.cloneKvmCounters().forEach((name, median) -> counters.row("`" + name + "`", Fmt.number(median, 0),
                    CLONE_KVM_COUNTERS.get(name)));
            md.append(counters.render());
        }
        List<MemoryStep> steps = f.memory();
        if (!steps.isEmpty()) {
            line("Clones that get **no recycled VM** (the `hello-wait` clones of the memory part below, started back to"
                    + " back on one thread while every earlier one stays alive, so no clone of their template has ended):"
                    + " the template's pool hands out the "
                    + "VMs it made ahead, then each clone makes its own VM (KVM_CREATE_VM, vCPUs, the RAM mapping) unless"
                    + " the pool's thread has one ready. Start → first output:");
            line("");
            MarkdownTable started = new MarkdownTable("clones started in the step (to this many alive)", "median ms", "p90 ms");
            int before = 0;
            for (MemoryStep s : steps) {
                started.row((s.alive() - before) + " (to " + s.alive() + ")", s.firstOutput().median(), s.firstOutput().p90());
                before = s.alive();
            }
            md.append(started.render());
        }
    }

    private void cycles(Figures f, KvmFlavour where) {
        line("### Clones back to back, and reset → next call");
        line("");
        if (f.cycles().isEmpty()) {
            line("Not measured in this run.");
            line("");
            return;
        }
        line("Hello clones started, read, waited for and closed one after another on each starter thread (no pause,"
                + " every clone after the first on a recycled VM). *Per host core* is clones per CPU second of the whole"
                + " process (user + system, the guests' own time included): what one fully busy core sustains at this"
                + " cost. The machine has " + f.hostCpus() + " CPU(s).");
        line("");
        MarkdownTable cycles = new MarkdownTable("starter threads", "clones", "wall s", bold("clones/s"),
                "CPU s (of which guest)", "cores busy", bold("clones per host core per s"), "start → first output median ms",
                "p90 ms");
        for (CycleRun c : f.cycles()) {
            cycles.row(String.valueOf(c.starters()), String.valueOf(c.clones()), Fmt.number(c.wallSeconds(), 2),
                    bold(Fmt.significant(c.clonesPerSecond())),
                    Fmt.number(c.cpuSeconds(), 2) + " (" + Fmt.number(c.guestSeconds(), 2) + ")",
                    Fmt.number(c.cpuSeconds() / c.wallSeconds(), 2), bold(Fmt.significant(c.clonesPerCoreSecond())),
                    c.firstOutput().median(), c.firstOutput().p90());
        }
        md.append(cycles.render());
        line("*Reset → next call*, from the one-thread run: from a clone's end (phase `exited`) to the next clone's first"
                + " output. In between, the clone's VM goes back to the template (`waitFor()` returns once it has), the"
                + " caller closes the clone and starts the next, which takes that VM, restores the template's state on it"
                + " and runs the app.");
        line("");
        md.append(new MarkdownTable("", "median ms", "p90 ms")
                .row(bold("end → next first output") + " (goal ≤ "
                        + Fmt.number(GoalsSection.RESET_TO_NEXT_HARDWARE_MS * 1000, 0) + " µs on hardware)",
                        f.resetToNext().median(), f.resetToNext().p90())
                .row("of which end → `waitFor()` returned (VM handed back, streams finished)", f.endToWaited().median(),
                        f.endToWaited().p90())
                .row("of which `waitFor()` → next `start()` (close, the loop)", f.waitedToNextStart().median(),
                        f.waitedToNextStart().p90())
                .render());
        if (where.isLab()) {
            line("The lab's " + Fmt.significant(f.resetToNext().medianMs()) + " ms implies "
                    + hardwareEstimate(f.resetToNext().medianMs()) + " on hardware KVM at the lab's slowdown: an estimate,"
                    + " not a measurement.");
            line("");
        }
    }

    private void memory(Figures f, JsonNode template, KvmFlavour where) {
        line("### Host memory per running clone");
        line("");
        List<MemoryStep> steps = f.memory();
        if (steps.isEmpty()) {
            line("Not measured in this run.");
            line("");
            return;
        }
        line("Clones of a `hello-wait` template (greets, then waits on stdin) alive at once; per clone = (value with N"
                + " alive − baseline after the template's boot and a warm-up clone, which stays alive) / N, the same counters as section 6"
                + " (`/proc/self/smaps_rollup`, `/proc/meminfo`). *Template RAM* is the mappings of `/memfd:"
                + VmBuilder.TEMPLATE_RAM_FILE_NAME + "`: the template's guest RAM, which every clone maps"
                + " copy-on-write; its *Private_Dirty* there is the guest pages the clone wrote itself. The template booted"
                + " in " + Fmt.number(template.path("memory").path("templateBootWallNanos").asDouble(Double.NaN) / 1e9, 1)
                + " s. " + (where.isLab() ? "Lab figures: the guest writes the same pages on hardware KVM; the host kernel's"
                + " share depends on the KVM (nested here)." : where.figures()));
        line("");
        MarkdownTable perClone = new MarkdownTable("clones alive", "RSS added MiB", "Pss MiB", "Private_Dirty MiB",
                "of which template RAM MiB", "template RAM Pss MiB", "host kernel MiB",
                bold("all-in: Private_Dirty + host kernel MiB") + " (goal ≤ " + Fmt.number(GoalsSection.CLONE_ALL_IN_MIB, 0)
                        + ")", "threads", "fds", "idle CPU per " + GoalsSection.GOAL_ALIVE + " clones, % of a core");
        for (MemoryStep s : steps) {
            perClone.row(String.valueOf(s.alive()), Fmt.number(s.rssMib(), 2), Fmt.number(s.pssMib(), 2),
                    Fmt.number(s.privateDirtyMib(), 2), Fmt.number(s.templateRamPrivateMib(), 2),
                    Fmt.number(s.templateRamPssMib(), 2), Fmt.number(s.hostKernelMib(), 2), bold(Fmt.number(s.allInMib(), 2)),
                    Fmt.number(s.threads(), 1), Fmt.number(s.fds(), 2), Fmt.number(s.idleCpuPer100Percent(), 2));
        }
        md.append(perClone.render());
        if (template.path("memory").has("stepFailure")) {
            line("**The next step stopped**: " + template.path("memory").path("stepFailure").asText() + ".");
            line("");
        }
        if (template.path("memory").has("baselineIdleCpu")) {
            line("*Threads* and *fds*: this JVM's live threads and open fds with N alive, less the baseline's, / N. *Idle CPU*:"
                    + " the process's CPU time over " + Fmt.number(template.path("memory").path("baselineIdleCpu")
                    .path("windowNanos").asDouble() / 1e9, 0) + " s in which every clone waits on stdin (once the JIT had"
                    + " compiled nothing for " + IdleCpu.JIT_QUIET.toSeconds() + " s, or after "
                    + IdleCpu.JIT_QUIET_MAX_WAIT.toSeconds() + " s), less the JIT compiler threads' time, less the"
                    + " measuring thread's own readings of every thread's counters and less the same before the steps,"
                    + " scaled to " + GoalsSection.GOAL_ALIVE + " clones.");
            line("");
        }
        line("The host kernel's share per clone, KiB: " + hostKernel(steps) + ".");
        line("");
    }

    private static String hostKernel(List<MemoryStep> steps) {
        List<String> parts = new ArrayList<>();
        for (MemoryStep s : steps) {
            List<String> counters = new ArrayList<>();
            s.hostKernelKib().forEach((name, kib) -> counters.add(name + " " + Fmt.number(kib, 0)));
            parts.add(s.alive() + " alive: " + String.join(", ", counters));
        }
        return String.join("; ", parts);
    }

    private void firecracker() {
        line("**For comparison (cited, not measured here; hardware figures of other VMMs, not comparable with lab"
                + " figures):** Firecracker restores a microVM from snapshot files: its maintainers measured"
                + " 13.4–33.0 ms per snapshot load (5 loads, i7-8700, 2 vCPUs, 512 MB) against a target of < 5 ms"
                + " (firecracker-microvm/firecracker issue #2027, \"Snapshot load latency is too high\"); cold, it"
                + " supports \"a steady mutation rate of 5 microVMs per host core per second\" (1 vCPU, 128 MiB,"
                + " firecracker `docs/design.md`).");
        line("");
    }

    private static String ratio(double r) {
        return Double.isNaN(r) || Double.isInfinite(r) ? "–" : Fmt.significant(r) + "×";
    }

    private void line(String s) {
        md.append(s).append('\n');
    }
}
