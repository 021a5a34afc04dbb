package dev.arrow.bench;

import static dev.arrow.bench.MarkdownTable.bold;

import com.fasterxml.jackson.databind.JsonNode;
import dev.arrow.BootPhase;
import dev.arrow.image.LoaderPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The RESULTS.md section on the application loader ({@link LoaderBenchmark}'s {@code loader.json}): a 2 MiB and a
 * ~100 MiB binary, each through the initramfs and mapped from its image, start → app exec and host memory per arrow,
 * against issue 22's goals ({@link GoalsSection#LOADER_BIG_TO_SMALL}), and which path is faster for the small binary
 * (with the memory it saves, what decides the loader's default threshold).
 */
final class LoaderSection {
    private static final double MIB = 1 << 20;
    /** The guest RAM's mappings and the images': what an arrow's binary and guest cost the host. */
    private static final List<String> GUEST_GROUPS = List.of(MappingGroup.KERNEL_IMAGE.name(), MappingGroup.ANONYMOUS.name(),
            MappingGroup.LOADER_IMAGES);

    private final StringBuilder md = new StringBuilder();

    private LoaderSection() {
    }

    /**
     * One binary on one path.
     *
     * @param privateMib Private_Dirty per arrow in the guest RAM's and the images' mappings, MiB (NaN: not measured)
     * @param pssMib     Pss per arrow in those mappings, MiB
     * @param imagePssMib Pss per arrow in the images' mappings alone, MiB
     */
    record Row(String binary, double binaryMib, String path, TemplateSection.Latency appExec, double privateMib,
               double pssMib, double imagePssMib, double guestMemoryMib, int alive) {
        static Row of(JsonNode c) {
            List<Long> exec = new ArrayList<>();
            c.path("startToAppExecNanos").forEach(n -> exec.add(n.asLong()));
            JsonNode memory = c.path("memory");
            JsonNode mappings = memory.path("perArrow").path("mappings");
            boolean measured = memory.isObject();
            double guest = memory.path("guestMemoryBytes").asDouble(-1);
            return new Row(c.path("binary").asText(), c.path("binaryBytes").asDouble() / MIB, c.path("path").asText(),
                    TemplateSection.Latency.of(exec), measured ? sum(mappings, ProcessMemory.PRIVATE_DIRTY) : Double.NaN,
                    measured ? sum(mappings, ProcessMemory.PSS) : Double.NaN,
                    measured ? mappings.path(MappingGroup.LOADER_IMAGES).path(ProcessMemory.PSS).asDouble() / MIB : Double.NaN,
                    guest > 0 ? guest / MIB : Double.NaN, memory.path("alive").asInt());
        }

        private static double sum(JsonNode mappings, String counter) {
            double bytes = 0;
            for (String group : GUEST_GROUPS) {
                bytes += mappings.path(group).path(counter).asDouble();
            }
            return bytes / MIB;
        }

        double execMs() {
            return appExec.medianMs();
        }
    }

    /** The section for {@code loader} (null: not measured), measured on {@code where}. */
    static String render(String number, JsonNode loader, KvmFlavour where) {
        LoaderSection s = new LoaderSection();
        s.write(number, loader, where);
        return s.md.toString();
    }

    private void write(String number, JsonNode loader, KvmFlavour where) {
        line("## " + number + ". Application loader: binaries mapped against copied (" + where.tag() + ")");
        line("");
        if (loader == null) {
            line("Not measured in this run: the Linux-boot part did not produce `loader.json`.");
            line("");
            return;
        }
        List<Row> rows = new ArrayList<>();
        loader.path("combinations").forEach(c -> rows.add(Row.of(c)));
        List<String> jvm = new ArrayList<>();
        loader.path("jvmArguments").forEach(n -> jvm.add("`" + n.asText() + "`"));
        int runs = rows.isEmpty() ? 0 : rows.get(0).appExec().count();
        int alive = loader.path("alive").asInt();
        line("`LoaderBenchmark`, one JVM (" + String.join(" ", jvm) + "): a static busybox as it is and grown with a random"
                + " tail, each through the initramfs (`-D" + LoaderPlan.MIN_MAPPED_BYTES_PROPERTY + "=-1`)"
                + " and mapped from its read-only EROFS image (virtio-pmem, DAX; the default threshold), the guest's RAM"
                + " left to Arrow. Start → app exec (`" + BootPhase.APP_EXECUTED.label() + "`): " + runs + " runs of each"
                + " after " + warmups(loader) + " warm-up(s), interleaved, the JVM settled before each; the app `"
                + command(loader.path("runApp")) + "`. Memory: " + alive + " arrows of each alive at once,"
                + " each having read its whole binary (`" + command(loader.path("memoryApp"))
                + "`), per arrow the increase over a snapshot before they started: Private_Dirty and Pss of the guest"
                + " RAM's mappings (anonymous, kernel image) and of the images' mappings, whose pages the " + alive
                + " arrows share (Pss splits them). " + where.figures());
        line("");
        MarkdownTable binaries = new MarkdownTable("binary", "path", "start → app exec: median ms", "p90 ms",
                bold("Private_Dirty per arrow MiB") + " (guest RAM + images)", "Pss per arrow MiB",
                "of which images' Pss MiB", "guest RAM MiB");
        for (Row r : rows) {
            binaries.row(Fmt.significant(r.binaryMib()) + " MiB", r.path(), r.appExec().median(), r.appExec().p90(),
                    bold(Fmt.number(r.privateMib(), 2)), Fmt.number(r.pssMib(), 2), Fmt.number(r.imagePssMib(), 2),
                    Fmt.number(r.guestMemoryMib(), 0));
        }
        md.append(binaries.render());
        Optional<Row> smallInitramfs = find(rows, "small", LoaderBenchmark.INITRAMFS);
        Optional<Row> smallMapped = find(rows, "small", LoaderBenchmark.MAPPED);
        Optional<Row> bigInitramfs = find(rows, "big", LoaderBenchmark.INITRAMFS);
        Optional<Row> bigMapped = find(rows, "big", LoaderBenchmark.MAPPED);
        if (smallInitramfs.isEmpty() || smallMapped.isEmpty() || bigInitramfs.isEmpty() || bigMapped.isEmpty()) {
            line("Incomplete: `loader.json` lacks a binary or a path; no goal judged.");
            line("");
            return;
        }
        goals(Goals.of(loader).orElseThrow(), smallInitramfs.get(), bigInitramfs.get());
        threshold(smallInitramfs.get(), smallMapped.get(), loader.path("defaultMinMappedBytes").asLong());
        DataSet.of(loader).ifPresentOrElse(this::dataSet, () -> {
            line("The shared read-only data set (`--data-mib`) was not measured in this run.");
            line("");
        });
    }

    /**
     * The data set part of {@code loader.json}: one read-only file given to several arrows alive at once, each having
     * read all of it; what they added to the process together, MiB.
     *
     * @param imageRssMib   Rss of the loader images' mappings: the data counted once per arrow that maps it
     * @param imagePssMib   Pss of those mappings: the host's pages of it, each counted once
     * @param privateMib    Private_Dirty of the whole process: what the arrows wrote (their guests' RAM)
     * @param hostKernelMib the host kernel's share (page tables, KVM's, thread stacks)
     */
    record DataSet(double dataMib, int arrows, double imageRssMib, double imagePssMib, double privateMib,
                   double hostKernelMib, double guestMemoryMib, TemplateSection.Latency ready) {
        static Optional<DataSet> of(JsonNode loader) {
            JsonNode d = loader == null ? null : loader.get("dataSet");
            if (d == null || !d.isObject()) {
                return Optional.empty();
            }
            JsonNode all = d.path("allArrows");
            JsonNode images = all.path("mappings").path(MappingGroup.LOADER_IMAGES);
            List<Long> ready = new ArrayList<>();
            d.path("startToReadyNanos").forEach(n -> ready.add(n.asLong()));
            double hostKernel = 0;
            for (String counter : ProcessMemory.HOST_KERNEL_COUNTERS) {
                hostKernel += all.path("hostKernel").path(counter).asDouble();
            }
            return Optional.of(new DataSet(d.path("dataBytes").asDouble() / MIB, d.path("arrows").asInt(),
                    images.path(ProcessMemory.RSS).asDouble() / MIB, images.path(ProcessMemory.PSS).asDouble() / MIB,
                    all.path("process").path(ProcessMemory.PRIVATE_DIRTY).asDouble() / MIB, hostKernel / MIB,
                    d.path("guestMemoryBytes").asDouble() / MIB, TemplateSection.Latency.of(ready)));
        }

        /** The host's copies of the data: the images' Pss over the data's size (1: held once). */
        double copies() {
            return imagePssMib / dataMib;
        }
    }

    private void dataSet(DataSet d) {
        line("**A read-only data set of " + Fmt.significant(d.dataMib()) + " MiB shared by " + d.arrows() + " arrows**"
                + " (busybox, " + Fmt.number(d.guestMemoryMib(), 0) + " MiB guest RAM, the file given with"
                + " `file(GuestFile.fromHost(set, \"" + LoaderBenchmark.DATA_GUEST_PATH + "\"))`, mapped by the loader;"
                + " all " + d.arrows() + " alive at once, each having read the whole file with `cat` before it said ready;"
                + " what they added to the process together):");
        line("");
        MarkdownTable t = new MarkdownTable("arrows", "data MiB", "images' Rss MiB (the data once per arrow)",
                bold("images' Pss MiB") + " (the host's copy)", bold("host copies of the data"),
                "Private_Dirty MiB, all arrows", "per arrow", "host kernel MiB, all arrows",
                "start → data read: median s");
        t.row(Integer.toString(d.arrows()), Fmt.number(d.dataMib(), 0), Fmt.number(d.imageRssMib(), 0),
                bold(Fmt.number(d.imagePssMib(), 0)), bold(Fmt.number(d.copies(), 2)), Fmt.number(d.privateMib(), 1),
                Fmt.number(d.privateMib() / d.arrows(), 2), Fmt.number(d.hostKernelMib(), 1),
                Fmt.number(d.ready().medianMs() / 1000, 1));
        md.append(t.render());
        line("**Goal: the data set costs its size once** (images' Pss of all arrows over the data's size ≤ "
                + Fmt.number(GoalsSection.DATA_SET_COPIES, 2) + "): " + Fmt.number(d.copies(), 2) + ": "
                + GoalsSection.verdict(d.copies(), GoalsSection.DATA_SET_COPIES) + ". Each arrow's own cost is its guest's"
                + " RAM: the page structures its kernel keeps for the mapped image (64 bytes per 4 KiB page, about "
                + Fmt.number(d.dataMib() / 64, 0) + " MiB here) and what it wrote besides.");
        line("");
    }

    /**
     * Issue 22's two goals from {@code loader.json}: the big binary, mapped, against the small one on its faster path
     * (start → app exec, medians), and its private memory per arrow against the small one's, both mapped; empty when a
     * binary or a path is missing.
     */
    record Goals(Row smallFaster, Row smallMapped, Row bigMapped, double startRatio, double memoryRatio) {
        static Optional<Goals> of(JsonNode loader) {
            if (loader == null) {
                return Optional.empty();
            }
            List<Row> rows = new ArrayList<>();
            loader.path("combinations").forEach(c -> rows.add(Row.of(c)));
            Optional<Row> smallInitramfs = find(rows, "small", LoaderBenchmark.INITRAMFS);
            Optional<Row> smallMapped = find(rows, "small", LoaderBenchmark.MAPPED);
            Optional<Row> bigMapped = find(rows, "big", LoaderBenchmark.MAPPED);
            if (smallInitramfs.isEmpty() || smallMapped.isEmpty() || bigMapped.isEmpty()) {
                return Optional.empty();
            }
            Row smallFaster = smallMapped.get().execMs() <= smallInitramfs.get().execMs() ? smallMapped.get()
                    : smallInitramfs.get();
            return Optional.of(new Goals(smallFaster, smallMapped.get(), bigMapped.get(),
                    bigMapped.get().execMs() / smallFaster.execMs(),
                    bigMapped.get().privateMib() / smallMapped.get().privateMib()));
        }
    }

    private void goals(Goals g, Row smallInitramfs, Row bigInitramfs) {
        double limit = GoalsSection.LOADER_BIG_TO_SMALL;
        String within = Fmt.number((limit - 1) * 100, 0) + "%";
        Row smallFaster = g.smallFaster();
        Row smallMapped = g.smallMapped();
        Row bigMapped = g.bigMapped();
        double startRatio = g.startRatio();
        line("**Goal: a " + size(bigMapped) + " binary starts within " + within + " of a " + size(smallMapped) + " one** (ratio"
                + " ≤ " + Fmt.number(limit, 2) + ", medians, the big binary mapped against the small one on its faster"
                + " path, " + smallFaster.path() + "): " + Fmt.significant(bigMapped.execMs()) + " ms against "
                + Fmt.significant(smallFaster.execMs()) + " ms, **" + ratio(startRatio) + "**: "
                + GoalsSection.verdict(startRatio, limit) + ". Through the initramfs the big binary takes "
                + ratio(bigInitramfs.execMs() / smallInitramfs.execMs()) + " the small one's time; mapped, "
                + ratio(bigMapped.execMs() / smallMapped.execMs()) + ".");
        line("");
        double memoryRatio = g.memoryRatio();
        line("**Goal: private memory per arrow does not grow with the binary's size** (Private_Dirty per arrow, guest RAM"
                + " + images, mapped, the big binary's over the small one's ≤ " + Fmt.number(limit, 2) + "): "
                + Fmt.number(bigMapped.privateMib(), 2) + " MiB against " + Fmt.number(smallMapped.privateMib(), 2)
                + " MiB, **" + ratio(memoryRatio) + "**: " + GoalsSection.verdict(memoryRatio, limit)
                + ". Through the initramfs: " + Fmt.number(bigInitramfs.privateMib(), 2) + " MiB against "
                + Fmt.number(smallInitramfs.privateMib(), 2) + " MiB, "
                + ratio(bigInitramfs.privateMib() / smallInitramfs.privateMib()) + ".");
        line("");
    }

    /**
     * How much slower a small binary may start mapped and still be mapped by default, when mapping saves memory per
     * arrow: start times within a few percent are within the lab's run-to-run spread, the memory saved is not.
     */
    static final double MAPPED_START_TOLERANCE = 1.05;

    private void threshold(Row smallInitramfs, Row smallMapped, long defaultMinBytes) {
        double timeRatio = smallMapped.execMs() / smallInitramfs.execMs();
        double savedMib = smallInitramfs.privateMib() - smallMapped.privateMib();
        boolean mappedWins = timeRatio <= 1 || (timeRatio <= MAPPED_START_TOLERANCE && savedMib > 0);
        boolean mappedByDefault = smallMapped.binaryMib() * MIB >= defaultMinBytes;
        String threshold = "`LoaderPlan.DEFAULT_MIN_MAPPED_BYTES` (" + Fmt.bytes(defaultMinBytes) + ")";
        line("**For the " + size(smallMapped) + " binary, mapped against the initramfs**: start → app exec "
                + Fmt.significant(smallMapped.execMs()) + " ms against " + Fmt.significant(smallInitramfs.execMs()) + " ms ("
                + ratio(timeRatio) + "), Private_Dirty per arrow " + Fmt.number(smallMapped.privateMib(), 2) + " MiB against "
                + Fmt.number(smallInitramfs.privateMib(), 2) + " MiB (" + (savedMib >= 0 ? "saves " : "costs ")
                + Fmt.number(Math.abs(savedMib), 2) + " MiB). Mapping " + (mappedWins ? "wins" : "loses") + " (the rule: it"
                + " starts faster, or at most " + Fmt.number((MAPPED_START_TOLERANCE - 1) * 100, 0) + "% slower while saving"
                + " memory). "
                + (mappedWins == mappedByDefault
                        ? "So the default threshold " + threshold + " stands: it sends this binary the better way."
                        : "So the default threshold " + threshold + " should move: it sends this binary the worse way"
                                + (mappedWins ? " (through the initramfs); lower it below " : " (mapped); raise it above ")
                                + size(smallMapped) + "."));
        line("");
    }

    static Optional<Row> find(List<Row> rows, String binary, String path) {
        return rows.stream().filter(r -> r.binary().equals(binary) && r.path().equals(path)).findFirst();
    }

    private static long warmups(JsonNode loader) {
        JsonNode first = loader.path("combinations").path(0).path("runs");
        long n = 0;
        for (JsonNode r : first) {
            if (r.path("warmup").asBoolean()) {
                n++;
            }
        }
        return n;
    }

    /** A command's arguments as a shell would take them: an argument with a space in single quotes. */
    private static String command(JsonNode args) {
        List<String> words = new ArrayList<>();
        args.forEach(n -> words.add(n.asText().contains(" ") ? "'" + n.asText() + "'" : n.asText()));
        return String.join(" ", words);
    }

    static String size(Row r) {
        return Fmt.significant(r.binaryMib()) + " MiB";
    }

    private static String ratio(double r) {
        return Double.isNaN(r) || Double.isInfinite(r) ? "–" : Fmt.significant(r) + "×";
    }

    private void line(String s) {
        md.append(s).append('\n');
    }
}
