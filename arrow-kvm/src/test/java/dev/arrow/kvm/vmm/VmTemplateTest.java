package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.Asm;
import dev.arrow.kvm.device.TokenBucket;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.VirtioMmioRegisters;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.testing.KvmTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 2: a tiny guest built by {@link VmBuilder} with a virtio-rng device counts in its RAM and
 * writes each count, then the device ID its virtio slot reads, to the serial port: 1, 4, 2, 4,
 * 3, 4, ... (bytes). It is frozen mid-run into a {@link VmTemplate}; each clone's serial output
 * must continue that sequence exactly where the template's stopped, which it can only do from
 * the template's registers and RAM, with its own RAM (another clone's counting would make it skip)
 * and its virtio device in the same slot. {@link VmTemplatePoolTest} covers the pool, recycling and leaks.
 */
@KvmTest
class VmTemplateTest {
    static final long MEMORY = 64 * Layout.MiB;
    static final long COUNTER = 0x30_0000;
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static final int VIRTIO_RNG_ID = 4;

    @TempDir
    Path dir;
    final List<VirtioDeviceState> restoredStates = new CopyOnWriteArrayList<>();
    final List<VirtioSlot> restoredSlots = new CopyOnWriteArrayList<>();

    /** Forever: increment the u32 at COUNTER, write its low byte to the serial port, then the low byte of the DeviceID of virtio slot 0. */
    static Asm countingGuest() {
        Asm a = Asm.longMode();
        int loop = a.here();
        return a.movRbx(COUNTER).movEaxFromRbxPtr()
                .raw(new byte[] {(byte) 0xFF, (byte) 0xC0})   // inc eax
                .movToRbxPtrEax()
                .movDx(Layout.SERIAL_PORT).outDxAl()
                .movRbx(VirtioSlot.of(0).base() + VirtioMmioRegisters.DEVICE_ID).movEaxFromRbxPtr()
                .outDxAl()
                .jmp(loop);
    }

    private VmConfig.Builder config(OutputStream serial) throws IOException {
        return VmConfig.builder().kernel(TinyKernel.write(dir, countingGuest().bytes())).memoryBytes(MEMORY)
                .serialOutput(serial).virtioDevice(new VirtioRng());
    }

    private VmClone cloneWith(OutputStream serial) {
        return new VmClone(serial, line -> { }, (slot, state) -> {
            restoredSlots.add(slot);
            restoredStates.add(state);
            return VirtioRng.restore((VirtioRng.State) state, new SecureRandom(), new TokenBucket(1 << 20, 1 << 16),
                    VirtioRng.Timer.SHARED);
        });
    }

