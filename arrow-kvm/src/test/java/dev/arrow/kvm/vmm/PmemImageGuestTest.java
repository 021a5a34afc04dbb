package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.Asm;
import dev.arrow.kvm.virtio.VirtioMmioRegisters;
import dev.arrow.kvm.virtio.pmem.VirtioPmem;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.kvm.x86.PageTables;
import dev.arrow.testing.KvmTest;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 2: tiny guests built by {@link VmBuilder} with two pmem images, which they reach through a
 * page-directory entry of their own (the boot page tables map only the first 4 GiB, the images sit
 * above). They read image bytes and send them to the serial port; they write into an image, which
 * KVM's read-only slot turns into an MMIO exit that the VMM refuses; they go on. The host file must
 * be byte-for-byte unchanged. A template's clone reaches the same images at the same addresses.
 */
@KvmTest
class PmemImageGuestTest {
    static final long MEMORY = 64 * Layout.MiB;
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** Guest-virtual addresses the guests map the two images at: GiB 1, whose page directory is the second. */
    static final long IMAGE0_VA = Layout.GiB;
    static final long IMAGE1_VA = Layout.GiB + Layout.PMEM_ALIGNMENT;
    static final long PD_OF_GIB_1 = Layout.PD_ADDRESS + 0x1000;
    static final long WRITE_OFFSET = 16;

    @TempDir
    Path dir;

    /** A file of {@code size} pseudo-random bytes. */
    private Path image(String name, int size, long seed) throws Exception {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return Files.write(dir.resolve(name), bytes);
    }

    /** Maps 2 MiB pages at IMAGE0_VA and IMAGE1_VA to the two images' ranges, then reloads CR3. */
    private static Asm mapImages(Asm a, List<PmemPlacement> placements) {
        long flags = PageTables.PAGE_PRESENT | PageTables.PAGE_WRITABLE | PageTables.PAGE_SIZE_2M;
        a.movRbx(PD_OF_GIB_1).movRax(placements.get(0).region().start().value() | flags).movToRbxPtrRax();
        a.movRbx(PD_OF_GIB_1 + 8).movRax(placements.get(1).region().start().value() | flags).movToRbxPtrRax();
        return a.raw(new byte[] {0x0F, 0x20, (byte) 0xD8, 0x0F, 0x22, (byte) 0xD8}); // mov rax, cr3; mov cr3, rax
    }

    private static Asm echoByte(Asm a, long address) {
        return a.movRax(address).movAlFromRaxPtr().movDx(Layout.SERIAL_PORT).outDxAl();
    }

    private static Asm writeImage(Asm a) {
        return a.movRbx(IMAGE0_VA + WRITE_OFFSET).movEax(0xDEADBEEF).movToRbxPtrEax();
    }

    private VmConfig.Builder config(byte[] code, Path first, Path second, ByteArrayOutputStream serial) throws Exception {
        return VmConfig.builder().kernel(TinyKernel.write(dir, code)).memoryBytes(MEMORY).serialOutput(serial)
                .virtioDevice(new VirtioRng())
                .pmemImage(first, Layout.PMEM_ALIGNMENT).pmemImage(second, Layout.PMEM_ALIGNMENT);
    }

    @Test
    void theGuestReadsTheImagesAndItsWriteIsRefusedWhileTheFileStaysUnchanged() throws Exception {
        Path first = image("first.img", (int) (2 * Layout.PMEM_ALIGNMENT), 1); // longer than what the guest sees
        Path second = image("second.img", (int) Layout.PMEM_ALIGNMENT, 2);
        byte[] firstBefore = Files.readAllBytes(first);
        byte[] secondBefore = Files.readAllBytes(second);
        assertThat(firstBefore[(int) WRITE_OFFSET]).as("the write would show").isNotEqualTo((byte) 0xEF);
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        List<PmemPlacement> placements = config(Asm.longMode().hlt().bytes(), first, second, serial).build().pmemPlacements();
        long[] offsets = {0, 4095, 4096, Layout.PMEM_ALIGNMENT - 1};

        Asm a = mapImages(Asm.longMode(), placements);
        for (long offset : offsets) {
            echoByte(a, IMAGE0_VA + offset);
        }
        for (long offset : offsets) {
            echoByte(a, IMAGE1_VA + offset);
        }
        writeImage(a);
        echoByte(a, IMAGE0_VA + WRITE_OFFSET);
        // the pmem device's DeviceID, read at its slot: the guest's view of the device is there too
        a.movRbx(placements.get(0).slot().base() + VirtioMmioRegisters.DEVICE_ID).movEaxFromRbxPtr().outDxAl();
        a.movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT).spin();

