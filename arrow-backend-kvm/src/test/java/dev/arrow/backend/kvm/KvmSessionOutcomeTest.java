package dev.arrow.backend.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.image.InitramfsMemory;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.InitStatus;
import dev.arrow.kvm.vmm.VmOutcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How the end of a guest (the VMM's {@link VmOutcome} plus init's final status) becomes the public
 * {@link ArrowOutcome} (tier 1, no VM). The timeout is the host stopping the VM ({@link VmOutcome.Stopped},
 * here {@link ArrowOutcome.Destroyed}), which {@code ArrowProcess} reports as {@code TimedOut}
 * ({@code ArrowProcessTest.timeoutStopsTheVmAndIsReported}).
 */
class KvmSessionOutcomeTest {

    private static final String NO_STATUS = " before init reported the program's status"
            + " (run with debugConsole() to see the kernel log)";

    /** One of each way the VMM ends a guest. */
    static List<VmOutcome> everyVmOutcome() {
        return List.of(
                new VmOutcome.Reset(),
                new VmOutcome.Ended(),
                new VmOutcome.TripleFault(0, 0xffffffff81000000L),
                new VmOutcome.Halted(),
                new VmOutcome.InternalError(1, 1, "KVM_INTERNAL_ERROR_EMULATION", new long[]{0x10, 0x20}, 0x1000, ""),
                new VmOutcome.FailEntry(0, 0x21),
                new VmOutcome.GuestMemoryFault(0, 0x1_0000_0000L, 4, true, ""),
                new VmOutcome.Stopped(),
                new VmOutcome.VmmError(0, new IOException("KVM_RUN failed: EFAULT")));
    }

    /** Every VM end except the host's stop: without a final status from init, the guest crashed. */
    static List<VmOutcome> everyGuestSideEnd() {
        return everyVmOutcome().stream().filter(o -> !(o instanceof VmOutcome.Stopped)).toList();
    }

    @Test
    void theListsCoverEveryKindOfVmOutcome() {
        assertThat(everyVmOutcome()).extracting(Object::getClass).map(Class::getName)
                .containsExactlyInAnyOrderElementsOf(
                        Arrays.stream(VmOutcome.class.getPermittedSubclasses()).map(Class::getName).toList());
    }

    @ParameterizedTest
    @MethodSource("everyVmOutcome")
    void initsExitCodeWinsHoweverTheVmEnded(VmOutcome vm) {
        assertThat(KvmSession.outcomeOf(new InitStatus.Exited(0), vm)).isEqualTo(new ArrowOutcome.Exited(0));
        assertThat(KvmSession.outcomeOf(new InitStatus.Exited(255), vm)).isEqualTo(new ArrowOutcome.Exited(255));
    }

    @ParameterizedTest
    @MethodSource("everyVmOutcome")
    void initsSignalWinsHoweverTheVmEnded(VmOutcome vm) {
        assertThat(KvmSession.outcomeOf(new InitStatus.Signaled(9), vm)).isEqualTo(new ArrowOutcome.Signaled(9));
        assertThat(KvmSession.outcomeOf(new InitStatus.Signaled(64), vm)).isEqualTo(new ArrowOutcome.Signaled(64));
    }

    @ParameterizedTest
    @EnumSource(value = InitStatus.StartFailure.class, mode = EnumSource.Mode.EXCLUDE, names = "IMAGE_INCOMPLETE")
    void eachStartFailureKeepsItsKindAndInitsMessage(InitStatus.StartFailure kind) {
        for (VmOutcome vm : everyVmOutcome()) {
            ArrowOutcome outcome = KvmSession.outcomeOf(new InitStatus.StartFailed(kind, "/arrow/app: why"), vm);
            assertThat(outcome).isEqualTo(new ArrowOutcome.StartFailed(ArrowOutcome.StartFailed.Kind.valueOf(kind.name()),
                    "/arrow/app: why"));
        }
    }

