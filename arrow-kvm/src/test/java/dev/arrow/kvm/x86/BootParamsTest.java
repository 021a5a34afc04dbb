package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * Offsets are checked against the literal numbers of Documentation/arch/x86/boot.rst and
 * zero-page.rst (Linux 6.1), not against our constants.
 */
class BootParamsTest {

    private static ByteBuffer page(BootParams p) {
        return ByteBuffer.wrap(p.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void vmlinuxZeroPageHasTheMagicsAndLoaderFields() {
        ByteBuffer b = page(BootParams.forVmlinux());
        assertThat(b.capacity()).isEqualTo(4096);
        assertThat(b.getShort(0x1fe) & 0xffff).isEqualTo(0xaa55); // boot_flag
        assertThat(new String(b.array(), 0x202, 4, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("HdrS");
        assertThat(b.get(0x210) & 0xff).isEqualTo(0xff); // type_of_loader
        assertThat(b.get(0x211) & 0x01).isNotZero(); // loadflags LOADED_HIGH
        assertThat(b.get(0x211) & 0x80).isNotZero(); // loadflags CAN_USE_HEAP
        assertThat(b.getShort(0x224) & 0xffff).isEqualTo(0xe000 - 0x200); // heap_end_ptr
        assertThat(b.getInt(0x22c)).isEqualTo(0x7fffffff); // initrd_addr_max
        assertThat(b.getInt(0x230)).isEqualTo(0x200000); // kernel_alignment
        assertThat(b.getInt(0x238)).isEqualTo(2047); // cmdline_size
        assertThat(b.get(0x1ef)).as("sentinel must be zero").isZero();
    }

    @Test
    void commandLinePointerGoesToCmdLinePtrAndItsHighHalf() {
        ByteBuffer low = page(BootParams.forVmlinux().commandLine(GuestAddress.of(0x20000), 100));
        assertThat(low.getInt(0x228)).isEqualTo(0x20000);
        assertThat(low.getInt(0x0c8)).isZero();
        ByteBuffer high = page(BootParams.forVmlinux().commandLine(GuestAddress.of(0x1_2345_6000L), 100));
        assertThat(high.getInt(0x228)).isEqualTo(0x2345_6000);
        assertThat(high.getInt(0x0c8)).isEqualTo(1); // ext_cmd_line_ptr
    }

    @Test
    void commandLineLongerThanTheKernelAcceptsIsRejected() {
        BootParams p = BootParams.forVmlinux();
        p.commandLine(GuestAddress.of(0x20000), 2047);
        assertThatThrownBy(() -> p.commandLine(GuestAddress.of(0x20000), 2048))
                .isInstanceOf(BootSetupException.class)
                .hasMessageContaining("2048 bytes")
                .hasMessageContaining("at most 2047");
    }

    @Test
    void ramdiskFieldsIncludeTheExtHalves() {
        ByteBuffer b = page(BootParams.forVmlinux().ramdisk(GuestAddress.of(0x1_0000_2000L), 0x1_0000_0010L));
        assertThat(b.getInt(0x218)).isEqualTo(0x2000); // ramdisk_image
        assertThat(b.getInt(0x0c0)).isEqualTo(1); // ext_ramdisk_image
        assertThat(b.getInt(0x21c)).isEqualTo(0x10); // ramdisk_size
        assertThat(b.getInt(0x0c4)).isEqualTo(1); // ext_ramdisk_size
        assertThatThrownBy(() -> BootParams.forVmlinux().ramdisk(GuestAddress.of(0x1000), 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void e820TableIsWrittenAt0x2d0WithCountAt0x1e8() {
        E820Map map = E820Map.forRam(6 * Layout.GiB);
        ByteBuffer b = page(BootParams.forVmlinux().e820(map));
        assertThat(b.get(0x1e8)).isEqualTo((byte) 4);
        for (int i = 0; i < 4; i++) {
            int at = 0x2d0 + 20 * i; // struct boot_e820_entry { u64 addr; u64 size; u32 type; } packed
            E820Map.Entry e = map.entries().get(i);
            assertThat(b.getLong(at)).isEqualTo(e.address());
            assertThat(b.getLong(at + 8)).isEqualTo(e.size());
            assertThat(b.getInt(at + 16)).isEqualTo(e.type().code());
        }
        assertThat(b.getLong(0x2d0 + 20 * 4)).isZero();
    }

    @Test
    void maximalE820TableEndsBeforeTheEddArea() {
        E820Map.Builder builder = E820Map.builder();
        for (int i = 0; i < 128; i++) {
            builder.add(i * 0x2000L, 0x1000, E820Map.Type.RAM);
        }
        ByteBuffer b = page(BootParams.forVmlinux().e820(builder.build()));
        assertThat(b.get(0x1e8) & 0xff).isEqualTo(128);
        assertThat(b.getLong(0x2d0 + 20 * 127)).isEqualTo(127 * 0x2000L);
        assertThat(0x2d0 + 20 * 128).isEqualTo(0xcd0); // zero-page.rst: e820_table is 0x2d0/0xa00
    }

    @Test
    void setupHeaderFromABzImageIsCopiedAndLoaderFieldsSet() {
        byte[] header = fakeSetupHeader(0x020f, 255, 0x37ffffff);
        ByteBuffer b = page(BootParams.fromSetupHeader(header));
        assertThat(b.get(0x1f1)).isEqualTo((byte) 27); // setup_sects copied
        assertThat(b.getShort(0x206) & 0xffff).isEqualTo(0x020f);
        assertThat(b.get(0x210) & 0xff).isEqualTo(0xff);
        assertThat(b.get(0x211) & 0x81).isEqualTo(0x81);
        assertThat(b.get(0x211) & 0x20).as("other loadflags kept").isNotZero();
        BootParams p = BootParams.fromSetupHeader(header);
        assertThat(p.version()).isEqualTo(0x020f);
        assertThat(p.cmdlineSize()).isEqualTo(255);
        assertThat(p.initrdAddrMax()).isEqualTo(0x37ffffffL);
        assertThatThrownBy(() -> p.commandLine(GuestAddress.of(0x20000), 256)).isInstanceOf(BootSetupException.class);
    }

    @Test
    void setupHeaderBytesBeyond0x290AreNotCopied() {
        byte[] header = new byte[0x300 - 0x1f1];
        java.util.Arrays.fill(header, (byte) 0x5a);
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(0x202 - 0x1f1, BootParams.HDR_MAGIC);
        ByteBuffer b = page(BootParams.fromSetupHeader(header));
        assertThat(b.get(0x28f)).isEqualTo((byte) 0x5a);
        assertThat(b.get(0x290)).isZero(); // edd_mbr_sig_buffer untouched
    }

    @Test
    void headerWithoutMagicIsRefused() {
        assertThatThrownBy(() -> BootParams.fromSetupHeader(new byte[0x80])).hasMessageContaining("HdrS");
        assertThatThrownBy(() -> BootParams.fromSetupHeader(new byte[4])).hasMessageContaining("too short");
    }

    @Test
    void oldProtocolsGetTheirImplicitLimits() {
        BootParams p = BootParams.fromSetupHeader(fakeSetupHeader(0x0205, 4096, 0));
        assertThat(p.cmdlineSize()).isEqualTo(255);
        assertThat(p.initrdAddrMax()).isEqualTo(0x37ffffffL);
    }

    @Test
    void writeToCopiesThePageIntoGuestMemory() {
        HeapGuestMemory memory = HeapGuestMemory.ofSize(Layout.MIN_RAM_SIZE);
        BootParams p = BootParams.forVmlinux().commandLine(GuestAddress.of(Layout.CMDLINE_ADDRESS), 10);
        p.writeTo(memory, GuestAddress.of(Layout.ZERO_PAGE_ADDRESS));
        assertThat(memory.read(GuestAddress.of(Layout.ZERO_PAGE_ADDRESS), 4096)).isEqualTo(p.toByteArray());
        assertThat(memory.readInt(GuestAddress.of(Layout.ZERO_PAGE_ADDRESS + 0x228))).isEqualTo((int) Layout.CMDLINE_ADDRESS);
    }

    /** The bytes from 0x1F1 of a bzImage-like header. */
    static byte[] fakeSetupHeader(int version, int cmdlineSize, int initrdAddrMax) {
        byte[] h = new byte[0x268 - 0x1f1];
        ByteBuffer b = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        int base = 0x1f1;
        b.put(0x1f1 - base, (byte) 27);
        b.putShort(0x1fe - base, (short) 0xaa55);
        b.put(0x200 - base, (byte) 0xeb);
        b.put(0x201 - base, (byte) (0x268 - 0x202));
        b.putInt(0x202 - base, BootParams.HDR_MAGIC);
        b.putShort(0x206 - base, (short) version);
        b.put(0x211 - base, (byte) (0x01 | 0x20));
        b.putInt(0x22c - base, initrdAddrMax);
        b.putInt(0x238 - base, cmdlineSize);
        return h;
    }
}
