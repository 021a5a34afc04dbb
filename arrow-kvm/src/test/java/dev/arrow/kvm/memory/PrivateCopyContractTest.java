package dev.arrow.kvm.memory;

import java.util.List;

/**
 * A private copy of guest RAM keeps the guest memory contract, also once the shared memory it
 * was copied from is closed (tier 1).
 */
class PrivateCopyContractTest extends GuestMemoryContractTest {

    @Override
    GuestMemory create(List<MemoryRegion> regions) {
        try (MmapGuestMemory template = MmapGuestMemory.createShared(regions, "arrow-contract-test")) {
            return template.mapPrivateCopy();
        }
    }
}
