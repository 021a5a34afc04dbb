package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The RESULTS.md section that sets this run's figures beside the goals of issue 21 ("cold arrows,
 * lighter and faster") and of issue 19 (templates), each goal defined once here; the sections that
 * measure a figure show its goal in their table headers too. A goal no part of {@code scripts/bench}
 * measures yet says so; a hardware goal measured only in the lab shows what the lab figure implies,
 * never a verdict.
 */
final class GoalsSection {
    /** Private memory per cold hello arrow, all-in (Private_Dirty + the host kernel's share), MiB. */
    static final double ALL_IN_PRIVATE_MIB = 4;
    /** The VMM's (and JVM's) own Private_Dirty per arrow: neither guest RAM nor the kernel image, MiB. */
    static final double VMM_SIDE_MIB = 0.3;
    /** Arrow / QEMU microvm, start to the guest's end, settled and with the same devices (median). */
    static final double ARROW_TO_QEMU = 0.3;
    static final double THREADS_PER_ARROW = 2;
    static final double FDS_PER_ARROW = 4;
    /** The arrows alive at which the idle-CPU and boot-time goals are set. */
    static final int GOAL_ALIVE = 100;
    /** Issue 21: idle hello arrows alive in one JVM. */
    static final int THOUSAND_ALIVE = 1000;
    /** CPU of {@link #GOAL_ALIVE} idle arrows (this JVM's over its own with none alive), % of one core. */
    static final double IDLE_CPU_PERCENT = 0.5;
    /** One more arrow's start → first output with {@link #GOAL_ALIVE} alive over the first's, at most (within 10%). */
    static final double BOOT_TO_FIRST = 1.1;
    /** Issue 19: cold boot / clone of the same arrow, start → first output, in the lab (ratio of the medians), at least. */
    static final double CLONE_SPEEDUP = 50;
    /** Issue 19: a clone's start → first output on hardware KVM, ms. */
    static final double CLONE_HARDWARE_MS = 0.5;
    /** Issue 19: private memory per running hello clone, all-in (Private_Dirty + the host kernel's share), MiB. */
    static final double CLONE_ALL_IN_MIB = 2;
    /** Issue 19: a clone's end → the next clone's first output on its recycled VM, on hardware KVM, ms. */
    static final double RESET_TO_NEXT_HARDWARE_MS = 0.1;
    /**
     * Issue 22 (its goals judged in {@link LoaderSection}): a ~100 MiB binary's start → app exec over a 2 MiB one's, and
     * its private memory per arrow over the 2 MiB one's, at most (within 10%).
     */
    static final double LOADER_BIG_TO_SMALL = 1.1;
    /** Issue 22: the host's copies of a read-only data set shared by several arrows (its images' Pss over its size). */
    static final double DATA_SET_COPIES = 1.1;

    private final StringBuilder md = new StringBuilder();

    private GoalsSection() {
    }

    /**
     * The section, from {@code memory.json}, {@code peer.json} and {@code template.json} (each null: not
     * measured); {@code boot} is where the figures that boot Linux were measured.
     */
    static String render(JsonNode memory, JsonNode peer, JsonNode template, JsonNode loader, KvmFlavour boot) {
        GoalsSection s = new GoalsSection();
        s.write(memory, peer, template);
        s.templates(template, boot);
        s.loader(loader);
        return s.md.toString();
    }

