package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.GuestFileTooLargeException;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.GuestFileReceiver;
import java.io.EOFException;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 1: the host side of copies out of a guest, with the guest's port played by a pipe: each copy reaches the
 * receiver of its own request, the spec's paths sent after the end reach the exit sink, copies nobody asked for are
 * dropped, init's errors map to exceptions, and a guest that goes away or breaks the framing fails what is pending.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class GuestFileCopiesTest {
    private final PipedOutputStream guest = new PipedOutputStream();
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private GuestFileCopies copies;

    private GuestFileCopies start(List<String> declared, ExitCopySink exits) throws IOException {
        copies = new GuestFileCopies(new PipedInputStream(guest, 1 << 20), lines::add, declared, exits, 100, "test");
        copies.start();
        return copies;
    }

    @AfterEach
    void close() {
        if (copies != null) {
            copies.close();
        }
    }

    @Test
    void eachCopyReachesTheReceiverOfItsRequestAndErrnoMapsToAnException() throws Exception {
        start(List.of(), ExitCopySink.NONE);
        Recording a = new Recording();
        Recording b = new Recording();
        CompletableFuture<Void> first = copies.copy("/a", 10, a);
        CompletableFuture<Void> second = copies.copy("/missing", 10, b);
        assertThat(lines).containsExactly("copy-out 1 10 /a\n", "copy-out 2 10 /missing\n");
        write(frame('B', 7, text("/x")), frame('F', 7, modeAnd(0644, "")), frame('C', 7, text("not asked")), frame('E', 7, errno(0, "")));
        write(frame('B', 1, text("/a")), frame('D', 1, modeAnd(0755, "")), frame('F', 1, modeAnd(0600, "f")),
                frame('C', 1, text("hi")), frame('L', 1, text("l\0f")), frame('E', 1, errno(0, "")));
        write(frame('B', 2, text("/missing")), frame('E', 2, errno(2, "/missing: No such file or directory")));
        first.get();
        assertThat(a.events).containsExactly("D  755", "F f 600", "C hi", "L l f");
        assertThatThrownBy(second::get).cause().isInstanceOf(NoSuchFileException.class).hasMessageContaining("/missing");
        assertThat(b.events).isEmpty();
        assertThat(GuestFileCopies.failure("/x", 27, "too big", 5)).isInstanceOf(GuestFileTooLargeException.class);
    }

    @Test
    void aGuestSendingMoreThanAllowedFailsTheCopy() throws Exception {
        start(List.of(), ExitCopySink.NONE);
        CompletableFuture<Void> copy = copies.copy("/f", 3, new Recording());
        write(frame('B', 1, text("/f")), frame('F', 1, modeAnd(0644, "")), frame('C', 1, text("four")), frame('E', 1, errno(0, "")));
        assertThatThrownBy(copy::get).cause().isInstanceOf(GuestFileTooLargeException.class);
    }

    @Test
    void declaredPathsSentAfterTheEndGoToTheExitSinkOnceAndOthersAreDropped() throws Exception {
        List<String> ended = new CopyOnWriteArrayList<>();
        Recording kept = new Recording();
        start(List.of("/out"), new ExitCopySink() {
            @Override
            public GuestFileReceiver begin(String guestPath) {
                ended.add("begin " + guestPath);
                return kept;
            }

            @Override
            public void end(String guestPath, IOException failure) {
                ended.add("end " + guestPath + " " + failure);
            }
        });
        write(frame('B', 0, text("/out")), frame('F', 0, modeAnd(0644, "")), frame('C', 0, text("x")), frame('E', 0, errno(0, "")));
        write(frame('B', 0, text("/out")), frame('E', 0, errno(0, "")), frame('B', 0, text("/etc")), frame('E', 0, errno(0, "")));
        guest.close();
        copies.done().get();
        assertThat(ended).containsExactly("begin /out", "end /out null");
        assertThat(kept.events).containsExactly("F  644", "C x");
    }

    @Test
    void aMalformedStreamOrItsEndFailsWhatIsPendingAndLaterRequests() throws Exception {
        start(List.of(), ExitCopySink.NONE);
        CompletableFuture<Void> copy = copies.copy("/a", 10, new Recording());
        write(frame('B', 1, text("/a")), frame('Q', 1, new byte[0]));
        write(new byte[100_000]); // drained, so the guest does not block
        guest.close();
        copies.done().get();
        assertThatThrownBy(copy::get).cause().isInstanceOf(EOFException.class).hasMessageContaining("/a");
        assertThatThrownBy(() -> copies.copy("/b", 10, new Recording()).get()).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(EOFException.class);
    }

    private void write(byte[]... frames) throws IOException {
        for (byte[] f : frames) {
            guest.write(f);
        }
        guest.flush();
    }

    private static byte[] frame(char type, long id, byte[] payload) {
        return ByteBuffer.allocate(9 + payload.length).order(ByteOrder.LITTLE_ENDIAN).put((byte) type).putInt((int) id)
                .putInt(payload.length).put(payload).array();
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] modeAnd(int mode, String path) {
        byte[] p = text(path);
        return ByteBuffer.allocate(4 + p.length).order(ByteOrder.LITTLE_ENDIAN).putInt(mode).put(p).array();
    }

    private static byte[] errno(int errno, String message) {
        return modeAnd(errno, message);
    }

    /** Each call as a line. */
    static final class Recording implements GuestFileReceiver {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void directory(String path, int mode) {
            events.add("D " + path + " " + Integer.toOctalString(mode));
        }

        @Override
        public void file(String path, int mode) {
            events.add("F " + path + " " + Integer.toOctalString(mode));
        }

        @Override
        public void content(byte[] bytes, int offset, int length) {
            events.add("C " + new String(bytes, offset, length, StandardCharsets.UTF_8));
        }

        @Override
        public void symlink(String path, String target) {
            events.add("L " + path + " " + target);
        }
    }
}
