package dev.arrow.kvm.loader;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.x86.BootParams;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Loads a {@code bzImage}: its protected-mode part at {@link Layout#KERNEL_LOAD_ADDRESS}, entered
 * at its 64-bit entry (load address + {@value #BZIMAGE_64BIT_ENTRY_OFFSET}). The setup header
 * (boot protocol 2.06 or newer, 64-bit entry, room for init_size in guest RAM) is checked first and
 * handed on in the {@link LoadedKernel} for the zero page.
 */
public final class BzImageLoader implements KernelLoader {

    /** Oldest boot protocol accepted for a bzImage (cmdline_size appeared in 2.06). */
    public static final int MIN_BOOT_PROTOCOL = 0x0206;
    /** The 64-bit entry point's offset from the protected-mode load address. */
    public static final long BZIMAGE_64BIT_ENTRY_OFFSET = 0x200;

    @Override
    public boolean recognises(ByteBuffer head) {
        return head.limit() >= BootParams.HEADER + 4 && head.getInt(BootParams.HEADER) == BootParams.HDR_MAGIC;
    }

    @Override
    public LoadedKernel load(KernelImage image, ByteBuffer head, GuestMemory memory) throws IOException {
        long size = image.size();
        int headerEnd = 0x202 + Byte.toUnsignedInt(head.get(0x201));
        need(image, head, BootParams.VERSION + 2, "the boot protocol version");
        int version = u16(head, BootParams.VERSION);
        if (version < MIN_BOOT_PROTOCOL) {
            throw image.fail("boot protocol %s is too old: %s or newer is needed", protocol(version), protocol(MIN_BOOT_PROTOCOL));
        }
        // Fields up to xloadflags/cmdline_size must be present (2.12+ for the 64-bit entry).
        int needed = version >= 0x020a ? BootParams.INIT_SIZE + 4 : BootParams.CMDLINE_SIZE + 4;
        if (headerEnd < needed) {
            throw image.fail("setup header ends at 0x%x but protocol %s needs fields up to 0x%x", headerEnd, protocol(version), needed);
        }
        need(image, head, headerEnd, "the setup header");
        if (u16(head, BootParams.BOOT_FLAG) != BootParams.BOOT_FLAG_MAGIC) {
            throw image.fail("boot flag at 0x1fe is 0x%04x, expected 0xaa55", u16(head, BootParams.BOOT_FLAG));
        }
        if ((head.get(BootParams.LOADFLAGS) & BootParams.LOADED_HIGH) == 0) {
            throw image.fail("loadflags lack LOADED_HIGH: a zImage that loads low, not a bzImage");
        }
        if (version < 0x020c || (u16(head, BootParams.XLOADFLAGS) & BootParams.XLF_KERNEL_64) == 0) {
            throw image.fail("kernel has no 64-bit entry point (xloadflags XLF_KERNEL_64 is clear, protocol %s)", protocol(version));
        }
        int setupSects = Byte.toUnsignedInt(head.get(BootParams.SETUP_SECTS));
        if (setupSects == 0) {
            setupSects = 4;
        }
        long setupSize = (setupSects + 1L) * 512;
        if (size <= setupSize) {
            throw image.fail("truncated bzImage: the real-mode setup takes %d bytes, file has %d, no protected-mode kernel follows",
                    setupSize, size);
        }
        long kernelSize = size - setupSize;
        long load = Layout.KERNEL_LOAD_ADDRESS;
        if (!memory.isValid(GuestAddress.of(load), kernelSize)) {
            throw image.fail("protected-mode kernel of %d bytes at 0x%x does not fit in guest RAM (%d bytes): give the VM more memory",
                    kernelSize, load, memory.size());
        }
        long end = load + kernelSize;
        if (version >= 0x020a) {
            long initSize = Integer.toUnsignedLong(head.getInt(BootParams.INIT_SIZE));
            long runtimeStart = runtimeStart(image, head, load);
            if (!memory.isValid(GuestAddress.of(runtimeStart), Math.max(initSize, 1))) {
                throw image.fail("kernel needs %d bytes at 0x%x while it boots (init_size), beyond guest RAM (%d bytes): "
                        + "give the VM more memory", initSize, runtimeStart, memory.size());
            }
            end = Math.max(end, runtimeStart + initSize);
        }
        byte[] setupHeader = new byte[Math.min(headerEnd, BootParams.SETUP_HEADER_LIMIT) - BootParams.SETUP_HEADER];
        head.get(BootParams.SETUP_HEADER, setupHeader);

        image.copyTo(memory, load, setupSize, kernelSize);
        return new LoadedKernel(LoadedKernel.Kind.BZIMAGE, load + BZIMAGE_64BIT_ENTRY_OFFSET, load, end, setupHeader);
    }

    /** boot.rst: relocatable kernels run at align_up(load, kernel_alignment), others at pref_address. */
    private static long runtimeStart(KernelImage image, ByteBuffer head, long load) {
        boolean relocatable = head.get(BootParams.RELOCATABLE_KERNEL) != 0;
        if (relocatable) {
            long alignment = Integer.toUnsignedLong(head.getInt(BootParams.KERNEL_ALIGNMENT));
            if (alignment == 0 || Long.bitCount(alignment) != 1) {
                throw image.fail("kernel_alignment 0x%x is not a power of two", alignment);
            }
            return Layout.alignUp(load, alignment);
        }
        long pref = head.getLong(BootParams.PREF_ADDRESS);
        if (pref <= 0 || pref >= Layout.MMIO_HOLE_START) {
            throw image.fail("non-relocatable kernel wants to run at 0x%s (pref_address), outside low RAM", Long.toHexString(pref));
        }
        return pref;
    }

    private static void need(KernelImage image, ByteBuffer head, int bytes, String what) {
        if (image.size() < bytes || head.limit() < bytes) {
            throw image.fail("truncated bzImage: %s needs %d bytes, file has %d", what, bytes, image.size());
        }
    }

    private static int u16(ByteBuffer head, int offset) {
        return Short.toUnsignedInt(head.getShort(offset));
    }

    private static String protocol(int version) {
        return String.format("%d.%02d", version >>> 8, version & 0xff);
    }
}
