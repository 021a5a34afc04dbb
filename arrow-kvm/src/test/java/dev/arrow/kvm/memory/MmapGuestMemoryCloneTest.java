package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Guest RAM in a memory file and its private, copy-on-write copies: what a template and its
 * clones rely on. mmap and madvise need no /dev/kvm: tier 1.
 */
class MmapGuestMemoryCloneTest {
    static final String NAME = "arrow-clone-test";
    /** Two regions, so that the second lies at a non-zero file offset. */
    static final List<MemoryRegion> REGIONS = List.of(MemoryRegion.of(0, 0x10_0000), MemoryRegion.of(0x40_0000, 0x4_0000));
    static final GuestAddress LOW = GuestAddress.of(0x1234);
    static final GuestAddress HIGH = GuestAddress.of(0x40_2000);

    private static MmapGuestMemory template() {
        MmapGuestMemory t = MmapGuestMemory.createShared(REGIONS, NAME);
        t.writeLong(LOW, 0x1111_1111_1111_1111L);
        t.writeLong(HIGH, 0x2222_2222_2222_2222L);
        return t;
    }

    @Test
    void aCopyReadsWhatTheTemplateWroteBeforeIt() {
        try (MmapGuestMemory t = template(); MmapGuestMemory copy = t.mapPrivateCopy()) {
            assertThat(copy.isPrivateCopy()).isTrue();
            assertThat(copy.regions()).isEqualTo(t.regions());
            assertThat(copy.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
            assertThat(copy.readLong(HIGH)).isEqualTo(0x2222_2222_2222_2222L);
            assertThat(copy.readLong(GuestAddress.of(0x40_3000))).as("never written").isZero();
        }
    }

    @Test
    void aDiscardedPageOfACopyReadsTheTemplatesAgainAndTheTemplateKeepsItsPages() {
        try (MmapGuestMemory t = template(); MmapGuestMemory copy = t.mapPrivateCopy()) {
            copy.writeLong(LOW, 0xAAAAL);
            copy.discardPages(GuestAddress.of(0x1000), 0x1000);
            assertThat(copy.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
            t.discardPages(GuestAddress.of(0x40_2000), 0x1000); // shared: the pages are the file's
            assertThat(t.readLong(HIGH)).isEqualTo(0x2222_2222_2222_2222L);
            assertThat(copy.readLong(HIGH)).isEqualTo(0x2222_2222_2222_2222L);
        }
    }

    @Test
    void memoryInAMemoryFileTakesNoCopyOnWriteOverlay() {
        try (MmapGuestMemory t = template(); MmapGuestMemory copy = t.mapPrivateCopy();
             MmapGuestMemory anonymous = MmapGuestMemory.create(REGIONS)) {
            assertThat(List.of(t.isInMemoryFile(), copy.isInMemoryFile(), anonymous.isInMemoryFile()))
                    .containsExactly(true, true, false);
            for (MmapGuestMemory m : List.of(t, copy)) {
                assertThatThrownBy(() -> m.mapCopyOnWrite(GuestAddress.of(0), 0x1000, 0, 0))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("takes no overlay");
            }
            assertThat(t.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
        }
    }

    @Test
    void aWriteInOneCopyIsInvisibleToTheTemplateAndToAnotherCopy() {
        try (MmapGuestMemory t = template(); MmapGuestMemory a = t.mapPrivateCopy(); MmapGuestMemory b = t.mapPrivateCopy()) {
            a.writeLong(LOW, 0xAAAAL);
            a.writeLong(HIGH, 0xAAAAL);
            b.writeLong(HIGH, 0xBBBBL);

            assertThat(a.readLong(LOW)).isEqualTo(0xAAAAL);
            assertThat(a.readLong(HIGH)).isEqualTo(0xAAAAL);
            assertThat(b.readLong(LOW)).as("b has not written LOW: the template's page").isEqualTo(0x1111_1111_1111_1111L);
            assertThat(b.readLong(HIGH)).isEqualTo(0xBBBBL);
            assertThat(t.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
            assertThat(t.readLong(HIGH)).isEqualTo(0x2222_2222_2222_2222L);
            try (MmapGuestMemory c = t.mapPrivateCopy()) {
                assertThat(c.readLong(LOW)).as("a later copy starts from the template").isEqualTo(0x1111_1111_1111_1111L);
            }
        }
    }

    @Test
    void resetDropsTheCopysWritesAndBringsBackTheTemplatesPages() {
        try (MmapGuestMemory t = template(); MmapGuestMemory copy = t.mapPrivateCopy()) {
            copy.writeLong(LOW, 0xAAAAL);
            copy.writeLong(GuestAddress.of(0x8_0000), 0xCCCCL);
            assertThat(copy.residentBytes()).isPositive();

            copy.reset();

            assertThat(copy.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
            assertThat(copy.readLong(HIGH)).isEqualTo(0x2222_2222_2222_2222L);
            assertThat(copy.readLong(GuestAddress.of(0x8_0000))).isZero();
            copy.writeLong(LOW, 0xDDDDL); // a reset copy is as writable as a new one
            assertThat(copy.readLong(LOW)).isEqualTo(0xDDDDL);
            assertThat(t.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
        }
    }

    @Test
    void resetCopiesTheTemplateOverTheCopysOwnPagesAndKeepsThemMapped() throws IOException {
        try (MmapGuestMemory t = template(); MmapGuestMemory copy = t.mapPrivateCopy()) {
            long low = copy.hostRegions().get(0).hostAddress();
            copy.readLong(GuestAddress.of(0x2_0000)); // read only: stays the file's page
            copy.writeLong(LOW, 0xAAAAL);
            copy.writeLong(GuestAddress.of(0x8_0000), 0xCCCCL);
            copy.writeLong(GuestAddress.of(0x8_1000), 0xCCCCL);
            List<OwnPages.Run> written = List.of(new OwnPages.Run(0x1000, 0x1000, false),
                    new OwnPages.Run(0x8_0000, 0x2000, false));
            assertThat(OwnPages.in(low, 0x10_0000)).isEqualTo(written);

            copy.reset();

            assertThat(copy.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
            assertThat(copy.readLong(GuestAddress.of(0x8_0000))).isZero();
            assertThat(copy.readLong(GuestAddress.of(0x8_1000))).isZero();
            assertThat(OwnPages.in(low, 0x10_0000)).as("the copy's pages stay where they were, with the template's bytes")
                    .isEqualTo(written);
            copy.writeLong(LOW, 0xDDDDL);
            assertThat(copy.readLong(LOW)).isEqualTo(0xDDDDL);
            assertThat(t.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
        }
    }

    @Test
    void closingTheTemplateLeavesItsCopiesIntact() {
        MmapGuestMemory t = template();
        try (MmapGuestMemory copy = t.mapPrivateCopy()) {
            copy.writeLong(HIGH, 0xAAAAL);
            t.close();
            assertThat(t.isClosed()).isTrue();
            assertThat(copy.readLong(LOW)).isEqualTo(0x1111_1111_1111_1111L);
            assertThat(copy.readLong(HIGH)).isEqualTo(0xAAAAL);
            copy.reset();
            assertThat(copy.readLong(HIGH)).as("the file lives on behind the copy").isEqualTo(0x2222_2222_2222_2222L);
            assertThatThrownBy(t::mapPrivateCopy).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        }
    }

    @Test
    void onlySharedMemoryIsCopiedAndOnlyCopiesAreReset() {
        try (MmapGuestMemory anonymous = MmapGuestMemory.create(REGIONS); MmapGuestMemory t = template()) {
            assertThatThrownBy(anonymous::mapPrivateCopy).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("createShared");
            assertThatThrownBy(anonymous::reset).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(t::reset).isInstanceOf(IllegalStateException.class);
            try (MmapGuestMemory copy = t.mapPrivateCopy()) {
                assertThatThrownBy(copy::mapPrivateCopy).isInstanceOf(IllegalStateException.class);
            }
        }
    }

    @Test
    void aThousandTemplatesAndCopiesLeaveNoFileDescriptorOrMappingBehind() {
        try (MmapGuestMemory t = template(); MmapGuestMemory copy = t.mapPrivateCopy()) {
            // the counts below see our files (the kernel may merge adjacent mappings into one line)
            assertThat(ourFiles(Path.of("/proc/self/maps"))).as("both regions, mapped twice").isBetween(2L, 4L);
            assertThat(ourFileDescriptors()).as("the template's file").isEqualTo(1);
        }
        long fdsBefore = openFds();
        long mapsBefore = mapLines();
        for (int i = 0; i < 1000; i++) {
            MmapGuestMemory t = template();
            MmapGuestMemory copy = t.mapPrivateCopy();
            copy.writeLong(LOW, i);
            t.close();
            assertThat(copy.readLong(HIGH)).isEqualTo(0x2222_2222_2222_2222L);
            copy.close();
        }
        assertThat(ourFiles(Path.of("/proc/self/maps"))).as("mappings of our memory files").isZero();
        assertThat(ourFileDescriptors()).as("descriptors of our memory files").isZero();
        // the JVM opens files and maps memory of its own meanwhile (class files, thread stacks,
        // code cache), a few at most; a leak would show a thousand or more
        assertThat(openFds()).isLessThan(fdsBefore + 20);
        assertThat(mapLines()).isLessThan(mapsBefore + 50);
    }

    private static long openFds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long mapLines() {
        try (Stream<String> s = Files.lines(Path.of("/proc/self/maps"))) {
            return s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Lines of {@code file} that name one of our memory files ({@code /memfd:NAME (deleted)}). */
    private static long ourFiles(Path file) {
        try (Stream<String> s = Files.lines(file)) {
            return s.filter(l -> l.contains("memfd:" + NAME)).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long ourFileDescriptors() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().contains("memfd:" + NAME);
                } catch (IOException e) {
                    return false; // closed since listed (the listing's own descriptor)
                }
            }).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
