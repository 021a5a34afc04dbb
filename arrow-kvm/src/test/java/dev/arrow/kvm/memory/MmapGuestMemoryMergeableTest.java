package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.OwnedFd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link MmapGuestMemory#MERGEABLE_PROPERTY}: guest RAM, overlays included, is offered to the host's same-page merging
 * only when the JVM opts in (the mappings' {@code VmFlags} in /proc/self/smaps show {@code mg}; no /dev/kvm: tier 1).
 */
class MmapGuestMemoryMergeableTest {

    @AfterEach
    void clear() {
        System.clearProperty(MmapGuestMemory.MERGEABLE_PROPERTY);
    }

    @Test
    void guestRamIsMergeableOnlyWhenAskedForOverlaysIncluded() throws IOException {
        assumeTrue(Files.isDirectory(Path.of("/sys/kernel/mm/ksm")), "this host's kernel has no KSM (CONFIG_KSM)");
        try (MmapGuestMemory plain = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x20_0000)))) {
            assertThat(vmFlags(plain.hostRegions().get(0).hostAddress())).doesNotContain("mg");
        }
        System.setProperty(MmapGuestMemory.MERGEABLE_PROPERTY, "true");
        int fd = LibC.memfd_create("mergeable-test", LibC.MFD_CLOEXEC);
        assertThat(fd).isNotNegative();
        try (OwnedFd file = new OwnedFd(fd, "mergeable-test");
             MmapGuestMemory merged = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 0x20_0000)))) {
            assertThat(LibC.ftruncate(fd, 0x1_0000)).isZero();
            long base = merged.hostRegions().get(0).hostAddress();
            merged.mapCopyOnWrite(GuestAddress.of(0x10_0000), 0x1_0000, fd, 0);
            assertThat(vmFlags(base)).as("the RAM mapping").contains("mg");
            assertThat(vmFlags(base + 0x10_0000)).as("the overlay, a mapping of its own").contains("mg");
            assertThat(vmFlags(base + 0x11_0000)).as("the RAM after it").contains("mg");
        }
    }

    /** The VmFlags of the mapping holding {@code address}, from /proc/self/smaps, split into their two-letter names. */
    private static List<String> vmFlags(long address) throws IOException {
        boolean inside = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = address >= start && address < end;
            } else if (inside && line.startsWith("VmFlags:")) {
                return List.of(line.substring("VmFlags:".length()).trim().split("\\s+"));
            }
        }
        throw new AssertionError("no mapping holds 0x" + Long.toHexString(address));
    }
}
