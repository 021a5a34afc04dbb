package dev.arrow.kvm.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusPortTest {

    private final List<String> lines = new ArrayList<>();
    private final StatusPort port = new StatusPort(lines::add);

    /** Writes like init does: one outb per byte. */
    private void outb(String s) {
        outb(s.getBytes(StandardCharsets.UTF_8));
    }

    private void outb(byte[] bytes) {
        for (byte b : bytes) {
            port.write(0, new byte[] {b});
        }
    }

    @Test
    void completeLinesReachTheListenerWithoutTheNewline() {
        outb("arrow-status exited 0\narrow-mark init-start 123456\n");
        assertThat(lines).containsExactly("arrow-status exited 0", "arrow-mark init-start 123456");
        assertThat(port.deliveredLines()).isEqualTo(2);
    }

    @Test
    void partialLineWaitsForItsNewline() {
        outb("arrow-status sig");
        assertThat(lines).isEmpty();
        assertThat(port.pendingBytes()).isEqualTo(16);
        outb("naled 9\n");
        assertThat(lines).containsExactly("arrow-status signaled 9");
        assertThat(port.pendingBytes()).isZero();
    }

    @Test
    void multiByteWritesAreTakenInOrder() {
        port.write(0, "ab\ncd".getBytes(StandardCharsets.US_ASCII));
        port.write(0, "\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(lines).containsExactly("ab", "cd");
    }

    /** Writes like init does: 4 bytes per outl to offset 0 (the bytes in line order), the last 0..3 per outb. */
    private void outlThenOutb(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
        int i = 0;
        for (; bytes.length - i >= 4; i += 4) {
            port.write(0, java.util.Arrays.copyOfRange(bytes, i, i + 4));
        }
        outb(java.util.Arrays.copyOfRange(bytes, i, bytes.length));
    }

    @Test
    void aFourByteWriteIsFourBytesInOrder() {
        port.write(0, "ok!\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(lines).containsExactly("ok!");
        port.write(0, "abcd".getBytes(StandardCharsets.US_ASCII));
        assertThat(port.pendingBytes()).isEqualTo(4);
        outb("\n");
        assertThat(lines).containsExactly("ok!", "abcd");
    }

    @Test
    void linesSpanningSeveralFourByteWritesArriveWhole() {
        outlThenOutb("arrow-status exited 0\n"); // 22 bytes: 5 writes of 4, then 2 of 1
        outlThenOutb("arrow-mark app-exec 123456789012\n"); // 33 bytes: the newline alone after 8 writes of 4
        outlThenOutb("arrow-mark init-start 12345678\n"); // 31 bytes: a newline inside a write of 4 would end the line there
        assertThat(lines).containsExactly("arrow-status exited 0", "arrow-mark app-exec 123456789012",
                "arrow-mark init-start 12345678");
        assertThat(port.pendingBytes()).isZero();
    }

    @Test
    void aNewlineInsideAFourByteWriteEndsTheLineAndTheRestStartsTheNext() {
        port.write(0, "ab\nc".getBytes(StandardCharsets.US_ASCII));
        port.write(0, "d\n\n\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(lines).containsExactly("ab", "cd", "", "");
    }

    @Test
    void writesAtTheOtherThreePortsContinueTheLineLikeWritesAtTheFirst() {
        port.write(1, new byte[] {'a'});
        port.write(2, new byte[] {'b', 'c'});
        port.write(3, new byte[] {'d'});
        port.write(0, new byte[] {'\n'});
        assertThat(lines).containsExactly("abcd");
    }

    @Test
    void lineOfExactlyTheLimitIsAccepted() {
        String max = "x".repeat(StatusPort.MAX_LINE_BYTES - 1);
        outb(max + "\n");
        assertThat(lines).containsExactly(max);
        assertThat(port.discardedLines()).isZero();
    }

    @Test
    void longerLineIsDiscardedWholeAndCounted() {
        outb("y".repeat(StatusPort.MAX_LINE_BYTES) + "\narrow-status exited 3\n");
        assertThat(lines).containsExactly("arrow-status exited 3");
        assertThat(port.discardedLines()).isEqualTo(1);
    }

    @Test
    void endlessLineNeverGrowsTheBuffer() {
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'z');
        for (int i = 0; i < 64; i++) {
            port.write(0, chunk); // 4 MiB without a newline
        }
        assertThat(lines).isEmpty();
        assertThat(port.discardedLines()).isEqualTo(1);
        assertThat(port.pendingBytes()).isZero();
        outb("\narrow-status exited 0\n");
        assertThat(lines).containsExactly("arrow-status exited 0");
    }

    @Test
    void nulBytesStayInsideTheLine() {
        outb(new byte[] {'a', 0, 'b', '\n', 0, '\n'});
        assertThat(lines).containsExactly("a\0b", "\0");
    }

    @Test
    void emptyLinesAreDelivered() {
        outb("\n\n");
        assertThat(lines).containsExactly("", "");
    }

    @Test
    void invalidUtf8LinesAreDiscarded() {
        outb(new byte[] {'o', 'k', (byte) 0xc3, '\n'});
        outb("caf\u00e9\n");
        assertThat(lines).containsExactly("caf\u00e9");
        assertThat(port.discardedLines()).isEqualTo(1);
    }

    @Test
    void readsReturnZero() {
        byte[] b = {1, 2};
        port.read(0, b);
        assertThat(b).containsOnly(0);
    }
}
