package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.config.ArrowSpec;
import dev.arrow.image.GuestImage;
import dev.arrow.image.init.Stdio;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemoryOutputStream;
import dev.arrow.kvm.memory.HeapGuestMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@link KvmLauncher} hands an image's initramfs to the VMM: streamed into guest memory, never held whole. */
class InitrdStreamingTest {

    @TempDir
    Path dir;

    @Test
    void theInitramfsStreamsIntoGuestMemoryAtExactlyItsSize() throws IOException {
        Path app = Files.write(dir.resolve("app"), new byte[100_003]);
        GuestImage image = GuestImage.assemble(ArrowSpec.builder(app).args("a").build(), dir.resolve("vmlinux"), Stdio.VIRTIO);
        byte[] bytes = image.initramfsBytes();
        assertThat(image.initramfsSize()).isEqualTo(bytes.length).isGreaterThan(100_003);
        HeapGuestMemory memory = HeapGuestMemory.ofSize(1 << 20);
        GuestMemoryOutputStream out = new GuestMemoryOutputStream(memory, GuestAddress.of(0x1000), image.initramfsSize());
        image.initramfs().writeTo(out); // what KvmLauncher hands the VMM as the initrd writer
        assertThat(out.remaining()).isZero();
        assertThat(memory.read(GuestAddress.of(0x1000), bytes.length)).isEqualTo(bytes);
    }
}
