package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Against files captured on Linux 6.18 (resources {@code proc/}): a process before and after it mapped
 * what one arrow maps (64 MiB of anonymous guest RAM with {@code MADV_NOHUGEPAGE}, 3 MiB of it
 * written; an 8 MiB {@code /memfd:arrow-kernel:vmlinux} mapped privately over it, 4 MiB read and
 * 1 MiB written; a 32 MiB shared {@code /memfd:arrow-template-ram}, 2 MiB written), and one
 * process with two such VMs sharing one kernel file ({@code two-vms}). The smaps files keep the
 * mappings of interest plus the heap, a library and the stack; the rollup and meminfo are whole.
 */
class ProcessMemoryTest {
    private static final long KIB = 1024;

    private static Path sample(String name) throws URISyntaxException {
        return Path.of(ProcessMemoryTest.class.getResource("proc/" + name).toURI());
    }

    private static ProcessMemory read(String name) throws Exception {
        Path dir = sample(name);
        return ProcessMemory.read(dir, dir.resolve("meminfo"), MappingGroup.ARROW);
    }

    @Test
    void readsTheRollupTheHostKernelCountersAndTheGroupsInBytes() throws Exception {
        ProcessMemory after = read("after");
        assertThat(after.process().get(ProcessMemory.PSS)).hasValue(22138 * KIB);
        assertThat(after.process().get(ProcessMemory.PRIVATE_DIRTY)).hasValue(16700 * KIB);
        assertThat(after.process().get(ProcessMemory.RSS)).hasValue(23584 * KIB);
        assertThat(after.hostKernel().bytes()).containsExactly(Map.entry("KernelStack", 1600 * KIB),
                Map.entry("SUnreclaim", 34948 * KIB), Map.entry("PageTables", 1756 * KIB),
                Map.entry("SecPageTables", 0L), Map.entry("VmallocUsed", 14380 * KIB));
        assertThat(after.mappings()).containsOnlyKeys("kernel image", "template RAM", "anonymous");
        MemoryCounters kernel = after.mapping("kernel image");
        assertThat(kernel.get(ProcessMemory.RSS)).hasValue(4096 * KIB);
        assertThat(kernel.get(ProcessMemory.ANONYMOUS)).as("the pages the guest wrote: its own copies").hasValue(1024 * KIB);
        assertThat(after.mapping("template RAM").get(ProcessMemory.PRIVATE_DIRTY)).hasValue(2048 * KIB);
        // the two pieces of guest RAM around the kernel: 3 MiB written, the rest untouched; the heap
        // and the stack are named ([heap], [stack]) and so not in the group
        assertThat(after.mapping("anonymous").get(ProcessMemory.PRIVATE_DIRTY)).hasValue(3072 * KIB);
        assertThat(after.mapping("anonymous").get("Size")).hasValue(64 * 1024 * KIB - 8 * 1024 * KIB);
    }

