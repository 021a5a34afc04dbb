package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.image.LoaderPlan;
import dev.arrow.image.mapped.ImageCache;
import dev.arrow.image.mapped.ReadOnlyImage;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.arrow.backend.kvm.BootTestSupport.BUSYBOX;
import static dev.arrow.backend.kvm.BootTestSupport.appendRandom;
import static dev.arrow.backend.kvm.BootTestSupport.runToEnd;
import static dev.arrow.backend.kvm.BootTestSupport.sha256;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tier 4: the application loader (docs/loader.md). A large binary runs from its read-only image in a small guest; ten
 * arrows of one binary share the host's pages of its image (the JVM's smaps: one copy in {@code Pss}); a read-only data
 * file is read intact, and neither a write through the file system nor a raw write to the pmem device reaches the host.
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class LoaderBootTest {
    private static final Logger LOG = LoggerFactory.getLogger(LoaderBootTest.class);
    private static final long MIB = 1 << 20;

    @TempDir
    static Path tmp;
    /** {@link BootTestSupport#bigBusybox}: a real static program of 95 MiB. */
    static Path bigBusybox;

    @BeforeAll
    static void bigProgram() throws IOException {
        bigBusybox = BootTestSupport.bigBusybox(tmp.resolve("big"));
    }

    /** {@link BootTestSupport#runToEnd}, which must exit 0: its stdout. */
    private static String runToExitZero(Arrow arrow) throws Exception {
        BootTestSupport.Ended ended = runToEnd(arrow);
        assertThat(ended.outcome()).as("stdout: %s", ended.stdout()).isEqualTo(new ArrowOutcome.Exited(0));
        return ended.stdout();
    }

    @Test
    void aNinetyFiveMebibyteBinaryRunsFromItsImageInASmallGuest() throws Exception {
        // 48 MiB of guest RAM could not even hold the program's copy: it runs from the mapped image, through DAX
        String out = runToExitZero(Arrow.of(bigBusybox).args("sh", "-c",
                "echo big program ran; grep -c '^/dev/pmem[0-9]* /arrow/images/0 erofs ro,' /proc/mounts")
                .memory(48, MiB));
        assertThat(out).isEqualTo("big program ran\n1\n");
    }

    @Test
    void tenArrowsOfOneLargeBinaryShareOneHostCopyOfItsPages() throws Exception {
        ReadOnlyImage image = LoaderPlan.of(Arrow.of(bigBusybox).spec(), ImageCache.shared(), LoaderPlan.minMappedBytes())
                .images().get(0);
        List<ArrowProcess> arrows = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                // every arrow reads the whole program (95 MiB of its image's pages), then waits to be measured
                arrows.add(Arrow.of(bigBusybox).args("sh", "-c", "cat /proc/self/exe > /dev/null && echo read && sleep 600")
                        .memory(64, MiB).start());
            }
            for (ArrowProcess p : arrows) {
                byte[] line = p.getInputStream().readNBytes(5);
                assertThat(new String(line, StandardCharsets.US_ASCII)).isEqualTo("read\n");
            }
            FileMappings totals = FileMappings.named(image.path());
            LOG.info("10 arrows of a 95 MiB binary: {} mappings of {}, Rss {} KiB, Pss {} KiB, Private_Dirty {} KiB", totals.count(),
                    image.path().getFileName(), totals.rssKiB(), totals.pssKiB(), totals.privateDirtyKiB());
            assertThat(totals.count()).as("one mapping per arrow").isEqualTo(10);
            assertThat(totals.all()).as("all of the cache file itself").allMatch(FileMappings.Mapping::ofFile);
            assertThat(totals.rssKiB()).as("each arrow read the whole program through its mapping (KiB)")
                    .isGreaterThanOrEqualTo(10 * 94 * 1024L);
            assertThat(totals.pssKiB()).as("yet the host holds its pages once (KiB)").isBetween(94 * 1024L, 97 * 1024L);
            assertThat(totals.privateDirtyKiB()).as("and no arrow has a private copy").isZero();
        } finally {
            for (ArrowProcess p : arrows) p.close();
        }
    }

    @Test
    void aReadOnlyDataFileIsReadIntactAndNoGuestWriteReachesTheHost() throws Exception {
        Path data = tmp.resolve("data.bin");
        appendRandom(data, 8 * MIB + 123, 8);
        String hostDigest = sha256(data);
        ReadOnlyImage image = LoaderPlan.of(Arrow.of(BUSYBOX).file(data, "/data/in.bin").spec(), ImageCache.shared(),
                LoaderPlan.minMappedBytes()).images().get(1);
        String imageDigest = sha256(image.path());
        String out = runToExitZero(Arrow.of(BUSYBOX).file(data, "/data/in.bin").args("sh", "-c", String.join("; ",
                "sha256sum /data/in.bin",
                "echo overwritten > /data/in.bin && echo fs-write-accepted || echo fs-write-refused",
                "dd if=/dev/zero of=/dev/pmem1 bs=4096 count=4 seek=2 2>/dev/null; sync",
                "echo 3 > /proc/sys/vm/drop_caches 2>/dev/null",
                "sha256sum /data/in.bin")));
        assertThat(out).isEqualTo(hostDigest + "  /data/in.bin\nfs-write-refused\n" + hostDigest + "  /data/in.bin\n");
        assertThat(sha256(data)).as("the host file").isEqualTo(hostDigest);
        assertThat(sha256(image.path())).as("the image file").isEqualTo(imageDigest);
    }
}