    private static InitramfsMemory needsOfAFile(long bytes) {
        // the rule only looks at sizes: a file given as bytes of that size
        return InitramfsMemory.of(Initramfs.builder().file("/data", new byte[(int) bytes], 0644).build());
    }

    @Test
    void anIncompleteImageSaysWhatInitFoundAndTheMemoryToAskFor() {
        InitramfsMemory needs = needsOfAFile(64 << 20);
        InitStatus.StartFailed guest = new InitStatus.StartFailed(InitStatus.StartFailure.IMAGE_INCOMPLETE,
                "/data: content differs from the host's (crc32c 00000000, expected 12345678); guest RAM 110 MiB");
        for (VmOutcome vm : everyVmOutcome()) {
            ArrowOutcome.StartFailed outcome = (ArrowOutcome.StartFailed) KvmSession.outcomeOf(guest, vm, 128L << 20, needs,
                    Optional.empty());
            assertThat(outcome.kind()).isEqualTo(ArrowOutcome.StartFailed.Kind.IMAGE_INCOMPLETE);
            assertThat(outcome.exitValue()).isEqualTo(381);
            assertThat(outcome.message())
                    .startsWith("the guest did not receive the binary and files whole, so the program was not started")
                    .contains("(init: /data: content differs from the host's")
                    .contains("guest RAM too small for the files given: " + ((needs.requiredRamBytes() + (1 << 20) - 1) >> 20)
                            + " MiB needed")
                    .endsWith("ask for memory(" + (needs.suggestedRamBytes(0) >> 20) + ", MiB)");
        }
    }

    @Test
    void anIncompleteImageThatTheRuleSaidFitsBlamesTheEstimateAndAsksForMore() {
        InitramfsMemory needs = needsOfAFile(1 << 20);
        ArrowOutcome.StartFailed outcome = (ArrowOutcome.StartFailed) KvmSession.outcomeOf(
                new InitStatus.StartFailed(InitStatus.StartFailure.IMAGE_INCOMPLETE, "/arrow/manifest: missing"),
                new VmOutcome.Reset(), 128L << 20, needs, Optional.empty());
        assertThat(outcome.message()).contains("(init: /arrow/manifest: missing)",
                "fits in the 128 MiB given, so it is wrong for this kernel: ask for more memory, e.g. memory(256, MiB)");
    }

    @Test
    void startFailureKindsMapOneToOne() {
        assertThat(Arrays.stream(InitStatus.StartFailure.values())
                .map(k -> ((ArrowOutcome.StartFailed) KvmSession.outcomeOf(new InitStatus.StartFailed(k, ""),
                        new VmOutcome.Reset())).kind()))
                .containsExactly(ArrowOutcome.StartFailed.Kind.values());
    }

    @Test
    void aVmStoppedByTheHostWithoutAStatusIsDestroyed() {
        assertThat(KvmSession.outcomeOf(null, new VmOutcome.Stopped())).isEqualTo(new ArrowOutcome.Destroyed());
    }

    @ParameterizedTest
    @MethodSource("everyGuestSideEnd")
    void aVmEndingWithoutAStatusIsACrashThatSaysHowTheVmEnded(VmOutcome vm) {
        assertThat(KvmSession.outcomeOf(null, vm)).isEqualTo(new ArrowOutcome.GuestCrashed(vm.describe() + NO_STATUS));
    }

    @Test
    void anOrderlyPowerOffWithoutAStatusIsStillACrash() {
        assertThat(KvmSession.outcomeOf(null, new VmOutcome.Reset())).isEqualTo(new ArrowOutcome.GuestCrashed(
                "the guest requested a reset through the i8042 (orderly power off)" + NO_STATUS));
    }

    @Test
    void aTripleFaultNamesTheVcpuAndRip() {
        assertThat(KvmSession.outcomeOf(null, new VmOutcome.TripleFault(2, 0xdead)))
                .isEqualTo(new ArrowOutcome.GuestCrashed("vCPU 2 shut down (triple fault) at rip 0xdead" + NO_STATUS));
    }