    /** Checks that {@code output} is 1, 4, 2, 4, 3, 4, ... (mod 256); returns the last count in it. */
    static long assertCounts(byte[] output) {
        for (int i = 0; i < output.length; i++) {
            int expected = i % 2 == 0 ? (i / 2 + 1) & 0xFF : VIRTIO_RNG_ID;
            if ((output[i] & 0xFF) != expected) {
                throw new AssertionError("serial byte " + i + " of " + output.length + " is " + (output[i] & 0xFF)
                        + ", the count sequence has " + expected + " there");
            }
        }
        return (output.length + 1) / 2;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = new byte[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    static void await(String what, LongSupplier value, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (value.getAsLong() < atLeast) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": " + value.getAsLong() + " within " + TIMEOUT.toSeconds()
                        + " s, expected at least " + atLeast);
            }
            Thread.sleep(5);
        }
    }

    static long vmThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("arrow-vm")).count();
    }

    @Test
    void clonesContinueFromTheFrozenPointEachWithItsOwnRamAndOutliveTheTemplate() throws Exception {
        ByteArrayOutputStream templateSerial = new ByteArrayOutputStream();
        RunningVm vm = VmBuilder.start(config(templateSerial).templateable(true).build());
        VmTemplate template;
        try {
            await("template serial bytes", vm::serialOutputBytes, 400);
            template = vm.freeze(TIMEOUT);
        } catch (RuntimeException | Error | InterruptedException e) {
            vm.close();
            throw e;
        }
        ByteArrayOutputStream serialA = new ByteArrayOutputStream();
        ByteArrayOutputStream serialB = new ByteArrayOutputStream();
        RunningVm a = null;
        RunningVm b = null;
        try {
            assertThat(vm.awaitExit(Duration.ZERO)).get().isInstanceOf(VmOutcome.Stopped.class);
            byte[] frozen = templateSerial.toByteArray();
            long frozenCount = assertCounts(frozen);
            assertThat(template.vcpuStates()).hasSize(1);
            assertThat(template.virtioDeviceStates()).containsExactly(new VirtioRng.State(VirtioRng.State.NONE));

            a = template.clone(cloneWith(serialA));
            b = template.clone(cloneWith(serialB));
            await("clone A serial bytes", a::serialOutputBytes, 400);
            await("clone B serial bytes", b::serialOutputBytes, 400);
            assertThat(templateSerial.size()).as("the frozen guest writes no more").isEqualTo(frozen.length);
            try (MmapGuestMemory templateRam = template.privateCopyOfRam()) {
                assertThat(templateRam.readInt(GuestAddress.of(COUNTER)) & 0xFFFF_FFFFL)
                        .as("the template's RAM after the clones counted on").isEqualTo(frozenCount);
            }

            template.close();
            long aBefore = a.serialOutputBytes();
            long bBefore = b.serialOutputBytes();
            await("clone A serial bytes after the template closed", a::serialOutputBytes, aBefore + 402);
            await("clone B serial bytes after the template closed", b::serialOutputBytes, bBefore + 402);
            assertThat(a.isAlive()).isTrue();
            assertThat(b.isAlive()).isTrue();
            a.close();
            b.close();

            long lastA = assertCounts(concat(frozen, serialA.toByteArray()));
            long lastB = assertCounts(concat(frozen, serialB.toByteArray()));
            assertThat(lastA).isGreaterThan(frozenCount + 400);
            assertThat(lastB).isGreaterThan(frozenCount + 400);
            assertThat(restoredSlots).containsExactly(VirtioSlot.of(0), VirtioSlot.of(0));
            assertThat(restoredStates).containsExactly(new VirtioRng.State(VirtioRng.State.NONE),
                    new VirtioRng.State(VirtioRng.State.NONE));
            assertThatThrownBy(() -> template.clone(cloneWith(OutputStream.nullOutputStream())))
                    .as("a closed template").isInstanceOf(IllegalStateException.class);
        } finally {
            template.close();
            if (a != null) {
                a.close();
            }
            if (b != null) {
                b.close();
            }
        }
    }

    @Test
    void aGuestWithAnApplicationProcessorWaitingForItsStartupFreezesAndItsCloneCountsOn() throws Exception {
        ByteArrayOutputStream templateSerial = new ByteArrayOutputStream();
        RunningVm vm = VmBuilder.start(config(templateSerial).vcpuCount(2).templateable(true).build());
        VmTemplate template;
        try {
            await("template serial bytes", vm::serialOutputBytes, 100);
            template = vm.freeze(TIMEOUT);
        } catch (RuntimeException | Error | InterruptedException e) {
            vm.close();
            throw e;
        }
        ByteArrayOutputStream cloneSerial = new ByteArrayOutputStream();
        try (template; RunningVm clone = template.clone(cloneWith(cloneSerial))) {
            assertThat(template.vcpuStates()).hasSize(2);
            await("clone serial bytes", clone::serialOutputBytes, 102); // 51 passes of 2 bytes: more than the 50 asserted below
            assertThat(clone.vcpuStates()).containsExactly(VcpuRunner.State.RUNNING, VcpuRunner.State.RUNNING);
            clone.close();
            long frozenCount = assertCounts(templateSerial.toByteArray());
            assertThat(assertCounts(concat(templateSerial.toByteArray(), cloneSerial.toByteArray())))
                    .isGreaterThan(frozenCount + 50);
        }
    }

    @Test
    void aGuestBuiltWithoutTemplateableRamCannotBeFrozenAndRunsOn() throws Exception {
        try (RunningVm vm = VmBuilder.start(config(OutputStream.nullOutputStream()).build())) {
            await("serial bytes", vm::serialOutputBytes, 10);
            assertThatThrownBy(() -> vm.freeze(TIMEOUT)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("templateable");
            long before = vm.serialOutputBytes();
            await("serial bytes after the refused freeze", vm::serialOutputBytes, before + 10);
        }
    }
}
