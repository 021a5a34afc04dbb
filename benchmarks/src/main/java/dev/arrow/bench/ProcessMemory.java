package dev.arrow.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * This process's memory as the Linux kernel accounts it, at one moment or as the difference of two:
 * take a snapshot, start N things, take another, and {@code after.minus(before).dividedBy(N)} is
 * what each one costs.
 *
 * <ul>
 *   <li>{@link #process()}: {@code /proc/self/smaps_rollup}, every mapping summed. {@value #RSS}
 *       counts a page once per mapping of it, so N VMs mapping one shared page count it N times;
 *       {@value #PSS} divides each page by the number of mappings of it, and {@value #PRIVATE_DIRTY}
 *       counts only written pages no other mapping has: the honest figures of what one more thing costs.
 *       A page of a shared file mapped once only (one VM alive) counts as private too.</li>
 *   <li>{@link #mappings()}: {@code /proc/self/smaps}, summed per {@link MappingGroup} (the guest
 *       kernel image's mappings, whose {@value #ANONYMOUS} pages are each VM's private copies of
 *       the image; template RAM; anonymous memory).</li>
 *   <li>{@link #hostKernel()}: from {@code /proc/meminfo}, memory the host kernel holds for
 *       everyone ({@link #HOST_KERNEL_COUNTERS}: thread stacks, unreclaimable slab, page tables,
 *       KVM's page tables of its guests, vmalloc). Host-wide, not per process: its difference is
 *       what this process added only on an otherwise quiet host (the lab).</li>
 * </ul>
 *
 * @param process    the counters of {@code smaps_rollup}
 * @param mappings   the counters of each group's mappings, by {@link MappingGroup#name()}, in the order the groups were given
 * @param hostKernel the {@link #HOST_KERNEL_COUNTERS} of {@code /proc/meminfo} this kernel has
 */
public record ProcessMemory(MemoryCounters process, Map<String, MemoryCounters> mappings, MemoryCounters hostKernel) {
    public static final String RSS = "Rss";
    public static final String PSS = "Pss";
    public static final String PRIVATE_DIRTY = "Private_Dirty";
    public static final String ANONYMOUS = "Anonymous";
    public static final String ANON_HUGE_PAGES = "AnonHugePages";
    /** meminfo: kernel stacks of all threads (16 KiB each on x86-64: the VMM's threads have one each). */
    public static final String KERNEL_STACK = "KernelStack";
    /** meminfo: slab memory that cannot be reclaimed (KVM's vCPU and MMU structures among it). */
    public static final String SLAB_UNRECLAIMABLE = "SUnreclaim";
    /** meminfo: page tables of processes (the host's own, mapping guest RAM into the VMM). */
    public static final String PAGE_TABLES = "PageTables";
    /** meminfo: secondary page tables (KVM's EPT/NPT of its guests); Linux 6.0 and later. */
    public static final String SECONDARY_PAGE_TABLES = "SecPageTables";
    /** meminfo: vmalloc'd memory (KVM's per-VM {@code struct kvm} among it). */
    public static final String VMALLOC_USED = "VmallocUsed";
    /** What {@link #hostKernel()} reads of /proc/meminfo. */
    public static final List<String> HOST_KERNEL_COUNTERS = List.of(KERNEL_STACK, SLAB_UNRECLAIMABLE, PAGE_TABLES,
            SECONDARY_PAGE_TABLES, VMALLOC_USED);

    public ProcessMemory {
        mappings = Collections.unmodifiableMap(new LinkedHashMap<>(mappings));
    }

    /** A snapshot of this process now, its mappings summed by {@code groups}. */
    public static ProcessMemory read(List<MappingGroup> groups) throws IOException {
        return read(Path.of("/proc/self"), Path.of("/proc/meminfo"), groups);
    }

    /**
     * A snapshot from {@code smaps_rollup} and {@code smaps} in {@code processDir} (a
     * {@code /proc/<pid>} directory, or a copy of its files) and the {@code meminfo} file.
     */
    public static ProcessMemory read(Path processDir, Path meminfo, List<MappingGroup> groups) throws IOException {
        return read(processDir, meminfo, groups, SmapsEntry.read(processDir.resolve("smaps")));
    }

    /**
     * A snapshot from {@code smaps_rollup} in {@code processDir} and the {@code meminfo} file, with the mappings
     * of {@code smaps} read already ({@link MemorySnapshot}: the same read gives the {@link MappingKinds}).
     */
    static ProcessMemory read(Path processDir, Path meminfo, List<MappingGroup> groups, List<SmapsEntry> smaps)
            throws IOException {
        return parse(text(processDir.resolve("smaps_rollup")), smaps, text(meminfo), groups);
    }

    /** The text of a {@code /proc} file (or a copy of one). */
    static String text(Path file) throws IOException {
        // /proc files report size 0; readAllBytes reads on to the end all the same
        return new String(Files.readAllBytes(file), StandardCharsets.US_ASCII);
    }

    /** A snapshot from the texts of {@code smaps_rollup} and {@code meminfo} and the mappings of {@code smaps}. */
    public static ProcessMemory parse(String smapsRollup, List<SmapsEntry> smaps, String meminfo,
                                      List<MappingGroup> groups) {
        return new ProcessMemory(MemoryCounters.parse(smapsRollup), sumMappings(smaps, groups),
                MemoryCounters.parse(meminfo).only(HOST_KERNEL_COUNTERS));
    }

    /** The counters of the mappings, summed per group (a mapping may be in several). */
    private static Map<String, MemoryCounters> sumMappings(List<SmapsEntry> smaps, List<MappingGroup> groups) {
        Map<String, MemoryCounters> m = new LinkedHashMap<>();
        for (MappingGroup group : groups) {
            Map<String, Long> sums = new LinkedHashMap<>();
            for (SmapsEntry e : smaps) {
                if (group.pathname().test(e.pathname())) {
                    e.counters().bytes().forEach((name, bytes) -> sums.merge(name, bytes, Long::sum));
                }
            }
            m.put(group.name(), new MemoryCounters(sums));
        }
        return m;
    }

    /** This minus {@code earlier}: what was added in between (see {@link MemoryCounters#minus}). */
    public ProcessMemory minus(ProcessMemory earlier) {
        Map<String, MemoryCounters> m = new LinkedHashMap<>();
        mappings.forEach((name, c) -> m.put(name, c.minus(earlier.mapping(name))));
        return new ProcessMemory(process.minus(earlier.process), m, hostKernel.minus(earlier.hostKernel));
    }

    /** Every counter divided by {@code count}: one thing's share of a difference. */
    public ProcessMemory dividedBy(int count) {
        Map<String, MemoryCounters> m = new LinkedHashMap<>();
        mappings.forEach((name, c) -> m.put(name, c.dividedBy(count)));
        return new ProcessMemory(process.dividedBy(count), m, hostKernel.dividedBy(count));
    }

    /** The sum of the {@link #hostKernel()} counters this kernel has: the host kernel's share. */
    public long hostKernelBytes() {
        return hostKernel.bytes().values().stream().mapToLong(Long::longValue).sum();
    }

    /** The counters of group {@code name}; none if it was not read. */
    public MemoryCounters mapping(String name) {
        return mappings.getOrDefault(name, MemoryCounters.none());
    }

    /**
     * As JSON, in bytes under the kernel's field names:
     * {@code {"process":{"Rss":..,"Pss":..},"mappings":{"kernel image":{..}},"hostKernel":{"KernelStack":..}}}.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("process", process.bytes());
        Map<String, Object> groups = new LinkedHashMap<>();
        mappings.forEach((name, c) -> groups.put(name, c.bytes()));
        m.put("mappings", groups);
        m.put("hostKernel", hostKernel.bytes());
        return m;
    }
}