    /** Issue 22's goals, from {@code loader.json} ({@link LoaderSection.Goals}; null: not measured). */
    private void loader(JsonNode loader) {
        line("### Issue 22: the application loader");
        line("");
        MarkdownTable goals = goalsTable();
        String within = "≤ " + Fmt.number(LOADER_BIG_TO_SMALL, 2) + "× (within " + Fmt.number((LOADER_BIG_TO_SMALL - 1) * 100, 0) + "%)";
        String startFigure = "start → app exec of a ~100 MiB binary (mapped) against a 2 MiB one (medians)";
        String memoryFigure = "private memory per arrow (Private_Dirty, guest RAM + images, mapped): ~100 MiB binary against 2 MiB";
        Optional<LoaderSection.Goals> g = LoaderSection.Goals.of(loader);
        if (g.isEmpty()) {
            notMeasured(goals, startFigure, within);
            notMeasured(goals, memoryFigure, within);
        } else {
            LoaderSection.Goals f = g.get();
            goals.row(startFigure, within, Fmt.number(f.startRatio(), 2) + "× (" + Fmt.significant(f.bigMapped().execMs())
                    + " ms against " + Fmt.significant(f.smallFaster().execMs()) + " ms, " + f.smallFaster().path()
                    + "; section 11)", verdict(f.startRatio(), LOADER_BIG_TO_SMALL));
            goals.row(memoryFigure, within, Fmt.number(f.memoryRatio(), 2) + "× (" + Fmt.number(f.bigMapped().privateMib(), 2)
                    + " MiB against " + Fmt.number(f.smallMapped().privateMib(), 2) + " MiB; section 11)",
                    verdict(f.memoryRatio(), LOADER_BIG_TO_SMALL));
        }
        String dataFigure = "host copies of a 1 GiB read-only data set read by 10 arrows (images' Pss / size)";
        String once = "≤ " + Fmt.number(DATA_SET_COPIES, 2);
        Optional<LoaderSection.DataSet> d = LoaderSection.DataSet.of(loader);
        if (d.isEmpty()) {
            notMeasured(goals, dataFigure, once);
        } else {
            LoaderSection.DataSet f = d.get();
            goals.row(dataFigure, once, Fmt.number(f.copies(), 2) + " (" + Fmt.significant(f.dataMib()) + " MiB by "
                    + f.arrows() + " arrows: Pss " + Fmt.number(f.imagePssMib(), 0) + " MiB, Rss " + Fmt.number(f.imageRssMib(), 0)
                    + " MiB; section 11)", verdict(f.copies(), DATA_SET_COPIES));
        }
        md.append(goals.render());
    }

    private void write(JsonNode memory, JsonNode peer, JsonNode template) {
        line("## Goals");
        line("");
        line("Each goal of issues 21, 19 and 22 beside this run's figure (the section that measures it has the details). "
                + "A goal not met needs its measured reason next to it; \"not measured\" means no part of"
                + " `scripts/bench` measures it yet. A goal for hardware KVM is judged only on hardware KVM.");
        line("");
        line("### Issue 21: cold arrows, lighter and faster");
        line("");
        MarkdownTable goals = goalsTable();
        List<MemorySection.Step> steps = MemorySection.steps(memory);
        MemorySection.Step last = steps.isEmpty() ? null : steps.get(steps.size() - 1);
        String at = last == null ? "" : " (" + last.alive() + " alive, section 6)";
        row(goals, "private memory per cold hello arrow, all-in (Private_Dirty + host kernel)",
                "≤ " + Fmt.number(ALL_IN_PRIVATE_MIB, 0) + " MiB", last == null ? Double.NaN : last.allInMib(), " MiB" + at,
                ALL_IN_PRIVATE_MIB);
        row(goals, "VMM side per arrow (Private_Dirty − guest RAM − kernel image)", "≤ " + Fmt.number(VMM_SIDE_MIB, 1) + " MiB",
                last == null ? Double.NaN : last.vmmMib(), " MiB" + at, VMM_SIDE_MIB);
        row(goals, "threads per arrow", "≤ " + Fmt.number(THREADS_PER_ARROW, 0),
                last == null ? Double.NaN : last.threads(), at, THREADS_PER_ARROW);
        peerRows(goals, peer);
        List<MemorySection.IdleCosts> idle = MemorySection.IdleCosts.of(memory);
        MemorySection.IdleCosts largest = idle.size() < 2 ? null : idle.get(idle.size() - 1);
        row(goals, "fds per arrow", "≤ " + Fmt.number(FDS_PER_ARROW, 0), largest == null ? Double.NaN : largest.fdsPerArrow(),
                largest == null ? "" : " (" + largest.alive() + " alive, section 6)", FDS_PER_ARROW);
        thousandAlive(goals, last, template == null ? null : TemplateSection.Figures.of(template).largestStep());
        idleRows(goals, MemorySection.IdleCosts.atGoal(idle));
        md.append(goals.render());
    }

