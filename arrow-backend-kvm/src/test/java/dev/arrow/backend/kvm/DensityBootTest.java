package dev.arrow.backend.kvm;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.testing.BootTest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 4: what an idle arrow holds of this JVM's file descriptors and threads (issue 21: at most 4 fds and 2 threads
 * per arrow, so that a host's fd limit is not what ends the number of arrows alive). An idle arrow here is a cold
 * one (console, entropy device and balloon, no network) whose app waits on stdin: its VM, its vCPU, the
 * console's irqfd and the event loop's doorbell (the entropy device and the balloon hold none); /dev/kvm and the kernel's memory file are the
 * JVM's, opened by the warm-up arrow (see docs/virtio.md, "File descriptors per arrow"). Its threads: the vCPU's and
 * the event loop's; its output's pumps hold a thread only while they deliver ({@link GuestOutputThreads}).
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class DensityBootTest {
    private static final int ARROWS = 5;
    /** The VM, its vCPU, the console's irqfd, the event loop's doorbell. */
    private static final int FDS_PER_ARROW = 4;
    /** The vCPU's and the event loop's. */
    private static final int THREADS_PER_ARROW = 2;
    /** The JVM's idle prober, whose thread ends 10 s after the last VM stopped: perhaps not in the baseline. */
    private static final int JVM_THREADS_STARTED_BY_ARROWS = 1;

    /** An arrow that echoes each line of its stdin and waits for the next: idle between lines. */
    private static Arrow echo() {
        return Arrow.of(BootTestSupport.guestApp()).args("echo").memory(64, MiB)
                .stdin(Input.pipe()).stdout(Output.pipe()).stderr(Output.discard());
    }

    /** A started echo arrow, booted: it has echoed one line and waits on stdin for the next. */
    private record Idle(ArrowProcess process, OutputStream stdin, BufferedReader stdout) {
        static Idle start(String line) throws IOException {
            ArrowProcess p = echo().start();
            try {
                Idle idle = new Idle(p, p.getOutputStream(),
                        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
                idle.stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                idle.stdin.flush();
                assertThat(idle.stdout.readLine()).as("the echo of %s", line).isEqualTo(line);
                return idle;
            } catch (IOException | RuntimeException | Error e) {
                p.close();
                throw e;
            }
        }

        /** End-of-file on stdin: the app ends, then the arrow is released. */
        void end() throws Exception {
            stdin.close();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s ended after end-of-file", process).isTrue();
            assertThat(process.exitValue()).isZero();
            process.close();
        }
    }

    @Test
    void idleArrowsHoldAtMostFourFdsAndTwoThreadsEachAndGiveThemAllBack() throws Exception {
        Idle.start("warm-up").end(); // the JVM's own: /dev/kvm, the kernel's memory file, classes, threads
        Thread.sleep(500);
        BootTestSupport.awaitNoBlankVms(); // the pool's blank VM for the next cold start is not an arrow's
        Map<String, String> before = openFds();
        List<String> threadsBefore = threadKinds();

        List<Idle> alive = new ArrayList<>();
        try {
            for (int i = 0; i < ARROWS; i++) {
                alive.add(Idle.start("arrow-" + i));
            }
            BootTestSupport.awaitNoBlankVms();
            Map<String, String> with = openFds();
            System.out.printf("[density] %d idle arrows hold %d fds (%.2f each): %s%n", ARROWS, with.size() - before.size(),
                    (with.size() - before.size()) / (double) ARROWS, newTargets(before, with));
            assertThat(with.size() - before.size())
                    .as("fds held by %d idle arrows (at most %d each); new ones by target: %s", ARROWS, FDS_PER_ARROW,
                            newTargets(before, with))
                    .isLessThanOrEqualTo(ARROWS * FDS_PER_ARROW);
            // the output pumps' threads go back to the pool once the greetings were delivered, and end after its keep-alive
            int allowed = ARROWS * THREADS_PER_ARROW + JVM_THREADS_STARTED_BY_ARROWS;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(GuestOutputThreads.KEEP_ALIVE_SECONDS + 10);
            List<String> threadsWith = threadKinds();
            while (threadsWith.size() - threadsBefore.size() > allowed && System.nanoTime() < until) {
                Thread.sleep(100);
                threadsWith = threadKinds();
            }
            System.out.printf("[density] %d idle arrows hold %d threads: %s%n", ARROWS,
                    threadsWith.size() - threadsBefore.size(), newKinds(threadsBefore, threadsWith));
            assertThat(threadsWith.size() - threadsBefore.size())
                    .as("threads held by %d idle arrows (at most %d each, and %d of the JVM's); new ones by name: %s", ARROWS,
                            THREADS_PER_ARROW, JVM_THREADS_STARTED_BY_ARROWS, newKinds(threadsBefore, threadsWith))
                    .isLessThanOrEqualTo(allowed);
        } finally {
            for (Idle idle : alive) {
                idle.end();
            }
        }

        BootTestSupport.awaitNoBlankVms();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Map<String, String> after = openFds();
        while (after.size() > before.size() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            after = openFds();
        }
        assertThat(after.size()).as("fds after every arrow was released; new ones by target: %s",
                newTargets(before, after)).isLessThanOrEqualTo(before.size());
    }

    /** This JVM's live threads (those Java sees: not the JIT's or the GC's), by name with numbers as N. */
    private static List<String> threadKinds() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .map(t -> t.getName().replaceAll("[0-9]+", "N")).sorted().toList();
    }

    /** How many more threads of each kind {@code now} has than {@code before}. */
    private static Map<String, Integer> newKinds(List<String> before, List<String> now) {
        Map<String, Integer> counts = new TreeMap<>();
        now.forEach(kind -> counts.merge(kind, 1, Integer::sum));
        before.forEach(kind -> counts.merge(kind, -1, Integer::sum));
        counts.values().removeIf(n -> n == 0);
        return counts;
    }

    /** This JVM's open fds: number to target, less the one that lists them. */
    private static Map<String, String> openFds() throws IOException {
        Map<String, String> fds = new TreeMap<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) s::iterator) {
                try {
                    fds.put(fd.getFileName().toString(), Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed while listed: the directory stream's own fd
                }
            }
        }
        return fds;
    }

    /**
     * How many more fds {@code now} has than {@code before} for each target (numbers in targets left out, so the
     * directory listing's own fd and fd numbers taken again do not count).
     */
    private static Map<String, Integer> newTargets(Map<String, String> before, Map<String, String> now) {
        return newKinds(before.values().stream().map(t -> t.replaceAll("[0-9]+", "N")).toList(),
                now.values().stream().map(t -> t.replaceAll("[0-9]+", "N")).toList());
    }
}
