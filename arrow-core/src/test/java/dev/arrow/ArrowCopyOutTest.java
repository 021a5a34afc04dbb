package dev.arrow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.config.SizeUnit;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 1: {@link ArrowProcess#copyFileFromGuest} through the fake backend, whose guest file system is a host directory:
 * files and trees while the program runs, the limit, a missing path, declared paths after the end, and that a failed
 * copy leaves nothing at (or beside) its target.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ArrowCopyOutTest {

    @TempDir
    Path dir;
    private Path binary;
    private Path guest;
    private Path host;

    @BeforeEach
    void setUp() throws IOException {
        binary = Files.write(dir.resolve("hello"), new byte[] {0x7f, 'E', 'L', 'F'});
        guest = Files.createDirectories(dir.resolve("guest"));
        host = Files.createDirectories(dir.resolve("host"));
        Files.createDirectories(guest.resolve("out/logs"));
        Files.writeString(guest.resolve("out/result.txt"), "42\n");
        Files.writeString(guest.resolve("out/logs/run.log"), "started\nended\n");
        Files.setPosixFilePermissions(Files.writeString(guest.resolve("out/tool"), "#!\n"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createSymbolicLink(guest.resolve("out/latest"), Path.of("logs/run.log"));
    }

    private FakeLauncher fake(FakeGuest program) {
        FakeLauncher fake = new FakeLauncher(program);
        fake.guestRoot = guest;
        return fake;
    }

    private Arrow arrow(FakeLauncher launcher) {
        return Arrow.of(binary).launcher(launcher);
    }

    @Test
    void aFileAndATreeAreCopiedWhileTheProgramRuns() throws Exception {
        try (ArrowProcess p = arrow(fake(FakeSession.Context::runForever)).start()) {
            p.copyFileFromGuest("/out/result.txt", host.resolve("result.txt"));
            p.copyFileFromGuest("/out", host.resolve("out"));

            assertThat(host.resolve("result.txt")).hasContent("42");
            assertThat(host.resolve("out/logs/run.log")).hasContent("started\nended");
            assertThat(Files.readSymbolicLink(host.resolve("out/latest"))).isEqualTo(Path.of("logs/run.log"));
            assertThat(Files.getPosixFilePermissions(host.resolve("out/tool"))).isEqualTo(PosixFilePermissions.fromString("rwxr-xr-x"));
            assertThat(onlyVisible(host)).containsExactlyInAnyOrder("result.txt", "out");
        }
    }

    @Test
    void anExistingFileIsReplacedButADirectoryInTheWayIsRefused() throws Exception {
        Files.writeString(host.resolve("result.txt"), "old");
        Files.createDirectories(host.resolve("busy"));
        try (ArrowProcess p = arrow(fake(FakeSession.Context::runForever)).start()) {
            p.copyFileFromGuest("/out/result.txt", host.resolve("result.txt"));
            assertThat(host.resolve("result.txt")).hasContent("42");
            assertThatThrownBy(() -> p.copyFileFromGuest("/out", host.resolve("busy")))
                    .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("delete it or choose another target");
        }
    }

    @Test
    void aMissingGuestPathIsNoSuchFileNamingItAndLeavesNothing() throws Exception {
        try (ArrowProcess p = arrow(fake(FakeSession.Context::runForever)).start()) {
            assertThatThrownBy(() -> p.copyFileFromGuest("/out/missing.txt", host.resolve("m")))
                    .isInstanceOf(NoSuchFileException.class).hasMessageContaining("/out/missing.txt");
        }
        assertThat(list(host)).isEmpty();
    }

    @Test
    void aCopyOverTheLimitFailsAndLeavesNoPartialFileNorTheOldOneChanged() throws Exception {
        byte[] big = new byte[300_000];
        new Random(1).nextBytes(big);
        Files.write(guest.resolve("out/logs/big.bin"), big);
        Files.writeString(host.resolve("out"), "previous");
        try (ArrowProcess p = arrow(fake(FakeSession.Context::runForever)).start()) {
            assertThatThrownBy(() -> p.copyFileFromGuest("/out", host.resolve("out"), 100_000))
                    .isInstanceOf(GuestFileTooLargeException.class)
                    .hasMessageContaining("/out").hasMessageContaining("more than the limit of 100000 bytes")
                    .satisfies(e -> assertThat(((GuestFileTooLargeException) e).limit()).isEqualTo(100_000));
            assertThat(list(host)).containsExactly("out");
            assertThat(host.resolve("out")).hasContent("previous");

            p.copyFileFromGuest("/out/logs/big.bin", host.resolve("big.bin"), big.length);
            assertThat(host.resolve("big.bin")).hasBinaryContent(big);
        }
    }

    @Test
    void badArgumentsAreRefusedBeforeTheGuestIsAsked() throws Exception {
        FakeLauncher fake = fake(FakeSession.Context::runForever);
        try (ArrowProcess p = arrow(fake).start()) {
            assertThatThrownBy(() -> p.copyFileFromGuest("out", host.resolve("x"))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("relative");
            assertThatThrownBy(() -> p.copyFileFromGuest("/out", host.resolve("x"), -1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("negative");
            assertThatThrownBy(() -> p.copyFileFromGuest("/out", host.resolve("no/such/dir/x")))
                    .isInstanceOf(NoSuchFileException.class).hasMessageContaining("create it first");
            assertThat(fake.only().copyRequests).isEmpty();
        }
    }

    @Test
    void copiesFromSeveralThreadsAtOnceEachGetTheirOwnFile() throws Exception {
        for (int i = 0; i < 8; i++) {
            Files.writeString(guest.resolve("out/f" + i), "file " + i);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (ArrowProcess p = arrow(fake(FakeSession.Context::runForever)).start()) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> copies = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int n = i;
                copies.add(pool.submit(() -> {
                    go.await();
                    p.copyFileFromGuest("/out/f" + n, host.resolve("f" + n));
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : copies) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        for (int i = 0; i < 8; i++) {
            assertThat(host.resolve("f" + i)).hasContent("file " + i);
        }
    }

    @Test
    void declaredPathsAreServedAfterTheEndAndPathsBelowThemToo() throws Exception {
        FakeLauncher fake = fake(g -> new ArrowOutcome.Exited(0));
        ArrowProcess p = arrow(fake).copyOutOnExit("/out", "/out/result.txt").start();
        try {
            assertThat(p.waitFor()).isZero();
            p.copyFileFromGuest("/out", host.resolve("out"));
            p.copyFileFromGuest("/out/logs/run.log", host.resolve("run.log"));
            p.copyFileFromGuest("/out/result.txt", host.resolve("result.txt"));
            assertThat(host.resolve("out/result.txt")).hasContent("42");
            assertThat(host.resolve("run.log")).hasContent("started\nended");
            assertThat(host.resolve("result.txt")).hasContent("42");
            assertThatThrownBy(() -> p.copyFileFromGuest("/out/nothing", host.resolve("n")))
                    .isInstanceOf(NoSuchFileException.class).hasMessageContaining("/out/nothing");
            assertThat(fake.only().copyRequests).isEmpty();
        } finally {
            p.close();
        }
        assertThatThrownBy(() -> p.copyFileFromGuest("/out", host.resolve("again")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void anUndeclaredPathAfterTheEndNamesTheFix() throws Exception {
        try (ArrowProcess p = arrow(fake(g -> new ArrowOutcome.Exited(0))).start()) {
            p.waitFor();
            assertThatThrownBy(() -> p.copyFileFromGuest("/out/result.txt", host.resolve("r")))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("has ended")
                    .hasMessageContaining("copyOutOnExit(\"/out/result.txt\")");
        }
    }

    @Test
    void theDeclaredBoundIsForAllPathsTogetherAndAMissingDeclaredPathIsNoSuchFile() throws Exception {
        Files.write(guest.resolve("a.bin"), new byte[600]);
        Files.write(guest.resolve("b.bin"), new byte[600]);
        try (ArrowProcess p = arrow(fake(g -> new ArrowOutcome.Exited(3))).copyOutOnExit("/a.bin", "/b.bin", "/gone")
                .copyOutOnExitLimit(1, SizeUnit.KiB).start()) {
            assertThat(p.waitFor()).isEqualTo(3);
            p.copyFileFromGuest("/a.bin", host.resolve("a.bin"));
            assertThat(host.resolve("a.bin")).hasSize(600);
            assertThatThrownBy(() -> p.copyFileFromGuest("/b.bin", host.resolve("b.bin")))
                    .isInstanceOf(GuestFileTooLargeException.class).hasMessageContaining("limit of 424 bytes");
            assertThatThrownBy(() -> p.copyFileFromGuest("/gone", host.resolve("gone")))
                    .isInstanceOf(NoSuchFileException.class).hasMessageContaining("/gone");
            assertThat(list(host)).containsExactly("a.bin");
        }
    }

    @Test
    void aDeclaredPathOfAProgramStoppedFromTheHostWasNotSent() throws Exception {
        try (ArrowProcess p = arrow(fake(FakeSession.Context::runForever)).copyOutOnExit("/out").start()) {
            p.destroyForcibly().waitFor();
            assertThatThrownBy(() -> p.copyFileFromGuest("/out", host.resolve("out")))
                    .isInstanceOf(IOException.class).hasMessageContaining("did not send it");
        }
        assertThat(list(host)).isEmpty();
    }

    @Test
    void theKeptCopiesAreDeletedByClose() throws Exception {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        List<String> before = kept(tmp);
        ArrowProcess p = arrow(fake(g -> new ArrowOutcome.Exited(0))).copyOutOnExit("/out").start();
        p.waitFor();
        assertThat(kept(tmp)).hasSize(before.size() + 1);
        p.close();
        assertThat(kept(tmp)).containsExactlyInAnyOrderElementsOf(before);
    }

    private static List<String> kept(Path tmp) throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("arrow-copy-out-")).toList();
        }
    }

    private static List<String> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(f -> f.getFileName().toString()).toList();
        }
    }

    private static List<String> onlyVisible(Path d) throws IOException {
        List<String> names = list(d);
        assertThat(names).noneMatch(n -> n.startsWith("."));
        return names;
    }
}
