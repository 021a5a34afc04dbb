package dev.arrow.kvm.vmm;

import dev.arrow.kvm.memory.MemoryRegion;
import java.util.Objects;

/**
 * Where the guest finds one {@link PmemImage} of a {@link VmConfig}: its guest-physical range (what
 * the virtio-pmem device announces and the VMM maps read-only) and the virtio-mmio slot of its
 * device.
 *
 * <p>Linux names the devices {@code /dev/pmem0}, {@code /dev/pmem1}, ... in the order of
 * {@code index}: the slots' {@code virtio_mmio.device=} entries end the command line in slot order;
 * Linux registers one platform device per entry in that order at the device initcall level and probes
 * them synchronously in that order; each virtio-pmem probe creates its nvdimm region, whose id (the
 * N of {@code pmemN}) comes from a counter it takes right then ({@code memregion_alloc}). This holds
 * while the guest has no other nvdimm or CXL regions. The block devices themselves appear
 * asynchronously (libnvdimm registers namespaces from a work queue): wait for the node.
 *
 * @param index  0 for the first image of the config: the N of {@code /dev/pmemN}
 * @param image  the file and length
 * @param region the guest-physical range, {@code image.length()} bytes
 * @param slot   the virtio-mmio slot of the image's virtio-pmem device
 */
public record PmemPlacement(int index, PmemImage image, MemoryRegion region, VirtioSlot slot) {

    public PmemPlacement {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(slot, "slot");
        if (index < 0) {
            throw new IllegalArgumentException("negative pmem index " + index);
        }
        if (region.size() != image.length()) {
            throw new IllegalArgumentException("pmem range " + region + " does not have the image's length " + image.length());
        }
    }

    /** The block device Linux makes for this image: {@code /dev/pmem<index>}. */
    public String guestDevice() {
        return "/dev/pmem" + index;
    }
}
