package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.x86.BootParams;
import dev.arrow.kvm.x86.BootSetupException;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where an initrd goes in guest memory and what each kind of initrd must deliver (tier 1, heap memory). */
class InitrdLoaderTest {
    static final long RAM = 32 * Layout.MiB;
    static final long KERNEL_END = 0x100_0000;
    static final long ADDR_MAX = BootParams.forVmlinux().initrdAddrMax();

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(RAM);

    @TempDir
    Path dir;

    static byte[] pattern(int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 7 + 3);
        }
        return b;
    }

    private InitrdLoader.Placed load(VmConfig.Initrd initrd) {
        return InitrdLoader.load(initrd, memory, RAM, ADDR_MAX, KERNEL_END);
    }

    @Test
    void aStreamedInitrdIsWrittenStraightToTheTopOfLowRam() {
        byte[] content = pattern(10_001);
        InitrdLoader.Placed placed = load(new VmConfig.Initrd.Streamed(content.length, out -> {
            out.write(content, 0, 1);
            out.write(content, 1, 5000);
            for (int i = 5001; i < content.length; i++) {
                out.write(content[i]);
            }
        }));
        long expected = Layout.initrdAddress(RAM, content.length, ADDR_MAX, KERNEL_END);
        assertThat(placed).isEqualTo(new InitrdLoader.Placed(GuestAddress.of(expected), content.length));
        assertThat(memory.read(placed.address(), content.length)).isEqualTo(content);
    }

    @Test
    void bytesFilesAndStreamsOfTheSameContentLandAlike() throws IOException {
        byte[] content = pattern(70_000);
        Path file = Files.write(dir.resolve("initrd"), content);
        InitrdLoader.Placed inMemory = load(VmConfig.Initrd.of(content));
        memory.fill(inMemory.address(), content.length, (byte) 0);
        InitrdLoader.Placed fromFile = load(VmConfig.Initrd.of(file));
        assertThat(memory.read(fromFile.address(), content.length)).isEqualTo(content);
        memory.fill(fromFile.address(), content.length, (byte) 0);
        InitrdLoader.Placed streamed = load(new VmConfig.Initrd.Streamed(content.length, out -> out.write(content)));
        assertThat(memory.read(streamed.address(), content.length)).isEqualTo(content);
        assertThat(fromFile).isEqualTo(inMemory);
        assertThat(streamed).isEqualTo(inMemory);
    }

    @Test
    void aWriterDeliveringLessThanItAnnouncedIsAnError() {
        assertThatThrownBy(() -> load(new VmConfig.Initrd.Streamed(100, out -> out.write(new byte[60]))))
                .isInstanceOf(KvmException.class)
                .hasMessage("writing the streamed initrd (100 bytes announced) into guest memory delivered only 60 bytes");
    }

    @Test
    void aWriterDeliveringMoreThanItAnnouncedIsStoppedAtTheEnd() {
        byte[] guard = pattern(64);
        InitrdLoader.Placed placed = load(new VmConfig.Initrd.Streamed(4096, out -> out.write(new byte[4096])));
        GuestAddress after = placed.address().plus(4096);
        long room = RAM - after.value();
        byte[] before = memory.read(after, (int) Math.min(room, guard.length));
        assertThatThrownBy(() -> load(new VmConfig.Initrd.Streamed(4096, out -> out.write(new byte[4097]))))
                .isInstanceOf(KvmException.class)
                .hasMessageContaining("writing the streamed initrd (4096 bytes announced) into guest memory failed after 0 bytes")
                .hasMessageContaining("overruns");
        assertThat(memory.read(after, before.length)).isEqualTo(before);
    }

    @Test
    void theWritersOwnFailureIsNamedWithItsCause() {
        IOException cause = new IOException("copying host file /x to guest path /x: gone");
        assertThatThrownBy(() -> load(new VmConfig.Initrd.Streamed(100, out -> {
            out.write(new byte[10]);
            throw cause;
        }))).isInstanceOf(KvmException.class).hasCause(cause)
                .hasMessage("writing the streamed initrd (100 bytes announced) into guest memory failed after 10 bytes: "
                        + "copying host file /x to guest path /x: gone");
    }

    @Test
    void aFileThatIsEmptyOrMissingIsNamed() throws IOException {
        Path empty = Files.write(dir.resolve("empty"), new byte[0]);
        assertThatThrownBy(() -> load(VmConfig.Initrd.of(empty))).isInstanceOf(KvmException.class)
                .hasMessage("initrd " + empty + " is empty");
        Path missing = dir.resolve("missing");
        assertThatThrownBy(() -> load(VmConfig.Initrd.of(missing))).isInstanceOf(KvmException.class)
                .hasMessageStartingWith("cannot read initrd " + missing);
    }

    @Test
    void anInitrdLargerThanTheRoomAboveTheKernelDoesNotFit() {
        long tooBig = RAM - KERNEL_END + 1;
        assertThatThrownBy(() -> load(new VmConfig.Initrd.Streamed(tooBig, out -> { })))
                .isInstanceOf(BootSetupException.class).hasMessageContaining("does not fit");
    }

    @Test
    void aStreamedInitrdNeedsAPositiveSizeAndAWriter() {
        assertThatThrownBy(() -> new VmConfig.Initrd.Streamed(0, out -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pass none instead");
        assertThatThrownBy(() -> new VmConfig.Initrd.Streamed(1, null)).isInstanceOf(NullPointerException.class);
    }
}
