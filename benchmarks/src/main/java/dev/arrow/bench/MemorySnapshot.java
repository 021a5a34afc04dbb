package dev.arrow.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * This process's memory at one moment as both tables of a memory benchmark's step: the counters per
 * {@link MappingGroup} and Private_Dirty by kind of mapping, both from one read of {@code /proc/self/smaps}
 * (two reads a moment apart would disagree by whatever was mapped or written in between).
 *
 * @param memory the counters of {@code smaps_rollup}, of the groups' mappings and of {@code meminfo}
 * @param kinds  Private_Dirty by kind of mapping, from the same mappings
 */
public record MemorySnapshot(ProcessMemory memory, MappingKinds kinds) {
    /** This process now, its mappings summed by {@code groups}. */
    public static MemorySnapshot read(List<MappingGroup> groups) throws IOException {
        Path self = Path.of("/proc/self");
        // the stack pointers first: waiting threads keep theirs, and their stacks stay mapped
        Map<Long, String> stackPointers = MappingKinds.stackPointers(self.resolve("task"));
        List<SmapsEntry> smaps = SmapsEntry.read(self.resolve("smaps"));
        return new MemorySnapshot(ProcessMemory.read(self, Path.of("/proc/meminfo"), groups, smaps),
                MappingKinds.of(smaps, stackPointers));
    }

    /** This minus {@code earlier}, both tables: what was added in between. */
    public MemorySnapshot minus(MemorySnapshot earlier) {
        return new MemorySnapshot(memory.minus(earlier.memory), kinds.minus(earlier.kinds));
    }

    /** Both tables divided by {@code count}: one thing's share of a difference. */
    public MemorySnapshot dividedBy(int count) {
        return new MemorySnapshot(memory.dividedBy(count), kinds.dividedBy(count));
    }
}
