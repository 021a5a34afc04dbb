package dev.arrow.kvm.memory;

import java.util.List;

/** Guest RAM in a memory file, mapped shared, keeps the guest memory contract (tier 1). */
class SharedGuestMemoryContractTest extends GuestMemoryContractTest {

    @Override
    GuestMemory create(List<MemoryRegion> regions) {
        return MmapGuestMemory.createShared(regions, "arrow-contract-test");
    }
}
