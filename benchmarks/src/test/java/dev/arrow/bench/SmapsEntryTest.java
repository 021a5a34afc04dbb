package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SmapsEntryTest {
    private static final long KIB = 1024;

    /** As Linux 6.18 writes smaps: an anonymous mapping's header ends in a space, a named one pads to its name. */
    private static final String SMAPS = ""
            + "7fefc9200000-7fefc9a00000 rw-p 00000000 00:01 13720                      /memfd:arrow-kernel:vmlinux (deleted)\n"
            + "Size:               8192 kB\n"
            + "Rss:                4096 kB\n"
            + "Private_Dirty:      1024 kB\n"
            + "Anonymous:          1024 kB\n"
            + "THPeligible:           0\n"
            + "VmFlags: rd wr mr mw me \n"
            + "7efc00000000-7efc00021000 rw-p 00000000 00:00 0 \n"
            + "Size:                132 kB\n"
            + "Private_Dirty:       132 kB\n"
            + "VmFlags: rd wr mr mw me nr \n"
            + "7efc00021000-7efc04000000 ---p 00000000 00:00 0 \n"
            + "Size:              65404 kB\n"
            + "Private_Dirty:         0 kB\n"
            + "VmFlags: mr mw me nr \n"
            + "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
            + "Size:                  4 kB\n";

    @Test
    void readsTheHeaderOfEachMappingWithItsPathnameSpacesIncluded() {
        List<SmapsEntry> entries = SmapsEntry.parse(SMAPS);
        assertThat(entries).extracting(SmapsEntry::pathname)
                .containsExactly("/memfd:arrow-kernel:vmlinux (deleted)", "", "", "[vsyscall]");
        SmapsEntry kernel = entries.get(0);
        assertThat(kernel.start()).isEqualTo(0x7fefc9200000L);
        assertThat(kernel.end()).isEqualTo(0x7fefc9a00000L);
        assertThat(kernel.perms()).isEqualTo("rw-p");
        assertThat(kernel.anonymous()).isFalse();
        assertThat(entries.get(3).start()).as("an address above Long.MAX_VALUE").isEqualTo(0xffffffffff600000L);
        assertThat(entries.get(3).end()).isEqualTo(0xffffffffff601000L);
    }

    @Test
    void keepsEachMappingsKibCountersInBytesAndItsOwnVmFlags() {
        List<SmapsEntry> entries = SmapsEntry.parse(SMAPS);
        SmapsEntry kernel = entries.get(0);
        assertThat(kernel.counters().bytes()).as("in file order, THPeligible and VmFlags left out").containsExactly(
                Map.entry("Size", 8192 * KIB), Map.entry("Rss", 4096 * KIB), Map.entry("Private_Dirty", 1024 * KIB),
                Map.entry("Anonymous", 1024 * KIB));
        assertThat(kernel.vmFlags()).isEqualTo("rd wr mr mw me");
        assertThat(kernel.hasFlag("nr")).isFalse();
        assertThat(kernel.hasFlag("me")).isTrue();
        assertThat(kernel.hasFlag("m")).as("a whole flag only").isFalse();
        assertThat(entries.get(3).vmFlags()).as("no VmFlags line").isEmpty();
        assertThat(entries.get(3).bytes(ProcessMemory.PRIVATE_DIRTY)).as("a counter not reported").isZero();
    }

    @Test
    void anAnonymousMappingFollowedByItsReservedRestAreTwoEntries() {
        List<SmapsEntry> entries = SmapsEntry.parse(SMAPS);
        SmapsEntry usable = entries.get(1);
        SmapsEntry rest = entries.get(2);
        assertThat(usable.anonymous()).isTrue();
        assertThat(usable.perms()).isEqualTo("rw-p");
        assertThat(usable.bytes(ProcessMemory.PRIVATE_DIRTY)).isEqualTo(132 * KIB);
        assertThat(usable.hasFlag("nr")).isTrue();
        assertThat(rest.anonymous()).isTrue();
        assertThat(rest.perms()).isEqualTo("---p");
        assertThat(rest.start()).isEqualTo(usable.end());
        assertThat(rest.counters().bytes()).containsExactly(Map.entry("Size", 65404 * KIB),
                Map.entry("Private_Dirty", 0L));
        assertThat(rest.vmFlags()).isEqualTo("mr mw me nr");
    }

    @Test
    void linesBeforeTheFirstHeaderBelongToNoMapping() {
        assertThat(SmapsEntry.parse("Rss:  8 kB\n")).isEmpty();
        assertThat(SmapsEntry.parse("")).isEmpty();
        assertThat(SmapsEntry.parse("Rss:  8 kB\n" + SMAPS).get(0).bytes(ProcessMemory.RSS)).isEqualTo(4096 * KIB);
    }

    @Test
    void aCapturedFileHasEveryMappingAndItsCounters() throws Exception {
        Path smaps = Path.of(SmapsEntryTest.class.getResource("proc/after/smaps").toURI());
        List<SmapsEntry> entries = SmapsEntry.read(smaps);
        assertThat(entries).extracting(SmapsEntry::pathname).containsExactly("[heap]",
                "/memfd:arrow-template-ram (deleted)", "", "/memfd:arrow-kernel:vmlinux (deleted)", "",
                "/usr/lib/x86_64-linux-gnu/libc.so.6", "[stack]");
        assertThat(entries.get(0).counters().bytes()).hasSize(22).containsEntry("Private_Dirty", 1860 * KIB);
        assertThat(entries.get(0).vmFlags()).isEqualTo("rd wr mr mw me ac");
    }
}