        VmConfig config = config(a.bytes(), first, second, serial).build();
        try (RunningVm vm = VmBuilder.start(config)) {
            VmOutcome outcome = vm.awaitExit(TIMEOUT).orElseThrow();
            assertThat(outcome).as(outcome.describe()).isInstanceOf(VmOutcome.Reset.class);
            assertThat(vm.refusedImageWrites()).isEqualTo(1);
        }
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (long offset : offsets) {
            expected.write(firstBefore[(int) offset]);
        }
        for (long offset : offsets) {
            expected.write(secondBefore[(int) offset]);
        }
        expected.write(firstBefore[(int) WRITE_OFFSET]);
        expected.write(VirtioPmem.DEVICE_TYPE);
        assertThat(serial.toByteArray()).as("image bytes, the byte written to unchanged, then the device id")
                .isEqualTo(expected.toByteArray());
        assertThat(Files.readAllBytes(first)).as("the host file is unchanged").isEqualTo(firstBefore);
        assertThat(Files.readAllBytes(second)).isEqualTo(secondBefore);
    }

    @Test
    void aCloneReachesTheTemplatesImagesAtTheSameAddressesAndCannotWriteThem() throws Exception {
        Path first = image("first.img", (int) Layout.PMEM_ALIGNMENT, 3);
        Path second = image("second.img", (int) Layout.PMEM_ALIGNMENT, 4);
        byte[] firstBefore = Files.readAllBytes(first);
        assertThat(firstBefore[(int) WRITE_OFFSET]).as("the write would show").isNotEqualTo((byte) 0xEF);
        ByteArrayOutputStream templateSerial = new ByteArrayOutputStream();
        List<PmemPlacement> placements = config(Asm.longMode().hlt().bytes(), first, second, templateSerial).build()
                .pmemPlacements();
        Asm a = mapImages(Asm.longMode(), placements);
        int loop = a.here();
        writeImage(a);
        echoByte(a, IMAGE0_VA + WRITE_OFFSET);
        a.jmp(loop);

        RunningVm vm = VmBuilder.start(config(a.bytes(), first, second, templateSerial).templateable(true).build());
        VmTemplate template;
        try {
            VmTemplateTest.await("template serial bytes", vm::serialOutputBytes, 100);
            template = vm.freeze(TIMEOUT);
        } catch (RuntimeException | Error | InterruptedException e) {
            vm.close();
            throw e;
        }
        ByteArrayOutputStream cloneSerial = new ByteArrayOutputStream();
        try (template) {
            assertThat(template.virtioDeviceStates()).as("only the configured device: the VMM restores the pmem devices")
                    .containsExactly(new VirtioRng.State(VirtioRng.State.NONE));
            try (RunningVm clone = template.clone(new VmClone(cloneSerial, line -> { }, (slot, state) ->
                    VirtioRng.restore((VirtioRng.State) state)))) {
                VmTemplateTest.await("clone serial bytes", clone::serialOutputBytes, 100);
                assertThat(clone.refusedImageWrites()).isPositive();
            }
        }
        assertThat(templateSerial.toByteArray()).containsOnly(firstBefore[(int) WRITE_OFFSET]);
        assertThat(cloneSerial.toByteArray()).as("the clone reads the same image at the same address")
                .containsOnly(firstBefore[(int) WRITE_OFFSET]);
        assertThat(Files.readAllBytes(first)).as("the host file is unchanged").isEqualTo(firstBefore);
    }
}
