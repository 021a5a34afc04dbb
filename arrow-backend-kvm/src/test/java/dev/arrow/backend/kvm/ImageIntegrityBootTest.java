package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.InvalidSpecException;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.image.LoaderPlan;
import dev.arrow.image.GuestImage;
import dev.arrow.image.InitramfsMemory;
import dev.arrow.image.init.Stdio;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tier 4: an arrow's app runs only on the files it was given, exactly: large files and binaries copied through the
 * initramfs (writable files; binaries with the application loader off) either arrive whole (their SHA-256 checked in the guest by busybox) or are refused at {@link Arrow#start()}
 * with the memory to ask for; and the rule's picture of the guest kernel matches the real guest's root
 * file system.
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ImageIntegrityBootTest {
    private static final Logger LOG = LoggerFactory.getLogger(ImageIntegrityBootTest.class);
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final long MIB = 1 << 20;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void prerequisites() {
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
    }

    private static Path randomFile(String name, long bytes, long seed) throws IOException {
        Path p = tmp.resolve(name);
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(seed);
        try (OutputStream out = Files.newOutputStream(p)) {
            for (long left = bytes; left > 0; left -= chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(chunk.length, left));
            }
        }
        return p;
    }

    private static String sha256(Path file) throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            try (var in = Files.newInputStream(file)) {
                for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** What one run gave: refused at start (with the message), or its outcome and stdout. */
    private record Run(String refusal, ArrowOutcome outcome, String stdout) {
    }

    private static Run run(Arrow arrow) throws Exception {
        ArrowProcess p;
        try {
            p = arrow.start();
        } catch (InvalidSpecException e) {
            return new Run(e.getMessage(), null, "");
        }
        try (p) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            p.getInputStream().transferTo(out);
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("the arrow ended").isTrue();
            return new Run(null, p.outcome().join(), out.toString(StandardCharsets.UTF_8));
        }
    }

    private static void assertExactOrRefused(Run run, String hostDigest, String what) {
        if (run.refusal() != null) {
            assertThat(run.refusal()).as(what).contains("$.memory: guest RAM too small for the files given", "ask for memory(");
            return;
        }
        assertThat(run.outcome()).as("%s; stdout: %s", what, run.stdout()).isEqualTo(new ArrowOutcome.Exited(0));
        assertThat(run.stdout()).as(what).startsWith(hostDigest + "  ");
    }

    @ParameterizedTest(name = "{0} MiB of RAM")
    @ValueSource(ints = {64, 128, 512})
    void theGuestsRootFileSystemIsAtLeastWhatTheRuleAssumes(int ramMiB) throws Exception {
        // busybox df leaves the rootfs out: statfs("/") says the block size and count
        Arrow arrow = Arrow.of(BUSYBOX).args("sh", "-c", "echo root $(stat -f -c '%S %b' /); head -n 2 /proc/meminfo")
                .memory(ramMiB, MiB);
        Run run = run(arrow);
        assertThat(run.outcome()).as("stdout: %s", run.stdout()).isEqualTo(new ArrowOutcome.Exited(0));
        Matcher statfs = Pattern.compile("(?m)^root (\\d+) (\\d+)$").matcher(run.stdout());
        assertThat(statfs.find()).as("statfs of / in %s", run.stdout()).isTrue();
        long rootBytes = Long.parseLong(statfs.group(1)) * Long.parseLong(statfs.group(2));
        ArrowSpec spec = arrow.spec();
        InitramfsMemory needs = GuestImage.assemble(spec, KernelLocator.fromEnvironment().locate().path(), Stdio.VIRTIO,
                Optional.empty()).memoryNeeds();
        long assumed = needs.rootFileSystemBytes(ramMiB * MIB);
        LOG.info("{} MiB guest: root file system {} KiB (the rule assumes {} KiB); {}", ramMiB, rootBytes >> 10,
                assumed >> 10, run.stdout().replace('\n', ' '));
        assertThat(rootBytes).as("the guest's tmpfs root is at least what the rule assumes").isGreaterThanOrEqualTo(assumed);
        assertThat(rootBytes).as("and the rule is not needlessly cautious").isLessThanOrEqualTo(assumed + 8 * MIB);
    }

    @Test
    void filesBetween45And90PercentOfRamArriveExactOrAreRefused() throws Exception {
        List<String> results = new ArrayList<>();
        int exact = 0;
        for (int percent : new int[] {25, 45, 60, 75, 90}) {
            long bytes = 128 * MIB * percent / 100;
            Path file = randomFile("data-" + percent, bytes, percent);
            Run run = run(Arrow.of(BUSYBOX).args("sha256sum", "/data/file").file(GuestFile.fromHost(file, "/data/file").writable()).memory(128, MiB));
            assertExactOrRefused(run, sha256(file), percent + "% of 128 MiB");
            exact += run.refusal() == null ? 1 : 0;
            results.add(percent + "%: " + (run.refusal() == null ? "exact" : "refused"));
            Files.delete(file);
        }
        LOG.info("files in a 128 MiB guest: {}", results);
        assertThat(results).as("a file of a quarter of the RAM arrives").first().isEqualTo("25%: exact");
        assertThat(exact).isPositive();
    }

    @Test
    void aLargeFileWithTheDefaultMemoryArrivesExact() throws Exception {
        Path file = randomFile("default-memory", 64 * MIB, 64);
        Run run = run(Arrow.of(BUSYBOX).args("sha256sum", "/data/file").file(GuestFile.fromHost(file, "/data/file").writable()));
        assertThat(run.refusal()).isNull();
        assertExactOrRefused(run, sha256(file), "64 MiB with the default memory");
    }

    @Test
    void aLargeBinaryNearTheLimitRunsOrIsRefusedNeverSigbus() throws Exception {
        // busybox followed by random bytes: a real static program of 95 MiB, named after the applet it runs
        Path program = Files.createDirectories(tmp.resolve("big")).resolve("echo");
        Files.copy(BUSYBOX, program);
        byte[] tail = Files.readAllBytes(randomFile("tail", 95 * MIB - Files.size(BUSYBOX), 95));
        Files.write(program, tail, java.nio.file.StandardOpenOption.APPEND);
        program.toFile().setExecutable(true);
        // the initramfs path (the application loader, which maps large binaries, is LoaderBootTest's)
        String before = System.setProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY, "-1");
        try {
            runLargeBinaryThroughTheInitramfs(program);
        } finally {
            if (before == null) System.clearProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY);
            else System.setProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY, before);
        }
    }

    private static void runLargeBinaryThroughTheInitramfs(Path program) throws Exception {
        Arrow atDefault = Arrow.of(program).args("big program ran");
        Run defaulted = run(atDefault);
        assertThat(defaulted.outcome()).as("stdout: %s", defaulted.stdout()).isEqualTo(new ArrowOutcome.Exited(0));
        assertThat(defaulted.stdout()).isEqualTo("big program ran\n");

        Run tooSmall = run(Arrow.of(program).args("must not run").memory(256, MiB));
        assertThat(tooSmall.refusal()).contains("guest RAM too small for the files given", "256 MiB given");
        Matcher ask = Pattern.compile("ask for memory\\((\\d+), MiB\\)").matcher(tooSmall.refusal());
        assertThat(ask.find()).isTrue();
        Run asked = run(Arrow.of(program).args("big program ran").memory(Long.parseLong(ask.group(1)), MiB));
        assertThat(asked.outcome()).as("stdout: %s", asked.stdout()).isEqualTo(new ArrowOutcome.Exited(0));
        assertThat(asked.stdout()).isEqualTo("big program ran\n");
    }

    private static long meminfoKiB(String text, String field) {
        Matcher m = Pattern.compile("(?m)^" + field + ":\\s+(\\d+) kB").matcher(text);
        assertThat(m.find()).as("%s in %s", field, text).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void aFileCostsOneCopyOfGuestRamOnceUnpackedBecauseTheKernelFreesTheArchive() throws Exception {
        Path file = randomFile("one-copy", 64 * MIB, 3);
        String script = "head -n 2 /proc/meminfo";
        Run without = run(Arrow.of(BUSYBOX).args("sh", "-c", script).memory(256, MiB));
        Run with = run(Arrow.of(BUSYBOX).args("sh", "-c", script).file(GuestFile.fromHost(file, "/data/file").writable()).memory(256, MiB));
        assertThat(without.outcome()).isEqualTo(new ArrowOutcome.Exited(0));
        assertThat(with.outcome()).isEqualTo(new ArrowOutcome.Exited(0));
        long totalDelta = meminfoKiB(without.stdout(), "MemTotal") - meminfoKiB(with.stdout(), "MemTotal");
        long used = meminfoKiB(without.stdout(), "MemFree") - meminfoKiB(with.stdout(), "MemFree");
        LOG.info("a 64 MiB file in a 256 MiB guest: MemTotal {} KiB lower, MemFree {} KiB lower ({} / {})", totalDelta, used,
                without.stdout().replace('\n', ' '), with.stdout().replace('\n', ' '));
        assertThat(totalDelta).as("the archive's pages went back to the kernel (MemTotal in KiB)").isBetween(-1024L, 1024L);
        // one copy of 64 MiB (65,536 KiB), give or take the kernel's own allocations (~1 MiB either way), not two
        assertThat(used).as("RAM the file takes once unpacked, in KiB: one copy").isBetween(63L * 1024, 67L * 1024);
    }
}
