package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.ArrowProcess;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.testing.BootTest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 4: once its program has started and the guest is idle, the VMM drops the guest RAM pages that hold what the
 * guest would read without them (pages of zeros, copies of kernel image pages equal to the image;
 * {@link RunningVm#appStarted()}, docs/idle.md). The same arrow (64 MiB, the test program echoing stdin, as the
 * benchmarks' {@code hello-wait}) is booted without the drop ({@code -Darrow.dropPagesEqualToBacking=false}) and with
 * it, twice (the second arrow's text patched alike is shared with the copies the first one gave,
 * {@link dev.arrow.kvm.memory.CommonCopies}); each one's private memory (guest RAM pages it wrote, and its own copies
 * of kernel image pages: pagemap, as {@link GuestMemoryCensusBootTest#census()}) is read {@value #SETTLE_SECONDS} s
 * after its greeting. After the drop the program still echoes, writes and reads back a file that is mostly zeros, and
 * exits 0.
 */
@BootTest
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class PageDropBootTest {
    /** Long enough for the drop (the guest's first idle probes) and most of free page reporting's passes. */
    private static final int SETTLE_SECONDS = 10;

    @AfterEach
    void clear() throws Exception {
        System.clearProperty(RunningVm.DROP_PAGES_PROPERTY);
        BootTestSupport.awaitNoBlankVms();
    }

    @Test
    void anIdleArrowGivesBackPagesEqualToTheirBackingAndRunsOn() throws Exception {
        System.setProperty(RunningVm.DROP_PAGES_PROPERTY, "false");
        GuestMemoryCensusBootTest.Census without = idleArrow(false);
        System.clearProperty(RunningVm.DROP_PAGES_PROPERTY);
        BootTestSupport.awaitNoBlankVms();
        GuestMemoryCensusBootTest.Census with = idleArrow(true);
        BootTestSupport.awaitNoBlankVms();
        GuestMemoryCensusBootTest.Census next = idleArrow(true); // shares the text patched alike from another guest
        long privateWithout = without.ramTouched() + without.imageCopies();
        long privateWith = with.ramTouched() + with.imageCopies();
        long privateNext = next.ramTouched() + next.imageCopies();
        System.out.printf("[page drop] without the drop: %s%n[page drop] with it: %s%n[page drop] the next arrow: %s%n"
                        + "[page drop] private guest memory %.2f -> %.2f MiB, the next arrow %.2f MiB%n", without, with,
                next, mib(privateWithout), mib(privateWith), mib(privateNext));
        assertThat(privateWith).as("private guest memory with the drop").isLessThan(privateWithout);
        assertThat(privateNext).as("private guest memory of the next arrow").isLessThan(privateWithout);
    }

    /** Boots the arrow, reads its census once idle, then checks it still works; with {@code drops}, that it dropped. */
    private static GuestMemoryCensusBootTest.Census idleArrow(boolean drops) throws Exception {
        CapturingLauncher launcher = new CapturingLauncher();
        try (ArrowProcess p = BootTestSupport.guestAppArrow("echo-file").stdin(Input.pipe()).stdout(Output.pipe())
                .stderr(Output.discard()).launcher(launcher).start()) {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            OutputStream in = p.getOutputStream();
            in.write("hello\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            assertThat(out.readLine()).isEqualTo("hello");
            RunningVm vm = launcher.last.get().vm();
            long greeted = System.nanoTime();
            Optional<MmapGuestMemory.DroppedPages> dropped = vm.droppedPages();
            while (drops && dropped.isEmpty() && System.nanoTime() - greeted < TimeUnit.SECONDS.toNanos(30)) {
                Thread.sleep(100);
                dropped = vm.droppedPages();
            }
            long dropSeen = System.nanoTime();
            Thread.sleep(Math.max(0, TimeUnit.SECONDS.toMillis(SETTLE_SECONDS)
                    - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - greeted)));
            GuestMemoryCensusBootTest.Census c = GuestMemoryCensusBootTest.census();
            if (drops) {
                assertThat(dropped).as("the drop ran within 30 s of the greeting").isPresent();
                MmapGuestMemory.DroppedPages d = dropped.get();
                System.out.printf("[page drop] dropped %d pages of zeros and %d image copies, shared %d copies of text"
                                + " patched alike (%.2f MiB), seen %d ms after the greeting%n", d.zeroPages(),
                        d.filePages(), d.sharedPages(), mib(d.bytes()), TimeUnit.NANOSECONDS.toMillis(dropSeen - greeted));
                assertThat(d.zeroPages()).as("pages of zeros dropped").isPositive();
                assertThat(d.filePages()).as("image copies dropped").isPositive();
                // every x86 kernel patches its text for the CPU at boot (alternatives, paravirt calls, static keys)
                assertThat(d.sharedPages()).as("copies of text patched alike, shared").isPositive();
            } else {
                assertThat(vm.droppedPages()).as("no drop with %s=false", RunningVm.DROP_PAGES_PROPERTY).isEmpty();
            }
            for (int i = 0; i < 3; i++) {
                String line = "line " + i + " after " + (drops ? "the drop" : "no drop");
                in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                in.flush();
                assertThat(out.readLine()).as("the guest still echoes").isEqualTo(line);
            }
            in.close();
            assertThat(out.readLine()).as("the file written after the drop reads back").isEqualTo("file ok");
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            return c;
        }
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }
}
