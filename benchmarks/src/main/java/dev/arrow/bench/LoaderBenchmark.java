package dev.arrow.bench;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.BootPhase;
import dev.arrow.BootTimeline;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.config.GuestFile;
import dev.arrow.image.LoaderPlan;
import dev.arrow.image.mapped.ImageCache;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The application loader (issue 22, docs/loader.md) against the initramfs path, in one JVM (run it where KVM boots
 * Linux), through the public API: a static busybox as it is (~2 MiB) and the same program grown to ~100 MiB with a
 * random tail (as {@code LoaderBootTest} builds it), each through the initramfs (system property
 * {@value LoaderPlan#MIN_MAPPED_BYTES_PROPERTY} = -1) and mapped from its read-only image (the property unset: the
 * default threshold), the guest's RAM left to Arrow (the default, raised where the initramfs needs more).
 * <ol>
 *   <li><b>runs</b>: W warm-up and N measured runs of each of the four combinations, interleaved, the JVM settled
 *       before each (as {@link PeerComparison} does): {@code start()} → app exec ({@link BootPhase#APP_EXECUTED}),
 *       the app {@code sh -c 'echo ready'} read to its end.</li>
 *   <li><b>memory</b>: per combination, K arrows alive at once, each having read its whole binary
 *       ({@code cat /proc/self/exe}) before it says {@code ready}: {@link ProcessMemory} per arrow (the increase over
 *       a snapshot taken before they started, divided by K) with the guest RAM's mappings (anonymous memory, the
 *       kernel image's) and the loader's image mappings ({@link MappingGroup#loaderImages}) summed on their own, so
 *       that an image's pages shared by the K arrows show as one copy in Pss.</li>
 *   <li><b>data set</b> (with {@code --data-mib D}): a read-only data file of D MiB given to A busybox arrows alive at
 *       once ({@code file(GuestFile.fromHost(set, "/data/set"))}, mapped by the loader), each having read all of it
 *       ({@code cat /data/set}) before it says {@code ready}: what all A add to this process together (the image
 *       mappings' Rss and Pss, Private_Dirty, the host kernel's share) against D, so that "shared by A arrows, held
 *       once" is a measured sum, not a per-arrow figure.</li>
 * </ol>
 * Start the JVM as for {@link MemoryPerArrow} (a fixed, pre-touched heap). The 100 MiB program lives in a temporary
 * directory, deleted at the end; its image stays in the host's image cache (the same content every run).
 *
 * <pre>  loader --out FILE [--runs N] [--warmup W] [--alive K] [--settle-ms MS] [--big-mib 100] [--data-mib D --data-arrows A]</pre>
 */
public final class LoaderBenchmark {
    static final Path BUSYBOX = Path.of("/bin/busybox");
    /** The two paths a binary can take into the guest, by their name in the result file. */
    static final String INITRAMFS = "initramfs";
    static final String MAPPED = "mapped";
    static final String READY = "ready";
    /** The memory part's app: reads its whole binary, says it is ready, then waits to be measured. */
    static final List<String> MEMORY_APP = List.of("sh", "-c", "cat /proc/self/exe > /dev/null && echo " + READY + " && exec sleep 600");
    /** Where the data set part's arrows find the data set. */
    static final String DATA_GUEST_PATH = "/data/set";
    /** The data set part's app: reads the whole data set, says it is ready, then waits to be measured. */
    static final List<String> DATA_APP = List.of("sh", "-c", "cat " + DATA_GUEST_PATH + " > /dev/null && echo " + READY
            + " && exec sleep 600");
    /** The runs' app: exits at once. */
    static final List<String> RUN_APP = List.of("sh", "-c", "echo " + READY);

    private LoaderBenchmark() {
    }

    /** One binary on one path. */
    record Combination(String binaryName, Path binary, String path) {
        /** The value of {@value LoaderPlan#MIN_MAPPED_BYTES_PROPERTY} for this path: null leaves it unset (the default). */
        String minBytesProperty() {
            return path.equals(INITRAMFS) ? "-1" : null;
        }

        Arrow arrow(List<String> app) {
            return Arrow.of(binary).args(app.toArray(String[]::new)).stdin(Input.empty()).stdout(Output.pipe())
                    .stderr(Output.discard());
        }
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Path out = a.path("out");
        int runs = a.integer("runs", 3);
        int warmup = a.integer("warmup", 1);
        int alive = a.integer("alive", 5);
        int settleMillis = a.integer("settle-ms", PeerComparison.DEFAULT_SETTLE_MILLIS);
        int bigMib = a.integer("big-mib", 100);
        int dataMib = a.integer("data-mib", 0);
        int dataArrows = a.integer("data-arrows", 10);
        if (runs < 1 || alive < 1 || dataMib < 0 || dataArrows < 1) {
            throw new IllegalArgumentException("--runs, --alive and --data-arrows must be at least 1, --data-mib at least 0");
        }
        if (!Files.isExecutable(BUSYBOX)) {
            throw new IllegalStateException("no static busybox at " + BUSYBOX + ": install busybox-static (scripts/setup.sh)");
        }
        if (System.getProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY) != null) {
            throw new IllegalStateException("start the JVM without -D" + LoaderPlan.MIN_MAPPED_BYTES_PROPERTY
                    + ": the benchmark sets it for each path itself");
        }
        Path tmp = Files.createTempDirectory("arrow-loader-bench");
        try {
            Path big = Files.createDirectories(tmp.resolve("big")).resolve("busybox");
            Files.copy(BUSYBOX, big);
            appendRandom(big, ((long) bigMib << 20) - Files.size(BUSYBOX));
            if (!big.toFile().setExecutable(true)) {
                throw new IOException("cannot make " + big + " executable");
            }
            List<Combination> combinations = new ArrayList<>();
            for (Map.Entry<String, Path> binary : List.of(Map.entry("small", BUSYBOX), Map.entry("big", big))) {
                for (String path : List.of(INITRAMFS, MAPPED)) {
                    combinations.add(new Combination(binary.getKey(), binary.getValue(), path));
                }
            }
            Map<String, Object> result = run(out, combinations, runs, warmup, alive, settleMillis);
            if (dataMib > 0) {
                Path set = Files.createDirectories(tmp.resolve("data")).resolve("set");
                writeDataSet(set, (long) dataMib << 20);
                PeerComparison.settle(settleMillis);
                result.put("dataSet", dataSet(set, dataArrows, settleMillis));
                Json.write(out, result);
            }
        } finally {
            try (Stream<Path> files = Files.walk(tmp)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static Map<String, Object> run(Path out, List<Combination> combinations, int runs, int warmup, int alive,
                                           int settleMillis) throws Exception {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("hostCpus", Runtime.getRuntime().availableProcessors());
        result.put("settleMillis", settleMillis);
        result.put("jvmArguments", ManagementFactory.getRuntimeMXBean().getInputArguments());
        result.put("defaultMinMappedBytes", LoaderPlan.DEFAULT_MIN_MAPPED_BYTES);
        result.put("imageCache", ImageCache.shared().directory().toString());
        result.put("runApp", RUN_APP);
        result.put("memoryApp", MEMORY_APP);
        result.put("alive", alive);
        List<Map<String, Object>> entries = new ArrayList<>();
        Map<Combination, List<Long>> samples = new LinkedHashMap<>();
        Map<Combination, List<Map<String, Object>>> timelines = new LinkedHashMap<>();
        for (Combination c : combinations) {
            samples.put(c, new ArrayList<>());
            timelines.put(c, new ArrayList<>());
        }
        for (int i = 0; i < warmup + runs; i++) {
            for (Combination c : combinations) {
                PeerComparison.settle(settleMillis);
                BootTimeline t = withPath(c, () -> once(c));
                long exec = t.entry(BootPhase.APP_EXECUTED).orElseThrow().sinceStartNanos();
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("iteration", i);
                r.put("warmup", i < warmup);
                r.put("timeline", Json.timeline(t));
                timelines.get(c).add(r);
                if (i >= warmup) {
                    samples.get(c).add(exec);
                }
                System.err.printf("[loader] %s %d, %s binary, %s: start → app exec %.1f ms%n", i < warmup ? "warm-up" : "run", i,
                        c.binaryName(), c.path(), exec / 1e6);
            }
        }
        for (Combination c : combinations) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("binary", c.binaryName());
            m.put("binaryBytes", Files.size(c.binary()));
            m.put("path", c.path());
            m.put("minMappedBytesProperty", c.minBytesProperty());
            List<Long> s = samples.get(c);
            m.put("startToAppExecNanos", s);
            m.put("startToAppExecMedianNanos", Stats.median(s));
            m.put("startToAppExecP90Nanos", Stats.percentile(s, 90));
            m.put("runs", timelines.get(c));
            entries.add(m);
        }
        result.put("combinations", entries);
        Json.write(out, result); // the runs are kept if the memory part fails
        for (int i = 0; i < combinations.size(); i++) {
            Combination c = combinations.get(i);
            PeerComparison.settle(settleMillis);
            entries.get(i).put("memory", withPath(c, () -> memory(c, alive, settleMillis)));
            Json.write(out, result);
        }
        return result;
    }

    /**
     * {@code arrows} busybox arrows alive at once, each given {@code set} read-only at {@value #DATA_GUEST_PATH} (the
     * loader maps it: it is far above the threshold) and having read all of it: what they add to this process together.
     */
    private static Map<String, Object> dataSet(Path set, int arrows, int settleMillis) throws Exception {
        long bytes = Files.size(set);
        List<MappingGroup> groups = guestAndImageGroups();
        ProcessMemory base = ProcessMemory.read(groups);
        List<ArrowProcess> alive = new ArrayList<>();
        List<Long> readyNanos = new ArrayList<>();
        try {
            for (int i = 0; i < arrows; i++) {
                long t0 = System.nanoTime();
                ArrowProcess p = Arrow.of(BUSYBOX).args(DATA_APP.toArray(String[]::new))
                        .file(GuestFile.fromHost(set, DATA_GUEST_PATH)).stdin(Input.empty()).stdout(Output.pipe())
                        .stderr(Output.discard()).start();
                alive.add(p);
                awaitReady(p, "data set arrow " + i + " did not read the data set");
                readyNanos.add(System.nanoTime() - t0);
                System.err.printf("[loader] data set: arrow %d of %d read %d MiB, start → ready %.1f s%n", i + 1, arrows,
                        bytes >> 20, (System.nanoTime() - t0) / 1e9);
            }
            PeerComparison.settle(settleMillis);
            ProcessMemory all = ProcessMemory.read(groups).minus(base);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("dataBytes", bytes);
            m.put("arrows", arrows);
            m.put("app", DATA_APP);
            m.put("guestMemoryBytes", alive.get(0).statistics().map(s -> s.guestMemoryBytes()).orElse(-1L));
            m.put("startToReadyNanos", readyNanos);
            m.put("allArrows", all.toJson());
            MemoryCounters images = all.mapping(MappingGroup.LOADER_IMAGES);
            System.err.printf("[loader] data set of %d MiB read by %d arrows: image mappings Rss %.1f MiB, Pss %.1f MiB;"
                            + " all arrows' Private_Dirty %.1f MiB%n", bytes >> 20, arrows,
                    images.get(ProcessMemory.RSS).orElse(0) / 1048576.0, images.get(ProcessMemory.PSS).orElse(0) / 1048576.0,
                    all.process().get(ProcessMemory.PRIVATE_DIRTY).orElse(0) / 1048576.0);
            return m;
        } finally {
            MemoryPerArrow.stop(alive);
        }
    }

    /**
     * Writes {@code bytes} bytes of data, every 4 KiB block different (its index in every 8-byte word, so no two pages
     * are alike for the host's or the guest's page sharing), cheaply: the lab emulates the CPU.
     */
    private static void writeDataSet(Path file, long bytes) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            long block = 0;
            for (long left = bytes; left > 0; ) {
                chunk.clear();
                for (int at = 0; at < chunk.capacity(); at += 8) {
                    chunk.putLong(at, block + (at >> 12));
                }
                block += chunk.capacity() >> 12;
                chunk.limit((int) Math.min(chunk.capacity(), left));
                left -= chunk.limit();
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
            }
        }
    }

    /** One run: starts the arrow, reads its output to the end, waits for it; its timeline. */
    private static BootTimeline once(Combination c) throws IOException, InterruptedException {
        try (ArrowProcess p = c.arrow(RUN_APP).start()) {
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            if (code != 0 || !output.strip().equals(READY)) {
                throw new IllegalStateException(c + " failed: " + p.outcome().getNow(null) + ", output: " + output);
            }
            return p.timeline();
        }
    }

    /** {@code alive} arrows of {@code c} alive at once: what each adds to this process's memory. */
    private static Map<String, Object> memory(Combination c, int alive, int settleMillis) throws Exception {
        List<MappingGroup> groups = guestAndImageGroups();
        ProcessMemory base = ProcessMemory.read(groups);
        List<ArrowProcess> arrows = new ArrayList<>();
        try {
            for (int i = 0; i < alive; i++) {
                ArrowProcess p = c.arrow(MEMORY_APP).start();
                arrows.add(p);
                awaitReady(p, c + " did not get ready");
            }
            PeerComparison.settle(settleMillis);
            ProcessMemory perArrow = ProcessMemory.read(groups).minus(base).dividedBy(alive);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("alive", alive);
            m.put("guestMemoryBytes", arrows.get(0).statistics().map(s -> s.guestMemoryBytes()).orElse(-1L));
            m.put("perArrow", perArrow.toJson());
            System.err.printf("[loader] %d arrows of the %s binary, %s: per arrow Private_Dirty %.1f MiB, Pss %.1f MiB"
                            + " (images: Pss %.1f MiB)%n", alive, c.binaryName(), c.path(),
                    perArrow.process().get(ProcessMemory.PRIVATE_DIRTY).orElse(0) / 1048576.0,
                    perArrow.process().get(ProcessMemory.PSS).orElse(0) / 1048576.0,
                    perArrow.mapping(MappingGroup.LOADER_IMAGES).get(ProcessMemory.PSS).orElse(0) / 1048576.0);
            return m;
        } finally {
            MemoryPerArrow.stop(arrows);
        }
    }

    /** The guest RAM's mappings (anonymous, kernel image) and the loader's images': what an arrow costs the host. */
    private static List<MappingGroup> guestAndImageGroups() throws IOException {
        return List.of(MappingGroup.KERNEL_IMAGE, MappingGroup.ANONYMOUS,
                MappingGroup.loaderImages(ImageCache.shared().directory()));
    }

    /** Reads {@code p}'s first line of output and fails with {@code problem} unless it is {@value #READY}. */
    private static void awaitReady(ArrowProcess p, String problem) throws IOException {
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        if (!READY.equals(line)) {
            throw new IllegalStateException(problem + " (" + line + "): " + p.outcome().getNow(null));
        }
    }

    /** Runs {@code action} with {@value LoaderPlan#MIN_MAPPED_BYTES_PROPERTY} set for {@code c}'s path, then unsets it. */
    private static <T> T withPath(Combination c, Step<T> action) throws Exception {
        String value = c.minBytesProperty();
        if (value != null) {
            System.setProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY, value);
        }
        try {
            return action.run();
        } finally {
            System.clearProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY);
        }
    }

    @FunctionalInterface
    private interface Step<T> {
        T run() throws Exception;
    }

    /** Appends {@code bytes} random bytes (a fixed seed: the same program, so the same cached image, every run). */
    private static void appendRandom(Path file, long bytes) throws IOException {
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(100);
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.APPEND)) {
            for (long left = bytes; left > 0; left -= chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(chunk.length, left));
            }
        }
    }
}