    @Test
    void theDifferenceOfTwoSnapshotsIsWhatWasAddedAndDividesPerThing() throws Exception {
        ProcessMemory before = read("before");
        ProcessMemory added = read("after").minus(before);
        assertThat(added.process().get(ProcessMemory.PSS)).hasValue((22138 - 12822) * KIB);
        assertThat(added.process().get(ProcessMemory.PRIVATE_DIRTY)).hasValue((16700 - 7384) * KIB);
        assertThat(added.hostKernel().get(ProcessMemory.KERNEL_STACK)).hasValue(-4 * KIB);
        assertThat(added.hostKernel().get(ProcessMemory.PAGE_TABLES)).hasValue(-72 * KIB);
        assertThat(added.hostKernelBytes()).isEqualTo(-76 * KIB);
        assertThat(before.mapping("kernel image").bytes()).as("no such mapping before").isEmpty();
        assertThat(added.mapping("kernel image").get(ProcessMemory.ANONYMOUS)).hasValue(1024 * KIB);

        ProcessMemory perThing = added.dividedBy(4);
        assertThat(perThing.process().get(ProcessMemory.PSS)).hasValue((22138 - 12822) * KIB / 4);
        assertThat(perThing.mapping("kernel image").get(ProcessMemory.ANONYMOUS)).hasValue(256 * KIB);
        assertThat(perThing.hostKernel().get(ProcessMemory.KERNEL_STACK)).hasValue(-1 * KIB);
        assertThatThrownBy(() -> added.dividedBy(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("positive count");
    }

    @Test
    void aKernelImageMappedByTwoVmsCountsOnceInPssAndNotAtAllInPrivateDirty() throws Exception {
        MemoryCounters kernel = read("two-vms").mapping("kernel image");
        // per VM: 4 MiB read, 1 MiB of it written (its own copy), 3 MiB shared with the other VM
        assertThat(kernel.get(ProcessMemory.RSS)).as("RSS counts the shared pages twice").hasValue(2 * 4096 * KIB);
        assertThat(kernel.get(ProcessMemory.PSS)).as("Pss once").hasValue(2 * (1024 + 3072 / 2) * KIB);
        assertThat(kernel.get(ProcessMemory.PRIVATE_DIRTY)).as("only the copies are private").hasValue(2 * 1024 * KIB);
        assertThat(kernel.get(ProcessMemory.ANONYMOUS)).hasValue(2 * 1024 * KIB);
    }

    @Test
    void aKernelWithoutACounterLeavesItOutInsteadOfReportingZero() throws Exception {
        Path dir = sample("after");
        String meminfo61 = Files.readString(dir.resolve("meminfo")).replaceAll("(?m)^SecPageTables:.*\n", "");
        ProcessMemory m = ProcessMemory.parse(Files.readString(dir.resolve("smaps_rollup")),
                SmapsEntry.parse(Files.readString(dir.resolve("smaps"))), meminfo61,
                List.of(MappingGroup.KERNEL_IMAGE));
        assertThat(m.hostKernel().get(ProcessMemory.SECONDARY_PAGE_TABLES)).isEmpty();
        assertThat(m.hostKernel().get(ProcessMemory.KERNEL_STACK)).hasValue(1600 * KIB);
        assertThat(m.mappings()).containsOnlyKeys("kernel image");
    }

    @Test
    void headerFlagAndNonKibLinesAreNotCounters() {
        MemoryCounters c = MemoryCounters.parse("7f00-7f10 rw-p 00000000 00:00 0 \nRss:  8 kB\nTHPeligible:    0\n"
                + "VmFlags: rd wr mr mw me nr nh \nHugePages_Total:       0\nRss:  4 kB\n");
        assertThat(c.bytes()).containsExactly(Map.entry("Rss", 12 * KIB));
    }

    @Test
    void theJsonFormKeepsTheKernelsNamesInBytes() throws Exception {
        JsonNode json = Json.MAPPER.valueToTree(read("after").minus(read("before")).toJson());
        assertThat(json.fieldNames()).toIterable().containsExactly("process", "mappings", "hostKernel");
        assertThat(json.path("process").path("Pss").asLong()).isEqualTo((22138 - 12822) * KIB);
        assertThat(json.path("mappings").path("kernel image").path("Anonymous").asLong()).isEqualTo(1024 * KIB);
        assertThat(json.path("hostKernel").path("KernelStack").asLong()).isEqualTo(-4 * KIB);
    }

    @Test
    void readsThisProcessOnLinux() throws IOException {
        ProcessMemory now = ProcessMemory.read(MappingGroup.ARROW);
        assertThat(now.process().get(ProcessMemory.PSS)).isPresent();
        assertThat(now.process().get(ProcessMemory.PSS).getAsLong()).isPositive();
        assertThat(now.hostKernel().get(ProcessMemory.KERNEL_STACK)).isPresent();
        assertThat(now.mapping("anonymous").get(ProcessMemory.RSS)).isPresent();
    }
}
