package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.GuestFileTooLargeException;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.GuestFileReceiver;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 1: the host side of copies out of a guest, with the guest's port played by a pipe: each copy reaches the
 * receiver of its own request, the spec's paths sent after the end reach the exit sink, copies nobody asked for are
 * dropped, init's errors map to exceptions, and a guest that goes away or breaks the framing fails what is pending.
 * The reading thread starts only when it has something to read, once.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class GuestFileCopiesTest {
    private static final AtomicInteger NAMES = new AtomicInteger();
    private final String name = "copies-test-" + NAMES.incrementAndGet();
    private final PipedOutputStream guest = new PipedOutputStream();
    /** The port's {@code ConsolePort.fromGuestReadable()}: completed when the guest first writes or ends. */
    private final CompletableFuture<Void> readable = new CompletableFuture<>();
    /** The threads that read the port. */
    private final Set<Thread> readers = ConcurrentHashMap.newKeySet();
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private GuestFileCopies copies;

    private GuestFileCopies start(List<String> declared, ExitCopySink exits) throws IOException {
        return start(declared, exits, 1 << 20);
    }

    private GuestFileCopies start(List<String> declared, ExitCopySink exits, int portBytes) throws IOException {
        InputStream port = new FilterInputStream(new PipedInputStream(guest, portBytes)) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                readers.add(Thread.currentThread());
                return super.read(b, off, len);
            }
        };
        copies = new GuestFileCopies(port, readable, lines::add, declared, exits, 100, name);
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
        assertThat(readerThreads()).as("started at once for the declared paths").isEqualTo(1);
        write(frame('B', 0, text("/out")), frame('F', 0, modeAnd(0644, "")), frame('C', 0, text("x")), frame('E', 0, errno(0, "")));
        write(frame('B', 0, text("/out")), frame('E', 0, errno(0, "")), frame('B', 0, text("/etc")), frame('E', 0, errno(0, "")));
        endGuest();
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
        endGuest();
        copies.done().get();
        assertThatThrownBy(copy::get).cause().isInstanceOf(EOFException.class).hasMessageContaining("/a");
        assertThatThrownBy(() -> copies.copy("/b", 10, new Recording()).get()).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(EOFException.class);
    }

    @Test
    void noThreadReadsThePortBeforeTheFirstCopyAndConcurrentCopiesStartOne() throws Exception {
        start(List.of(), ExitCopySink.NONE);
        assertThat(readerThreads()).isZero();
        assertThat(copies.done()).isNotDone();

        int askers = 8;
        CyclicBarrier together = new CyclicBarrier(askers);
        List<CompletableFuture<CompletableFuture<Void>>> asked = new ArrayList<>();
        for (int i = 0; i < askers; i++) {
            String path = "/f" + i;
            asked.add(CompletableFuture.supplyAsync(() -> {
                try {
                    together.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                return copies.copy(path, 10, new Recording());
            }, runnable -> new Thread(runnable, name + "-asker").start()));
        }
        for (CompletableFuture<CompletableFuture<Void>> a : asked) {
            a.get();
        }
        while (readers.isEmpty()) {
            Thread.sleep(10);
        }
        assertThat(readerThreads()).isEqualTo(1);
        assertThat(readers).hasSize(1).allSatisfy(t -> assertThat(t.getName()).isEqualTo(name + "-files"));

        int id = Integer.parseInt(lines.get(0).split(" ")[1]);
        String path = lines.get(0).split(" ")[3].strip();
        write(frame('B', id, text(path)), frame('E', id, errno(0, "")));
        endGuest();
        copies.done().get();
        assertThat(asked).allSatisfy(a -> assertThat(a.get()).isDone());
        assertThat(readers).hasSize(1);
    }

    @Test
    void aPortThatEndsWithoutAByteEndsTheCopiesWithoutAThread() throws Exception {
        start(List.of(), ExitCopySink.NONE);
        endGuest();
        copies.done().get();
        assertThatThrownBy(() -> copies.copy("/late", 10, new Recording()).get()).cause()
                .isInstanceOf(EOFException.class).hasMessageContaining("/late");
        assertThat(readers).isEmpty();
        assertThat(readerThreads()).isZero();
    }

    @Test
    void closingBeforeAnyCopyEndsTheCopiesWithoutAThread() throws Exception {
        start(List.of(), ExitCopySink.NONE);
        copies.close();
        assertThat(copies.done()).isDone();
        assertThat(readers).isEmpty();
    }

    /** Unread, the guest's writes would stop on a full port (and its stream would never end). */
    @Test
    void bytesNobodyAskedForStartTheReaderWhichDropsThemSoTheGuestNeverWaits() throws Exception {
        start(List.of(), ExitCopySink.NONE, 1024);
        byte[] unasked = frame('C', 9, new byte[4000]);
        for (int i = 0; i < 25; i++) {
            write(frame('B', 9, text("/x")), unasked, frame('E', 9, errno(0, "")));
        }
        endGuest();
        copies.done().get();
        assertThat(readers).hasSize(1);
        assertThat(lines).isEmpty();
    }

    /** How many threads named after this test's reader are alive. */
    private long readerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name + "-files")).count();
    }

    /** The guest stops: its port ends, which makes it readable. */
    private void endGuest() throws IOException {
        guest.close();
        readable.complete(null);
    }

    /** Writes like the guest: the port becomes readable once its first bytes are in (the rest may wait for room). */
    private void write(byte[]... frames) throws IOException {
        for (byte[] f : frames) {
            guest.write(f, 0, 1);
            guest.flush();
            readable.complete(null);
            guest.write(f, 1, f.length - 1);
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