    /**
     * "1,000 idle hello arrows alive in one JVM, with ≤ 4 fds and ≤ 2 threads each": judged on the template part's
     * largest step of idle hello clones when it reached {@link #THOUSAND_ALIVE} (cold boots of that many would take
     * the lab about half an hour); {@code cold} is section 6's largest step, null if none.
     */
    private static void thousandAlive(MarkdownTable goals, MemorySection.Step cold, TemplateSection.MemoryStep clones) {
        String figure = "idle hello arrows alive in one JVM, each with ≤ " + Fmt.number(FDS_PER_ARROW, 0) + " fds and ≤ "
                + Fmt.number(THREADS_PER_ARROW, 0) + " threads";
        String coldNote = cold == null ? "" : "; cold arrows: largest step " + cold.alive() + ", section 6";
        if (clones == null || clones.alive() < THOUSAND_ALIVE || Double.isNaN(clones.fds())) {
            goals.row(figure, "1,000", "not measured (" + (clones == null ? "no clones" : "largest step of clones: "
                    + clones.alive()) + coldNote + ")", "–");
            return;
        }
        boolean met = clones.fds() <= FDS_PER_ARROW && clones.threads() <= THREADS_PER_ARROW;
        goals.row(figure, "1,000", clones.alive() + " hello clones of one template, idle: " + Fmt.number(clones.fds(), 2)
                + " fds, " + Fmt.number(clones.threads(), 2) + " threads, " + Fmt.number(clones.allInMib(), 2)
                + " MiB all-in and " + Fmt.number(clones.idleCpuPer100Percent(), 2) + "% of a core per "
                + GOAL_ALIVE + " each (section 10" + coldNote + ")", met ? "met (clones)" : "**not met**");
    }

    /** A table of goals: each figure, its goal, this run's value and the verdict (no heading). */
    private static MarkdownTable goalsTable() {
        return new MarkdownTable("figure", "goal", "this run", "");
    }

    /** The idle-CPU and boot-time goals, from the step with {@link #GOAL_ALIVE} alive (else the largest; null: none). */
    private static void idleRows(MarkdownTable goals, MemorySection.IdleCosts step) {
        String cpuFigure = "idle CPU of " + GOAL_ALIVE + " idle arrows";
        String cpuGoal = "≤ " + Fmt.number(IDLE_CPU_PERCENT, 1) + "% of a core";
        String bootFigure = "boot time per arrow with " + GOAL_ALIVE + " alive, against the first";
        String bootGoal = "within " + Math.round((BOOT_TO_FIRST - 1) * 100) + "%";
        if (step == null) {
            notMeasured(goals, cpuFigure, cpuGoal);
            notMeasured(goals, bootFigure, bootGoal);
            return;
        }
        // Arrow's own threads (`arrow-*`: vCPUs with their guests' time, event loops, the idle prober) in the window: a
        // floor for the figure, whatever the baseline's own noise (a warm-up arrow's threads ending within it, say)
        double arrows = step.cpuByThreadPercent().entrySet().stream().filter(e -> e.getKey().startsWith("arrow-"))
                .mapToDouble(Map.Entry::getValue).sum() / step.alive() * GOAL_ALIVE;
        String scaled = (step.alive() == GOAL_ALIVE ? "" : "scaled from ") + step.alive() + " alive";
        if (Double.isNaN(step.idleCpuPerGoalPercent()) && !step.cpuByThreadPercent().isEmpty()) {
            // the process's figure is not usable (IdleCpu#idlePercentOfCore); Arrow's own threads still are
            goals.row(cpuFigure, cpuGoal, "not measured as a whole: the JIT compilers' share (" + Fmt.number(step.jitPercent(), 2)
                    + "%) exceeded the process's own in the window; Arrow's threads alone (`arrow-*`): "
                    + Fmt.number(arrows, 2) + "% of a core (" + scaled + ", section 6)",
                    verdict(arrows, IDLE_CPU_PERCENT) + " (Arrow's threads)");
        } else if (arrows > step.idleCpuPerGoalPercent()) {
            row(goals, cpuFigure, cpuGoal, arrows, "% of a core: Arrow's own threads (`arrow-*`), more than the"
                    + " process's growth over the baseline (" + Fmt.number(step.idleCpuPerGoalPercent(), 2) + "%, without"
                    + " the JIT compilers' start-up backlog and the benchmark's own readings; " + scaled + ", section 6)",
                    IDLE_CPU_PERCENT);
        } else {
            row(goals, cpuFigure, cpuGoal, step.idleCpuPerGoalPercent(), "% of a core (" + scaled + ", without the JIT"
                    + " compilers' start-up backlog: " + Fmt.number(step.jitPercent(), 2) + "% more"
                    + (step.readingPercent() > 0 ? ", and without the benchmark's own readings: "
                            + Fmt.number(step.readingPercent(), 2) + "% more" : "") + ", section 6)",
                    IDLE_CPU_PERCENT);
        }
        if (Double.isNaN(step.probeToFirst())) {
            notMeasured(goals, bootFigure, bootGoal);
            return;
        }
        goals.row(bootFigure, bootGoal, Fmt.number(step.probeToFirst(), 2) + "× (one more arrow, start →"
                + " first output: " + Fmt.number(step.probeMs(), 0) + " ms with " + step.alive() + " alive against "
                + Fmt.number(step.probeMs() / step.probeToFirst(), 0) + " ms with none, section 6)",
                step.alive() >= GOAL_ALIVE ? verdict(step.probeToFirst(), BOOT_TO_FIRST)
                        : "– (" + step.alive() + " alive, not " + GOAL_ALIVE + ")");
    }