    // --- the same mapping through the session, as the VMM drives it ---

    private static ArrowOutcome endSession(VmOutcome vm, String... statusLines) {
        KvmSession session = new KvmSession((b, o, l) -> { });
        CompletableFuture<VmOutcome> exit = new CompletableFuture<>();
        session.whenEnded(exit);
        for (String line : statusLines) session.onStatusLine(line);
        exit.complete(vm);
        return session.outcome().join();
    }

    @Test
    void theFirstFinalStatusDecides() {
        assertThat(endSession(new VmOutcome.Reset(), "arrow-status exited 3", "arrow-status exited 4",
                "arrow-status signaled 9")).isEqualTo(new ArrowOutcome.Exited(3));
    }

    @Test
    void marksAndMalformedLinesAreNoStatus() {
        assertThat(endSession(new VmOutcome.Reset(), "arrow-mark init-start 1", "arrow-status exited 300",
                "arrow-status exited", "arrow-status fell-over x"))
                .isEqualTo(new ArrowOutcome.GuestCrashed(new VmOutcome.Reset().describe() + NO_STATUS));
    }

    @Test
    void aStatusThenAHostStopKeepsTheStatus() {
        assertThat(endSession(new VmOutcome.Stopped(), "arrow-status not-found /arrow/app: no such file"))
                .isEqualTo(new ArrowOutcome.StartFailed(ArrowOutcome.StartFailed.Kind.NOT_FOUND, "/arrow/app: no such file"));
        assertThat(endSession(new VmOutcome.Stopped())).isEqualTo(new ArrowOutcome.Destroyed());
    }

    private static final String PANIC_LINE = "[    2.071234] Kernel panic - not syncing: sysrq triggered crash\r\n";

    /** Ends a session whose serial console showed {@code serial} before the VM ended with {@code vm}. */
    private static ArrowOutcome endSessionAfterConsole(String serial, VmOutcome vm, String... statusLines) throws IOException {
        KvmSession session = new KvmSession((b, o, l) -> { });
        CompletableFuture<VmOutcome> exit = new CompletableFuture<>();
        session.whenEnded(exit);
        session.serialOutput().write(serial.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (String line : statusLines) session.onStatusLine(line);
        exit.complete(vm);
        return session.outcome().join();
    }

    @Test
    void aKernelPanicOnTheConsoleIsTheCrashsReason() throws IOException {
        assertThat(endSessionAfterConsole("[    2.070000] sysrq: Trigger a crash\r\n" + PANIC_LINE, new VmOutcome.Reset()))
                .isEqualTo(new ArrowOutcome.GuestCrashed("the guest kernel panicked (\"sysrq triggered crash\") and rebooted"
                        + NO_STATUS));
        assertThat(((ArrowOutcome.GuestCrashed) endSessionAfterConsole(PANIC_LINE, new VmOutcome.TripleFault(0, 0xdead)))
                .reason()).startsWith("the guest kernel panicked (\"sysrq triggered crash\") and then: vCPU 0 shut down");
    }

    @Test
    void aStatusOrAHostStopOutranksAPanicLine() throws IOException {
        assertThat(endSessionAfterConsole(PANIC_LINE, new VmOutcome.Reset(), "arrow-status exited 0"))
                .isEqualTo(new ArrowOutcome.Exited(0));
        assertThat(endSessionAfterConsole(PANIC_LINE, new VmOutcome.Stopped())).isEqualTo(new ArrowOutcome.Destroyed());
    }

    @Test
    void aFailureOfTheVmmItselfIsACrashNamingTheFailure() {
        KvmSession session = new KvmSession((b, o, l) -> { });
        CompletableFuture<VmOutcome> exit = new CompletableFuture<>();
        session.whenEnded(exit);
        exit.completeExceptionally(new IllegalStateException("vCPU thread died"));
        assertThat(session.outcome().join()).isEqualTo(
                new ArrowOutcome.GuestCrashed("the VMM failed: java.lang.IllegalStateException: vCPU thread died"));
    }
}
