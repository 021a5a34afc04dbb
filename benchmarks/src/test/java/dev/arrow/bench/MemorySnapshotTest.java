package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MemorySnapshotTest {
    /** The kinds an anonymous mapping (no pathname) can be; every other kind has a pathname. */
    private static final List<String> ANONYMOUS_KINDS = List.of(MappingKinds.MALLOC_ARENAS, MappingKinds.GUEST_RAM,
            MappingKinds.JIT_CODE, MappingKinds.OTHER_ANONYMOUS);

    @Test
    void theGroupsAndTheKindsOfThisProcessComeFromOneReadAndAgree() throws Exception {
        MemorySnapshot now = MemorySnapshot.read(MappingGroup.ARROW);
        long anonymousKinds = now.kinds().privateDirty().bytes().entrySet().stream()
                .filter(e -> ANONYMOUS_KINDS.contains(e.getKey()) || e.getKey().startsWith(MappingKinds.STACK_PREFIX))
                .mapToLong(Map.Entry::getValue).sum();
        assertThat(anonymousKinds).as("the anonymous group's Private_Dirty, by kind")
                .isEqualTo(now.memory().mapping(MappingGroup.ANONYMOUS.name()).get(ProcessMemory.PRIVATE_DIRTY)
                        .orElse(0))
                .isPositive();
        assertThat(now.memory().process().get(ProcessMemory.PSS).orElse(0)).isPositive();
        assertThat(now.memory().hostKernel().get(ProcessMemory.KERNEL_STACK)).isPresent();
    }

    @Test
    void theDifferenceAndTheShareApplyToBothTables() throws Exception {
        MemorySnapshot now = MemorySnapshot.read(MappingGroup.ARROW);
        MemorySnapshot negated = new MemorySnapshot(now.memory().minus(now.memory()).minus(now.memory()),
                now.kinds().minus(now.kinds()).minus(now.kinds()));
        MemorySnapshot half = now.minus(negated).dividedBy(2); // (now + now) / 2
        assertThat(half.memory().process()).isEqualTo(now.memory().process());
        assertThat(half.memory().mappings()).isEqualTo(now.memory().mappings());
        assertThat(half.kinds()).isEqualTo(now.kinds());
    }
}