    private void templates(JsonNode template, KvmFlavour boot) {
        line("### Issue 19: templates (section 10)");
        line("");
        MarkdownTable goals = goalsTable();
        TemplateSection.Figures f = template == null ? null : TemplateSection.Figures.of(template);
        String speedup = "clone against cold boot of the same hello arrow, start → first output (ratio of the medians)";
        String speedupGoal = "≥ " + Fmt.number(CLONE_SPEEDUP, 0) + "× in the lab";
        if (f == null) {
            notMeasured(goals, speedup, speedupGoal);
        } else {
            double r = f.ratioFirstOutput();
            TemplateSection.Split split = f.split();
            String why = r >= CLONE_SPEEDUP || split.cloneRestore().count() == 0 ? ""
                    : "; the clone's restore (" + Fmt.significant(split.cloneRestore().medianMs()) + " ms) and guest work ("
                    + Fmt.significant(split.cloneGuest().medianMs()) + " ms) against the cold boot's kernel ("
                    + Fmt.significant(split.coldKernel().medianMs()) + " ms): section 10";
            goals.row(speedup, speedupGoal, Fmt.significant(r) + "× (" + boot.tag() + why + ")",
                    boot.isLab() ? verdict(CLONE_SPEEDUP, r) : "– (not the lab)");
        }
        hardwareRow(goals, "a clone's start → first output", "≤ " + Fmt.number(CLONE_HARDWARE_MS, 1) + " ms", CLONE_HARDWARE_MS,
                f == null ? Double.NaN : f.cloneFirstOutput().medianMs(), boot);
        TemplateSection.MemoryStep last = f == null ? null : f.largestStep();
        row(goals, "private memory per running hello clone, all-in (Private_Dirty + host kernel)",
                "≤ " + Fmt.number(CLONE_ALL_IN_MIB, 0) + " MiB", last == null ? Double.NaN : last.allInMib(),
                last == null ? "" : " MiB (" + last.alive() + " alive)", CLONE_ALL_IN_MIB);
        hardwareRow(goals, "reset → next call: a clone's end → the next clone's first output (recycled VM)",
                "≤ " + Fmt.number(RESET_TO_NEXT_HARDWARE_MS * 1000, 0) + " µs", RESET_TO_NEXT_HARDWARE_MS,
                f == null ? Double.NaN : f.resetToNext().medianMs(), boot);
        TemplateSection.CycleRun one = f == null ? null : f.oneThread();
        goals.row("clones per host core per second (one starter thread)", "no goal (Firecracker, cited: 5 cold microVMs)",
                one == null ? "not measured" : Fmt.significant(one.clonesPerCoreSecond()) + " (" + boot.tag() + ")", "–");
        md.append(goals.render());
    }

