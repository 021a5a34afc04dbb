package dev.arrow.backend.kvm;

import dev.arrow.image.LoaderPlan;
import dev.arrow.Arrow;
import dev.arrow.InvalidSpecException;
import dev.arrow.config.ArrowSpec;
import dev.arrow.image.InitramfsMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tier 1: the guest-memory rule at {@link Arrow#start()} on the KVM backend: an explicit size too small for
 * the binary and files is refused before anything is created (on any host, before the host check), naming
 * the size to ask for; without an explicit size the guest gets what the files need.
 */
class KvmLauncherMemoryTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;
    Path kernel;

    private String loaderSetting;

    @BeforeEach
    void fakeKernel() throws IOException {
        kernel = KvmLauncherHostCheckTest.elfKernelHeader(tmp.resolve("vmlinux")); // never booted here
        // the rule of the initramfs path: the application loader (which maps large binaries and files) is off here;
        // LoaderPlanTest and LoaderBootTest are the loader's
        loaderSetting = System.setProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY, "-1");
    }

    @AfterEach
    void restoreLoader() {
        if (loaderSetting == null) System.clearProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY);
        else System.setProperty(LoaderPlan.MIN_MAPPED_BYTES_PROPERTY, loaderSetting);
    }

    /** A sparse host file of {@code bytes}; its contents are never read by these tests. */
    private Path sized(String name, long bytes) throws IOException {
        Path p = tmp.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    /** A static program of {@code bytes}: busybox with zeros after it (exec reads only what it maps). */
    private Path bigBinary(long bytes) throws IOException {
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        Path p = Files.copy(BUSYBOX, tmp.resolve("big-program"));
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    private Arrow arrow(Path binary) {
        return Arrow.of(binary).kernel(kernel).launcher(new KvmLauncher());
    }

    private static InitramfsMemory needs(Arrow arrow) {
        ArrowSpec spec = arrow.spec();
        return InitramfsMemory.of(KvmLauncher.initramfs(spec, LoaderPlan.copyAll(spec)));
    }

    @Test
    void aFileTooLargeForTheGivenMemoryIsRefusedAtStartNamingTheSizeToAskFor() throws IOException {
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        Arrow arrow = arrow(BUSYBOX).file(sized("data", 64 * MIB), "/data/big").memory(128, MiB);
        long suggested = needs(arrow).suggestedRamBytes(0) >> 20;
        assertThatThrownBy(arrow::start)
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("$.memory: guest RAM too small for the files given")
                .hasMessageContaining("128 MiB given")
                .hasMessageContaining("ask for memory(" + suggested + ", MiB)");
        assertThat(suggested).isBetween(208L, 240L); // 16 + 64 + 2 x 66 MiB, in 16 MiB steps
    }

    @Test
    void aBinaryTooLargeForTheGivenMemoryIsRefusedAtStart() throws IOException {
        Arrow arrow = arrow(bigBinary(95 * MIB)).memory(256, MiB);
        assertThatThrownBy(arrow::start)
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("guest RAM too small for the files given")
                .hasMessageContaining("ask for memory(320, MiB)");
    }

    @Test
    void aBinaryAndFilesThatFitOnlyApartAreRefusedTogether() throws IOException {
        Path program = bigBinary(20 * MIB);
        Path data = sized("data", 20 * MIB);
        assertThat(needs(arrow(program).memory(128, MiB)).fits(128 * MIB)).isTrue();
        assertThat(needs(arrow(BUSYBOX).file(data, "/data").memory(128, MiB)).fits(128 * MIB)).isTrue();
        assertThatThrownBy(() -> arrow(program).file(data, "/data").memory(128, MiB).start())
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("guest RAM too small for the files given");
    }

    @Test
    void exactlyTheSuggestedMemoryPassesTheRule() throws IOException {
        Arrow arrow = arrow(BUSYBOX).file(sized("data", 64 * MIB), "/data/big");
        long suggested = needs(arrow).suggestedRamBytes(0);
        ArrowSpec spec = arrow.memory(suggested >> 20, MiB).spec();
        InitramfsMemory needs = InitramfsMemory.of(KvmLauncher.initramfs(spec, LoaderPlan.copyAll(spec)));
        assertThat(KvmLauncher.guestMemory(spec, needs)).isEqualTo(suggested);
        ArrowSpec oneLess = arrow.memory((suggested >> 20) - 16, MiB).spec();
        assertThatThrownBy(() -> KvmLauncher.guestMemory(oneLess, needs)).isInstanceOf(InvalidSpecException.class);
    }

    @Test
    void withoutAnExplicitSizeTheGuestGetsWhatItsFilesNeedAndNeverLessThanTheDefault() throws IOException {
        Arrow big = arrow(BUSYBOX).file(sized("data", 64 * MIB), "/data/big");
        ArrowSpec spec = big.spec();
        assertThat(spec.memoryGiven()).isFalse();
        InitramfsMemory needs = InitramfsMemory.of(KvmLauncher.initramfs(spec, LoaderPlan.copyAll(spec)));
        assertThat(KvmLauncher.guestMemory(spec, needs)).isEqualTo(needs.suggestedRamBytes(0))
                .isGreaterThan(ArrowSpec.DEFAULT_MEMORY_BYTES);

        ArrowSpec small = arrow(BUSYBOX).spec();
        assertThat(KvmLauncher.guestMemory(small, InitramfsMemory.of(KvmLauncher.initramfs(small, LoaderPlan.copyAll(small)))))
                .isEqualTo(ArrowSpec.DEFAULT_MEMORY_BYTES);
    }

    @Test
    void filesBeyondTheLargestGuestAreRefusedSayingSo() throws IOException {
        Arrow arrow = arrow(BUSYBOX).file(sized("huge", 4000L * MIB), "/a").file(sized("huge2", 4000L * MIB), "/b");
        assertThatThrownBy(arrow::start)
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("more than the largest guest (16 GiB): give fewer or smaller files");
    }

    @Test
    void filesAtArrowsOwnPathsOrUnderInitsMountsAreRefusedAtStartEachWithItsJsonPath() {
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        Arrow arrow = arrow(BUSYBOX).textFile("x", "/data/fine").textFile("x", "/arrow/app").textFile("x", "/tmp/input");
        assertThatThrownBy(arrow::start)
                .isInstanceOf(InvalidSpecException.class)
                .satisfies(e -> assertThat(((InvalidSpecException) e).problems())
                        .extracting(p -> p.path()).containsExactly("$.files[1].guest", "$.files[2].guest"))
                .hasMessageContaining("\"/arrow/app\" is Arrow's own")
                .hasMessageContaining("\"/tmp/input\" would be hidden: init mounts a file system on /tmp");
    }

    @Test
    void imagesWhosePageStructuresTakeOverAQuarterOfTheGuestRamAreRefusedNamingTheMemoryToAskFor() {
        ArrowSpec spec = ArrowSpec.builder(java.nio.file.Path.of("app")).build();
        dev.arrow.image.mapped.ReadOnlyImage gib = new dev.arrow.image.mapped.ReadOnlyImage(java.nio.file.Path.of("gib.erofs"),
                1L << 30, "0".repeat(64), java.util.List.of());
        LoaderPlan plan = new LoaderPlan(java.util.List.of(gib), dev.arrow.image.init.ImageMounts.NONE, "/x", java.util.List.of(), true);
        KvmLauncher.checkImageOverhead(spec, plan, 64L << 20); // 16 MiB of page structures: a quarter, allowed
        assertThatThrownBy(() -> KvmLauncher.checkImageOverhead(spec, plan, 48L << 20))
                .isInstanceOf(InvalidSpecException.class)
                .hasMessageContaining("$.memory: guest RAM too small for the mapped files: the guest kernel needs 16 MiB of its 48 MiB")
                .hasMessageContaining("1024 MiB of images; ask for memory(65, MiB)");
    }
}
