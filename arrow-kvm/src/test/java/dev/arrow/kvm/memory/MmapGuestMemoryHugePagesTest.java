package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.sys.OwnedFd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Guest RAM and transparent huge pages, read back from {@code /proc/self/smaps}: the {@code VmFlags}
 * of each mapping say {@code nh} (MADV_NOHUGEPAGE) or {@code hg} (MADV_HUGEPAGE), and
 * {@code THPeligible} whether the kernel would back it by huge pages. mmap and madvise need no
 * /dev/kvm: tier 1 (the tests for a host with THP and for one without skip each other).
 */
class MmapGuestMemoryHugePagesTest {
    private static final long RAM = 64L << 20;
    private static final Path THP_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    /** The VmFlags and THPeligible lines of the smaps entry of the mapping holding {@code address}. */
    record Entry(List<String> flags, String thpEligible) {
    }

    static Entry smapsEntry(long address) throws IOException {
        boolean inside = false;
        List<String> flags = null;
        String eligible = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                if (inside) {
                    break;
                }
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                inside = Long.parseUnsignedLong(range[0], 16) <= address && address < Long.parseUnsignedLong(range[1], 16);
            } else if (inside && line.startsWith("VmFlags:")) {
                flags = List.of(line.substring("VmFlags:".length()).trim().split(" +"));
            } else if (inside && line.startsWith("THPeligible:")) {
                eligible = line.substring("THPeligible:".length()).trim();
            }
        }
        assertThat(flags).as("smaps entry at 0x%x", address).isNotNull();
        return new Entry(flags, eligible);
    }

    private static long base(MmapGuestMemory m) {
        return m.hostRegions().get(0).hostAddress();
    }

    @Test
    void guestRamIsNeverBackedByHugePagesByDefault() throws IOException {
        assumeTrue(Files.exists(THP_MODE), "this host's kernel has no transparent huge pages");
        try (MmapGuestMemory ram = MmapGuestMemory.forRam(RAM)) {
            assertThat(ram.hugePages()).isFalse();
            Entry e = smapsEntry(base(ram));
            assertThat(e.flags()).contains("nh").doesNotContain("hg");
            assertThat(e.thpEligible()).isEqualTo("0");
        }
    }

    @Test
    void hugePagesAskedForAreAdvisedAndEligibleUnlessTheHostSaysNever() throws IOException {
        assumeTrue(Files.exists(THP_MODE), "this host's kernel has no transparent huge pages");
        try (MmapGuestMemory ram = MmapGuestMemory.forRam(RAM, true)) {
            Entry e = smapsEntry(base(ram));
            assertThat(e.flags()).contains("hg").doesNotContain("nh");
            boolean never = Files.readString(THP_MODE).contains("[never]");
            assertThat(e.thpEligible()).isEqualTo(never ? "0" : "1");
        }
    }

    @Test
    void theKernelImageMappedOverGuestRamAndTemplateCopiesCarryTheSameAdvice() throws IOException {
        assumeTrue(Files.exists(THP_MODE), "this host's kernel has no transparent huge pages");
        int fd = LibC.memfd_create("huge-pages-test", LibC.MFD_CLOEXEC);
        assertThat(fd).isNotNegative();
        try (OwnedFd file = new OwnedFd(fd, "huge-pages-test"); MmapGuestMemory ram = MmapGuestMemory.forRam(RAM)) {
            assertThat(LibC.ftruncate(fd, 4L << 20)).isZero();
            ram.mapCopyOnWrite(GuestAddress.of(16L << 20), 4L << 20, fd, 0);
            assertThat(smapsEntry(base(ram) + (16L << 20)).flags()).as("the overlay: a mapping of its own").contains("nh");
            assertThat(smapsEntry(base(ram) + (24L << 20)).flags()).as("the RAM after it").contains("nh");
        }
        try (MmapGuestMemory template = MmapGuestMemory.sharedForRam(RAM, "huge-pages-test", true);
             MmapGuestMemory copy = template.mapPrivateCopy()) {
            assertThat(smapsEntry(base(template)).flags()).contains("hg");
            assertThat(copy.hugePages()).isTrue();
            assertThat(smapsEntry(base(copy)).flags()).contains("hg");
        }
    }

    @Test
    void onAHostWithoutTransparentHugePagesTheAdviceIsDeclinedNotAnError() {
        assumeFalse(Files.exists(THP_MODE), "this host's kernel has transparent huge pages");
        try (NativeMapping m = NativeMapping.anonymous(RAM, "huge-pages-test")) {
            assertThat(m.adviseHugePages(false)).isFalse();
            assertThat(m.adviseHugePages(true)).isFalse();
        }
        try (MmapGuestMemory ram = MmapGuestMemory.forRam(RAM, true)) {
            ram.writeLong(GuestAddress.of(0x1000), 42);
            assertThat(ram.readLong(GuestAddress.of(0x1000))).isEqualTo(42);
        }
    }
}