    /**
     * A goal set for hardware KVM ({@code limit}, as written, is {@code limitMs}): judged where the figure was
     * measured on hardware; from the lab, the lab figure and what it implies on hardware, not judged.
     */
    private static void hardwareRow(MarkdownTable goals, String figure, String limit, double limitMs, double ms,
                                    KvmFlavour boot) {
        String goal = limit + " on hardware KVM";
        if (Double.isNaN(ms)) {
            notMeasured(goals, figure, goal);
        } else if (boot.isHardware()) {
            goals.row(figure, goal, Fmt.significant(ms) + " ms", verdict(ms, limitMs));
        } else {
            goals.row(figure, goal, Fmt.significant(ms) + " ms (" + boot.tag() + ")"
                    + (boot.isLab() ? "; implies " + TemplateSection.hardwareEstimate(ms) + " on hardware (an estimate)" : ""),
                    "not measured on hardware");
        }
    }

    private static void peerRows(MarkdownTable goals, JsonNode peer) {
        String figure = "Arrow / QEMU microvm, start → guest end, settled, same devices (median)";
        String goal = "≤ " + Fmt.number(ARROW_TO_QEMU, 1);
        String uptimeFigure = "Arrow's guest uptime at init against QEMU's (medians)";
        String uptimeGoal = "Arrow ≤ QEMU";
        if (peer == null) {
            notMeasured(goals, figure, goal);
            notMeasured(goals, uptimeFigure, uptimeGoal);
            return;
        }
        List<Double> ratios = new ArrayList<>();
        List<Double> guestShares = new ArrayList<>();
        List<Long> arrowInit = new ArrayList<>();
        List<Long> qemuInit = new ArrayList<>();
        for (JsonNode run : PeerRuns.measured(peer)) {
            ratios.add(run.path("ratioArrowToQemu").asDouble());
            PeerRuns.arrowGuestShareOfQemu(run).ifPresent(guestShares::add);
            PeerRuns.arrowGuestUptimeAtInit(run).ifPresent(arrowInit::add);
            PeerRuns.qemuGuestUptimeAtInit(run).ifPresent(qemuInit::add);
        }
        boolean settled = peer.path("settleMillis").asLong() > 0;
        boolean sameDevices = peer.path("sameDevices").asBoolean();
        double ratio = Stats.median(ratios);
        String verdict = settled && sameDevices ? verdict(ratio, ARROW_TO_QEMU)
                : "not comparable (" + (settled ? "" : "the JVM was not settled between boots" + (sameDevices ? "" : ", "))
                        + (sameDevices ? "" : "QEMU had other devices") + ")";
        String value = Fmt.number(ratio, 3) + " (section 2)";
        if (!guestShares.isEmpty()) {
            double floor = Stats.median(guestShares);
            value = Fmt.number(ratio, 3) + " (section 2); Arrow's guest alone, from its first KVM_RUN to its end, took "
                    + Fmt.number(floor, 3) + " of QEMU's time (median)";
            if (settled && sameDevices && ratio > ARROW_TO_QEMU && floor > ARROW_TO_QEMU) {
                verdict += ": the guest's own run alone is above the goal here (section 1: the same kernel under both"
                        + " VMMs), so no host set-up can reach it on this machine";
            }
        }
        goals.row(figure, goal, value, verdict);
        double a = Stats.median(arrowInit) / 1e6;
        double q = Stats.median(qemuInit) / 1e6;
        goals.row(uptimeFigure, uptimeGoal, "Arrow " + Fmt.number(a, 1) + " ms, QEMU " + Fmt.number(q, 1) + " ms (section 1)",
                verdict(a, q));
    }

    /** A goal's row with {@code value} (NaN: not measured) written with two decimals and {@code unit}. */
    private static void row(MarkdownTable goals, String figure, String goal, double value, String unit, double limit) {
        goals.row(figure, goal, Double.isNaN(value) ? "not measured" : Fmt.number(value, 2) + unit, verdict(value, limit));
    }

    /** A goal's row for a figure this run did not measure. */
    private static void notMeasured(MarkdownTable goals, String figure, String goal) {
        goals.row(figure, goal, "not measured", "–");
    }

    /** "met" if {@code value ≤ limit}, "**not met**" if above, "–" if either is not known. */
    static String verdict(double value, double limit) {
        if (Double.isNaN(value) || Double.isNaN(limit)) {
            return "–";
        }
        return value <= limit ? "met" : "**not met**";
    }

    private void line(String s) {
        md.append(s).append('\n');
    }
}
