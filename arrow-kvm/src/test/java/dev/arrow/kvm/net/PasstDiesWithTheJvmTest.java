package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.testing.FreePort;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM killed with SIGKILL (or leaving by System.exit without closing) at several points of a
 * passt backend's life leaves no passt behind, no forwarded port open, and only a private
 * directory that the next JVM's first start removes. Each case runs {@link PasstChildJvm} in a
 * child JVM whose java.io.tmpdir is this test's own directory, with the real passt.
 */
class PasstDiesWithTheJvmTest {
    static final Duration PATIENCE = Duration.ofSeconds(30);

    @TempDir
    Path tmp;
    Path base;
    final List<Process> children = new ArrayList<>();

    @BeforeAll
    static void needsPasstAndSetpriv() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/passt")), "passt is not installed (Debian package 'passt')");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv is missing (Debian package 'util-linux')");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/perl")), "perl is missing (Debian package 'perl-base')");
    }

    @BeforeEach
    void directoryThatNobodyCanTraverse() throws IOException {
        base = Files.createDirectory(tmp.resolve("j")); // short: the socket path must fit 107 bytes
        PasstBackendTest.openToNobody(tmp); // as root, passt runs as nobody and must reach its socket here
        PasstBackendTest.openToNobody(base);
    }

    @AfterEach
    void killChildren() throws InterruptedException {
        for (Process p : children) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** A child JVM in {@code mode}; its stdout is read by {@link #line}, its stderr kept in a file. */
    Process child(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + base, "-cp", System.getProperty("java.class.path"), PasstChildJvm.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(tmp.resolve("child-" + children.size() + ".err").toFile())
                .start();
        children.add(p);
        return p;
    }

    String line(Process p) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                return "unreadable: " + e;
            }
        }).get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        assertThat(line).as("the child's report; its stderr: %s", stderr()).isNotNull();
        return line;
    }

    String stderr() {
        try (Stream<Path> files = Files.list(tmp)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".err")).map(f -> {
                try {
                    return Files.readString(f);
                } catch (IOException e) {
                    return e.toString();
                }
            }).collect(Collectors.joining("\n---\n"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    List<Path> directories() throws IOException {
        try (Stream<Path> s = Files.list(base)) {
            return s.filter(p -> p.getFileName().toString().startsWith(PasstProcess.DIRECTORY_PREFIX)).toList();
        }
    }

    /** Alive and not a zombie. */
    static boolean alive(ProcessHandle h) {
        if (!h.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    static void assertEnds(ProcessHandle h, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (alive(h) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        boolean survived = alive(h);
        if (survived) {
            h.destroyForcibly(); // no longer a descendant of the dead JVM: nobody else would end it
        }
        assertThat(survived).as("%s (pid %d) still runs 5 s after its JVM died", what, h.pid()).isFalse();
    }

    void killAndAwait(Process jvm) throws InterruptedException {
        jvm.destroyForcibly(); // SIGKILL
        assertThat(jvm.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }

    /** A later JVM's first start removes what the dead one left. */
    void nextJvmSweeps(List<Path> stale) throws Exception {
        assertThat(stale).isNotEmpty().allMatch(Files::isDirectory).allMatch(d -> d.getParent().equals(base));
        Process next = child("sweep");
        assertThat(line(next)).isEqualTo("swept");
        assertThat(next.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(next.exitValue()).isZero();
        assertThat(stale).noneMatch(Files::exists);
        assertThat(directories()).as("directories left after the sweeping JVM closed its own").isEmpty();
    }

    /**
     * Killed while passt starts, before Arrow connected to it: only the parent-death signal can
     * end it then (passt with --one-off would wait for its first client forever). The "passt" here
     * is a perl script that waits 30 s, then becomes the real passt: the process Arrow started.
     */
    @Test
    void killedWhilePasstStartsThePasstProcessDies() throws Exception {
        Path slow = base.resolve("slow-passt");
        Files.writeString(slow, "#!/usr/bin/perl\nsleep 30;\nexec '/usr/bin/passt', @ARGV or die \"exec: $!\";\n");
        assertThat(slow.toFile().setExecutable(true, false)).isTrue();
        int port = FreePort.onAnyAddress();
        Process jvm = child("starting", slow.toString(), Integer.toString(port));
        assertThat(line(jvm)).isEqualTo("starting");
        ProcessHandle passt = awaitDescendant(jvm, "slow-passt");
        List<Path> left = directories();
        killAndAwait(jvm);
        assertEnds(passt, "the starting passt");
        assertThat(ProcListeners.tcp(port)).isEmpty();
        nextJvmSweeps(left);
    }

    @Test
    void killedWhilePasstServesPasstDiesAndItsForwardedPortCloses() throws Exception {
        int port = FreePort.onAnyAddress();
        Process jvm = child("running", Integer.toString(port));
        String[] running = line(jvm).split(" ");
        assertThat(running[0]).isEqualTo("running");
        ProcessHandle passt = ProcessHandle.of(Long.parseLong(running[1])).orElseThrow();
        Thread.sleep(1000);
        assertThat(alive(passt)).as("passt outlives the thread that started it").isTrue();
        assertThat(ProcListeners.tcp(port)).containsExactly("127.0.0.1");
        killAndAwait(jvm);
        assertEnds(passt, "passt");
        assertThat(ProcListeners.tcp(port)).as("listeners on the forwarded port").isEmpty();
        nextJvmSweeps(List.of(Path.of(running[2])));
    }

    @Test
    void aJvmThatExitsWithoutClosingTakesPasstAlong() throws Exception {
        int port = FreePort.onAnyAddress();
        Process jvm = child("exit", Integer.toString(port));
        String[] running = line(jvm).split(" ");
        Optional<ProcessHandle> passt = ProcessHandle.of(Long.parseLong(running[1]));
        assertThat(jvm.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(jvm.exitValue()).isZero();
        if (passt.isPresent()) {
            assertEnds(passt.get(), "passt");
        }
        assertThat(ProcListeners.tcp(port)).isEmpty();
        nextJvmSweeps(List.of(Path.of(running[2])));
    }

    @Test
    void killedAfterClosingLeavesNothing() throws Exception {
        int port = FreePort.onAnyAddress();
        Process jvm = child("closed", Integer.toString(port));
        String[] closed = line(jvm).split(" ");
        assertThat(closed[0]).isEqualTo("closed");
        assertThat(Path.of(closed[2])).doesNotExist();
        killAndAwait(jvm);
        assertThat(ProcessHandle.of(Long.parseLong(closed[1])).filter(PasstDiesWithTheJvmTest::alive)).isEmpty();
        assertThat(ProcListeners.tcp(port)).isEmpty();
        assertThat(directories()).isEmpty();
    }

    /** The first descendant of {@code jvm} whose command line contains {@code marker}, within the patience. */
    static ProcessHandle awaitDescendant(Process jvm, String marker) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ProcessHandle> found = jvm.descendants()
                    .filter(h -> h.info().commandLine().orElse("").contains(marker)).findFirst();
            if (found.isPresent()) {
                return found.get();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no process running " + marker + " under the child JVM within " + PATIENCE);
    }
}
