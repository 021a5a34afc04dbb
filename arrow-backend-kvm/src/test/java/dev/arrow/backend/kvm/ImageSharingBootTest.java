package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.ArrowTemplate;
import dev.arrow.image.LoaderPlan;
import dev.arrow.image.mapped.ImageCache;
import dev.arrow.image.mapped.ReadOnlyImage;
import dev.arrow.kvm.vmm.VmTemplate;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.arrow.backend.kvm.BootTestSupport.sha256;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tier 4: one host copy of a binary's read-only image serves the binary's template, every clone of it and every cold
 * arrow of the binary (docs/loader.md, "Templates"). A template of the 95 MiB {@link BootTestSupport#bigBusybox} in a
 * small guest, three of its clones and two cold arrows run at once, each having read the whole program from the image
 * it runs from; this JVM's smaps then show that all of them map the one cache file, that none holds a private page of
 * it, and that its pages are resident once however many VMs read them. One clone first tries to write the image,
 * through the file system and through the raw pmem device, and neither write reaches the host or the other VMs.
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ImageSharingBootTest {
    private static final Logger LOG = LoggerFactory.getLogger(ImageSharingBootTest.class);
    private static final long MIB = 1 << 20;
    private static final int CLONES = 3;
    private static final int COLD_ARROWS = 2;
    /** Every reader's proof that it runs the program from its mapped image, then reads all of it through the image. */
    private static final String RUN_FROM_IMAGE_AND_READ_ALL = String.join("; ",
            "grep -c '^/dev/pmem0 /arrow/images/0 erofs ro,' /proc/mounts",
            "readlink /proc/self/exe",
            "cat /proc/self/exe > /dev/null && echo read");
    private static final List<String> RAN_FROM_IMAGE_AND_READ_ALL = List.of("1", "/arrow/images/0/app", "read");
    /** What a reader does: runs from its image and reads it all, then waits to be measured. */
    private static final String READ_AND_WAIT = RUN_FROM_IMAGE_AND_READ_ALL + " && sleep 600";
    /** Where the clone's raw write lands in the image: its 40th MiB, inside the program's bytes (see the test). */
    private static final long WRITTEN_AT = 40 * MIB;
    /**
     * The writing clone's attempts: a write through the file system, 16 KiB of zeros through the raw device at
     * {@link #WRITTEN_AT}, then, its caches dropped, the digest of the program's bytes [39 MiB, 41 MiB) read back from
     * the image.
     */
    private static final String WRITE_THE_IMAGE = String.join("; ",
            "echo overwritten >> /arrow/images/0/app && echo fs-write-accepted || echo fs-write-refused",
            "dd if=/dev/zero of=/dev/pmem0 bs=4096 count=4 seek=" + WRITTEN_AT / 4096 + " conv=notrunc 2>/dev/null"
                    + " && echo raw-write-done; sync",
            "echo 3 > /proc/sys/vm/drop_caches",
            "dd if=/arrow/images/0/app bs=1M skip=39 count=2 2>/dev/null | sha256sum");

    @TempDir
    static Path tmp;
    static Path bigBusybox;

    @BeforeAll
    static void bigProgram() throws IOException {
        bigBusybox = BootTestSupport.bigBusybox(tmp.resolve("big"));
    }

    /** A cold arrow that reads the program and waits. */
    private static Arrow reader() {
        return Arrow.of(bigBusybox).args("sh", "-c", READ_AND_WAIT).memory(64, MiB);
    }

    /** An arrow or clone and its stdout, read line by line. */
    private record Running(ArrowProcess process, BufferedReader stdout) {
        Running(ArrowProcess process) {
            this(process, new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)));
        }

        /** The next {@code count} lines it writes (fewer if it ends first). */
        List<String> lines(int count) throws IOException {
            List<String> lines = new ArrayList<>();
            for (String line; lines.size() < count && (line = stdout.readLine()) != null; ) lines.add(line);
            return lines;
        }
    }

    @Test
    void aTemplateItsClonesAndColdArrowsOfOneBinaryShareOneHostCopyOfItsImage() throws Exception {
        ReadOnlyImage image = LoaderPlan.of(reader().spec(), ImageCache.shared(), LoaderPlan.minMappedBytes()).images().get(0);
        // 95 MiB of program after the image's metadata, padded to 2 MiB: the program starts in the image's first MiB,
        // so the raw write at 40 MiB lands in its bytes [39 MiB, 40 MiB + 16 KiB)
        assertThat(image.length()).as("the image's length").isEqualTo(96 * MIB);
        String imageDigest = sha256(image.path());
        String windowDigest = sha256(bigBusybox, 39 * MIB, 2 * MIB);

        List<Running> arrows = new ArrayList<>();
        try (ArrowTemplate template = Arrow.of(bigBusybox).args("true").memory(64, MiB).template()) {
            try {
                Running writer = new Running(template.start(c -> c.args("sh", "-c", WRITE_THE_IMAGE + "; " + READ_AND_WAIT)));
                arrows.add(writer);
                assertThat(writer.lines(3)).as("the writing clone's attempts")
                        .containsExactly("fs-write-refused", "raw-write-done", windowDigest + "  -");
                for (int i = 1; i < CLONES; i++) {
                    arrows.add(new Running(template.start(c -> c.args("sh", "-c", READ_AND_WAIT))));
                }
                for (int i = 0; i < COLD_ARROWS; i++) {
                    arrows.add(new Running(reader().start()));
                }
                for (int i = 0; i < arrows.size(); i++) {
                    assertThat(arrows.get(i).lines(3)).as("%s %d", i < CLONES ? "clone" : "cold arrow", i)
                            .isEqualTo(RAN_FROM_IMAGE_AND_READ_ALL);
                }

                FileMappings mapped = FileMappings.named(image.path());
                LOG.info("a template, {} clones and {} cold arrows of a 95 MiB binary: {} mappings of {}, Rss {} KiB, "
                        + "Pss {} KiB, Private_Dirty {} KiB; each: {}", CLONES, COLD_ARROWS, mapped.count(),
                        image.path().getFileName(), mapped.rssKiB(), mapped.pssKiB(), mapped.privateDirtyKiB(), mapped.all());
                assertThat(mapped.all()).as("every mapping is of the one cache file (its path and inode)")
                        .allMatch(FileMappings.Mapping::ofFile);
                // the template's, each clone's and each cold arrow's, and the template's prepared VMs' (its pool)
                assertThat(mapped.count()).as("mappings of the image")
                        .isBetween(1 + CLONES + COLD_ARROWS, 1 + CLONES + COLD_ARROWS + VmTemplate.DEFAULT_POOL_SIZE);
                List<FileMappings.Mapping> readers = mapped.all().stream()
                        .filter(m -> m.rssKiB() >= (BootTestSupport.BIG_BUSYBOX_BYTES - MIB) / 1024).toList();
                assertThat(readers).as("each clone and cold arrow read the whole program through its own mapping of it")
                        .hasSize(CLONES + COLD_ARROWS);
                assertThat(mapped.all()).as("no VM holds a private page of the image")
                        .allMatch(m -> m.privateDirtyKiB() == 0);
                long resident = readers.stream().mapToLong(FileMappings.Mapping::rssKiB).max().orElseThrow();
                assertThat(mapped.pssKiB()).as("its pages are resident once, however many VMs read them (KiB)")
                        .isBetween(resident - mapped.count(), image.length() / 1024);
            } finally {
                for (Running r : arrows) r.process().close();
            }
        }
        assertThat(sha256(image.path())).as("the image file after the clone's writes").isEqualTo(imageDigest);
    }
}
