package dev.arrow.kvm.x86;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * Writer of the zero page (struct boot_params, 4 KiB) for the 64-bit Linux boot protocol.
 *
 * <p>Start from {@link #forVmlinux()} (a fresh setup header, as for an ELF kernel that has none)
 * or {@link #fromSetupHeader(byte[])} (the header copied from a bzImage), then set the command
 * line, the initrd and the e820 map, and {@link #writeTo} guest memory. type_of_loader is always
 * set (0xFF): Linux ignores the initrd when it is zero. Offsets are those of
 * Documentation/arch/x86/boot.rst and zero-page.rst (arch/x86/include/uapi/asm/bootparam.h).
 * Not thread-safe; one instance per boot.
 */
public final class BootParams {

    public static final int SIZE = 0x1000;

    // struct boot_params (zero-page.rst)
    public static final int EXT_RAMDISK_IMAGE = 0x0c0;
    public static final int EXT_RAMDISK_SIZE = 0x0c4;
    public static final int EXT_CMD_LINE_PTR = 0x0c8;
    public static final int E820_ENTRIES = 0x1e8;
    public static final int SENTINEL = 0x1ef;
    public static final int E820_TABLE = 0x2d0;
    public static final int E820_ENTRY_SIZE = 20;

    // struct setup_header inside boot_params (boot.rst)
    public static final int SETUP_HEADER = 0x1f1;
    /** First byte after the space struct boot_params reserves for the setup header. */
    public static final int SETUP_HEADER_LIMIT = 0x290;
    public static final int SETUP_SECTS = 0x1f1;
    public static final int BOOT_FLAG = 0x1fe;
    public static final int JUMP = 0x200;
    public static final int HEADER = 0x202;
    public static final int VERSION = 0x206;
    public static final int TYPE_OF_LOADER = 0x210;
    public static final int LOADFLAGS = 0x211;
    public static final int CODE32_START = 0x214;
    public static final int RAMDISK_IMAGE = 0x218;
    public static final int RAMDISK_SIZE = 0x21c;
    public static final int HEAP_END_PTR = 0x224;
    public static final int CMD_LINE_PTR = 0x228;
    public static final int INITRD_ADDR_MAX = 0x22c;
    public static final int KERNEL_ALIGNMENT = 0x230;
    public static final int RELOCATABLE_KERNEL = 0x234;
    public static final int XLOADFLAGS = 0x236;
    public static final int CMDLINE_SIZE = 0x238;
    public static final int PREF_ADDRESS = 0x258;
    public static final int INIT_SIZE = 0x260;

    /** "HdrS" read as a little-endian 32-bit value. */
    public static final int HDR_MAGIC = 0x53726448;
    public static final int BOOT_FLAG_MAGIC = 0xaa55;
    /** type_of_loader 0xFF: "undefined" boot loader (no assigned id). */
    public static final int LOADER_TYPE_UNDEFINED = 0xff;
    /** loadflags bit 0: protected-mode code loaded at 0x100000. */
    public static final int LOADED_HIGH = 1;
    /** loadflags bit 7: heap_end_ptr is valid. */
    public static final int CAN_USE_HEAP = 1 << 7;
    /** xloadflags bit 0: the kernel has the 64-bit entry point at load address + 0x200. */
    public static final int XLF_KERNEL_64 = 1;
    /** xloadflags bit 1: kernel, boot_params, command line and ramdisk may live above 4 GiB. */
    public static final int XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;
    /** heap_end_ptr: end of a 0xE000-byte setup heap/stack, minus 0x200 (boot.rst). Unused by the
     *  64-bit entry path; written because CAN_USE_HEAP promises a valid value. */
    public static final int DEFAULT_HEAP_END_PTR = 0xe000 - 0x200;
    /** initrd_addr_max of every x86-64 kernel since 2.6.x; assumed for a vmlinux. */
    public static final long DEFAULT_INITRD_ADDR_MAX = 0x7fff_ffffL;
    /** Default for a vmlinux: CONFIG_PHYSICAL_ALIGN's default, 2 MiB. */
    public static final int DEFAULT_KERNEL_ALIGNMENT = 0x20_0000;

    private final byte[] page = new byte[SIZE];
    private final ByteBuffer buf = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
    private final boolean fromKernelHeader;

    private BootParams(boolean fromKernelHeader) {
        this.fromKernelHeader = fromKernelHeader;
    }

    /**
     * A zero page for an ELF vmlinux, which carries no setup header: the header fields the
     * kernel reads are filled in (magic, boot flag, initrd_addr_max, kernel_alignment,
     * cmdline_size of {@link Layout#CMDLINE_MAX_SIZE} - 1).
     */
    public static BootParams forVmlinux() {
        BootParams p = new BootParams(false);
        p.buf.putShort(BOOT_FLAG, (short) BOOT_FLAG_MAGIC);
        p.buf.putInt(HEADER, HDR_MAGIC);
        p.buf.putInt(INITRD_ADDR_MAX, (int) DEFAULT_INITRD_ADDR_MAX);
        p.buf.putInt(KERNEL_ALIGNMENT, DEFAULT_KERNEL_ALIGNMENT);
        p.buf.putInt(CMDLINE_SIZE, Layout.CMDLINE_MAX_SIZE - 1);
        p.setLoaderFields();
        return p;
    }

    /**
     * A zero page starting from a bzImage's setup header: {@code setupHeader} holds the bytes of
     * the image from offset 0x1F1 to the end of its header (as {@code KernelLoader} returns
     * them); at most up to 0x290 are used.
     *
     * @throws IllegalArgumentException if the bytes do not carry the "HdrS" magic
     */
    public static BootParams fromSetupHeader(byte[] setupHeader) {
        int length = Math.min(setupHeader.length, SETUP_HEADER_LIMIT - SETUP_HEADER);
        if (HEADER + 4 > SETUP_HEADER + length) {
            throw new IllegalArgumentException("setup header too short: " + setupHeader.length + " bytes");
        }
        BootParams p = new BootParams(true);
        System.arraycopy(setupHeader, 0, p.page, SETUP_HEADER, length);
        if (p.buf.getInt(HEADER) != HDR_MAGIC) {
            throw new IllegalArgumentException("setup header has no \"HdrS\" magic");
        }
        p.setLoaderFields();
        return p;
    }

    private void setLoaderFields() {
        page[TYPE_OF_LOADER] = (byte) LOADER_TYPE_UNDEFINED;
        page[LOADFLAGS] = (byte) (page[LOADFLAGS] | LOADED_HIGH | CAN_USE_HEAP);
        buf.putShort(HEAP_END_PTR, (short) DEFAULT_HEAP_END_PTR);
    }

    /** Boot protocol version from the header (0 for a vmlinux). */
    public int version() {
        return Short.toUnsignedInt(buf.getShort(VERSION));
    }

    /** Longest command line the kernel accepts, without the terminating NUL. */
    public long cmdlineSize() {
        long size = Integer.toUnsignedLong(buf.getInt(CMDLINE_SIZE));
        // Protocol 2.05 and earlier had no cmdline_size field and a 255-byte limit.
        return fromKernelHeader && version() < 0x0206 ? 255 : size;
    }

    /** Highest address the initrd may occupy (inclusive). */
    public long initrdAddrMax() {
        long max = Integer.toUnsignedLong(buf.getInt(INITRD_ADDR_MAX));
        return max == 0 ? 0x37ff_ffffL : max; // protocol < 2.03: field absent
    }

    /**
     * Points the kernel at its command line of {@code length} bytes (not counting the NUL) at
     * {@code address}.
     *
     * @throws BootSetupException if the command line is longer than the kernel accepts
     */
    public BootParams commandLine(GuestAddress address, long length) {
        if (length < 0) {
            throw new IllegalArgumentException("command line length is negative: " + length);
        }
        if (length > cmdlineSize()) {
            throw new BootSetupException("kernel command line is " + length + " bytes, the kernel accepts at most "
                    + cmdlineSize() + ": shorten the command line");
        }
        buf.putInt(CMD_LINE_PTR, (int) address.value());
        buf.putInt(EXT_CMD_LINE_PTR, (int) (address.value() >>> 32));
        return this;
    }

    /** Tells the kernel where the initrd is (ramdisk_image/size and their ext_ high halves). */
    public BootParams ramdisk(GuestAddress address, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("initrd size must be positive, got " + size);
        }
        buf.putInt(RAMDISK_IMAGE, (int) address.value());
        buf.putInt(EXT_RAMDISK_IMAGE, (int) (address.value() >>> 32));
        buf.putInt(RAMDISK_SIZE, (int) size);
        buf.putInt(EXT_RAMDISK_SIZE, (int) (size >>> 32));
        return this;
    }

    /** Writes the e820 table and its entry count. */
    public BootParams e820(E820Map map) {
        List<E820Map.Entry> entries = map.entries();
        Arrays.fill(page, E820_TABLE, E820_TABLE + E820Map.MAX_ENTRIES * E820_ENTRY_SIZE, (byte) 0);
        for (int i = 0; i < entries.size(); i++) {
            E820Map.Entry e = entries.get(i);
            int at = E820_TABLE + i * E820_ENTRY_SIZE;
            buf.putLong(at, e.address());
            buf.putLong(at + 8, e.size());
            buf.putInt(at + 16, e.type().code());
        }
        page[E820_ENTRIES] = (byte) entries.size();
        return this;
    }

    /** A copy of the 4 KiB page. */
    public byte[] toByteArray() {
        return page.clone();
    }

    /** Copies the page to guest memory, normally at {@link Layout#ZERO_PAGE_ADDRESS}. */
    public void writeTo(GuestMemory memory, GuestAddress address) {
        memory.write(address, page);
    }
}
