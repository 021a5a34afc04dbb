package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.arrow.backend.kvm.BootTestSupport.BUSYBOX;
import static dev.arrow.backend.kvm.BootTestSupport.appendRandom;
import static dev.arrow.backend.kvm.BootTestSupport.assumeBusybox;
import static dev.arrow.backend.kvm.BootTestSupport.bigBusybox;
import static dev.arrow.backend.kvm.BootTestSupport.runToEnd;
import static dev.arrow.backend.kvm.BootTestSupport.sha256;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;

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
    private static final long MIB = 1 << 20;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void prerequisites() {
        assumeBusybox();
    }

    /** {@code tmp/name}, a new file of {@code bytes} random bytes (the same ones for the same {@code seed}). */
    private static Path randomFile(String name, long bytes, long seed) throws IOException {
        Path p = tmp.resolve(name);
        appendRandom(p, bytes, seed);
        return p;
    }

    /** What one run gave: refused at start (with the message), or its outcome and stdout. */
    private record Run(String refusal, ArrowOutcome outcome, String stdout) {
    }

    private static Run run(Arrow arrow) throws Exception {
        BootTestSupport.Ended ended;
        try {
            ended = runToEnd(arrow);
        } catch (InvalidSpecException e) {
            return new Run(e.getMessage(), null, "");
        }
        return new Run(null, ended.outcome(), ended.stdout());
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
        // busybox followed by random bytes: a real static program of 95 MiB
        Path program = bigBusybox(tmp.resolve("big"));
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
        Arrow atDefault = Arrow.of(program).args("echo", "big program ran");
        Run defaulted = run(atDefault);
        assertThat(defaulted.outcome()).as("stdout: %s", defaulted.stdout()).isEqualTo(new ArrowOutcome.Exited(0));
        assertThat(defaulted.stdout()).isEqualTo("big program ran\n");

        Run tooSmall = run(Arrow.of(program).args("echo", "must not run").memory(256, MiB));
        assertThat(tooSmall.refusal()).contains("guest RAM too small for the files given", "256 MiB given");
        Matcher ask = Pattern.compile("ask for memory\\((\\d+), MiB\\)").matcher(tooSmall.refusal());
        assertThat(ask.find()).isTrue();
        Run asked = run(Arrow.of(program).args("echo", "big program ran").memory(Long.parseLong(ask.group(1)), MiB));
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
