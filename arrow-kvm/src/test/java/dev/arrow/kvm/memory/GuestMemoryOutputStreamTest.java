package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import org.junit.jupiter.api.Test;

/** Streaming into a window of guest memory (tier 1, heap-backed memory). */
class GuestMemoryOutputStreamTest {
    final HeapGuestMemory memory = HeapGuestMemory.ofSize(1 << 16);

    @Test
    void bytesLandFrontToBackInTheWindow() throws IOException {
        GuestMemoryOutputStream out = new GuestMemoryOutputStream(memory, GuestAddress.of(0x1000), 6);
        out.write(1);
        out.write(new byte[] {9, 2, 3, 4, 9}, 1, 3);
        assertThat(out.written()).isEqualTo(4);
        assertThat(out.remaining()).isEqualTo(2);
        out.write(new byte[] {5, 6});
        assertThat(memory.read(GuestAddress.of(0xFFF), 8)).containsExactly(0, 1, 2, 3, 4, 5, 6, 0);
    }

    @Test
    void writingPastTheWindowFailsAndWritesNothing() throws IOException {
        memory.fill(GuestAddress.of(0x2000), 16, (byte) 0x55);
        GuestMemoryOutputStream out = new GuestMemoryOutputStream(memory, GuestAddress.of(0x2000), 4);
        out.write(new byte[] {1, 2, 3});
        assertThatThrownBy(() -> out.write(new byte[] {4, 5}))
                .isInstanceOf(IOException.class).hasMessageContaining("overruns the 4-byte guest memory window at 0x2000");
        out.write(4);
        assertThatThrownBy(() -> out.write(5)).isInstanceOf(IOException.class);
        assertThat(memory.read(GuestAddress.of(0x2000), 6)).containsExactly(1, 2, 3, 4, 0x55, 0x55);
    }

    @Test
    void aWindowOutsideGuestMemoryIsRefusedUpFront() {
        assertThatThrownBy(() -> new GuestMemoryOutputStream(memory, GuestAddress.of(0xFFF0), 0x20))
                .isInstanceOf(GuestMemoryException.class);
        assertThatThrownBy(() -> new GuestMemoryOutputStream(memory, GuestAddress.of(0), -1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aClosedStreamTakesNoMoreBytes() {
        GuestMemoryOutputStream out = new GuestMemoryOutputStream(memory, GuestAddress.of(0), 8);
        out.close();
        assertThatThrownBy(() -> out.write(1)).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }

    @Test
    void badArrayBoundsAreTheCallersBug() {
        OutputStream out = new GuestMemoryOutputStream(memory, GuestAddress.of(0), 8);
        assertThatThrownBy(() -> out.write(new byte[2], 1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
