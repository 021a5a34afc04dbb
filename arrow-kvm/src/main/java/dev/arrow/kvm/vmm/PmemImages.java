package dev.arrow.kvm.vmm;

import dev.arrow.kvm.Vm;
import dev.arrow.kvm.device.IoBus;
import dev.arrow.kvm.device.ReadOnlyMemory;
import dev.arrow.kvm.memory.MmapGuestMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The read-only images one VM maps, one per {@link PmemPlacement}: each image file mapped read-only
 * and shared ({@link MmapGuestMemory#mapReadOnlyFile}) and registered with the VM as a read-only
 * memory slot at its placement's range. Every VM that maps the same file shares the host's
 * page-cache pages of it: one copy in the host for all of them, none in guest RAM. A template's
 * clones get {@link #views()} of the template's images: the same open files at the same ranges.
 *
 * <p>Owns the mappings. {@link #close()} unmaps them: after the VM is closed, and only once no vCPU
 * can run (the VM's resources are released after its vCPU loops have ended, {@link ReleaseGate}).
 */
final class PmemImages implements AutoCloseable {
    private final List<PmemPlacement> placements;
    private final List<MmapGuestMemory> mappings;

    private PmemImages(List<PmemPlacement> placements, List<MmapGuestMemory> mappings) {
        this.placements = List.copyOf(placements);
        this.mappings = List.copyOf(mappings);
    }

    /**
     * Opens and maps each placement's image file.
     *
     * @throws IllegalArgumentException if a file has become shorter than its image's length
     * @throws dev.arrow.kvm.KvmApiException if a file cannot be opened or mapped; what was mapped is unmapped
     */
    static PmemImages map(List<PmemPlacement> placements) {
        return new PmemImages(placements, mapEach(placements.size(),
                i -> MmapGuestMemory.mapReadOnlyFile(placements.get(i).image().file(), placements.get(i).region())));
    }

    /**
     * New mappings of the files these images have open, at the same ranges, for a clone's VM:
     * independent of these once made.
     *
     * @throws IllegalStateException if these images are closed
     */
    PmemImages views() {
        return new PmemImages(placements, mapEach(mappings.size(), i -> mappings.get(i).mapReadOnlyView()));
    }

    private static List<MmapGuestMemory> mapEach(int count, IntFunction<MmapGuestMemory> map) {
        List<MmapGuestMemory> made = new ArrayList<>(count);
        try {
            for (int i = 0; i < count; i++) {
                made.add(map.apply(i));
            }
        } catch (RuntimeException | Error e) {
            made.forEach(MmapGuestMemory::close);
            throw e;
        }
        return made;
    }

    /**
     * Registers each image as a read-only memory slot of {@code vm}.
     *
     * @throws dev.arrow.kvm.HostKvmUnusableException if KVM lacks read-only memory slots
     */
    void registerWith(Vm vm) {
        for (MmapGuestMemory m : mappings) {
            vm.registerMemory(m, true);
        }
    }

    /**
     * Places on {@code mmio} each image's {@link ReadOnlyMemory}, where the guest's writes to it arrive
     * (as MMIO exits of the read-only slot) and are refused; returns them in placement order.
     */
    List<ReadOnlyMemory> attachTo(IoBus mmio) {
        List<ReadOnlyMemory> devices = new ArrayList<>(mappings.size());
        for (int i = 0; i < mappings.size(); i++) {
            PmemPlacement p = placements.get(i);
            String name = "pmem image " + p.index() + " (" + p.image().file() + ")";
            ReadOnlyMemory device = new ReadOnlyMemory(name, mappings.get(i), p.region());
            mmio.register(name, p.region().start().value(), p.region().size(), device);
            devices.add(device);
        }
        return devices;
    }

    /** Where each image sits, in order. */
    List<PmemPlacement> placements() {
        return placements;
    }

    /** Unmaps every image (and closes the files opened by {@link #map}). Idempotent. */
    @Override
    public void close() {
        mappings.forEach(MmapGuestMemory::close);
    }

    @Override
    public String toString() {
        return "pmem images " + placements.stream().map(p -> p.region() + " " + p.image().file()).toList();
    }
}
