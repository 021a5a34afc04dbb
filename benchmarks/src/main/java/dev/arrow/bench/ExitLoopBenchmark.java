package dev.arrow.bench;

import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.vmm.ExitKind;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import dev.arrow.kvm.vmm.VmOutcome;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-exit cost of Arrow's vCPU loop against a C program doing the same loop (host KVM, tiny guest;
 * PVM on the project's machines). One operation is a whole run of {@link ExitLoopGuest}: build the
 * VM, {@code writes} port writes (one exit each) and the i8042 reset, tear down.
 * {@link #arrowVmm} runs it through Arrow's real path (VmBuilder, VcpuRunner, ExitDispatcher, I/O bus);
 * {@link #cIoctlLoop} runs {@code exitloop} (src/main/c/exitloop.c: raw ioctls, same guest, same boot
 * state) as a child process. The per-exit cost is the slope between the two sizes, so fixed costs
 * (VM set-up, the child's exec) cancel out.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 8)
@Fork(1)
@State(Scope.Benchmark)
public class ExitLoopBenchmark {
    /** Loop writes per run: 1 measures the fixed cost, the large one adds that many exits. */
    @Param({"1", "100000"})
    public int writes;

    private VmConfig config;
    private Path flatGuest;
    private Path exitloop;

    @Setup
    public void setup() throws IOException {
        HostKvm host = HostKvm.detect();
        if (!host.usable()) {
            throw new IllegalStateException("the exit-loop benchmark needs a usable /dev/kvm: " + host.description());
        }
        Path dir = Files.createTempDirectory("arrow-exitloop");
        dir.toFile().deleteOnExit();
        Path kernel = ExitLoopGuest.writeElf(dir, writes);
        kernel.toFile().deleteOnExit();
        config = VmConfig.builder().kernel(kernel).memoryBytes(64L << 20).build();
        flatGuest = ExitLoopGuest.writeFlat(dir, writes);
        flatGuest.toFile().deleteOnExit();
        exitloop = NativePrograms.require("exitloop");
    }

    @Benchmark
    public long arrowVmm() throws InterruptedException {
        try (RunningVm vm = VmBuilder.start(config)) {
            VmOutcome outcome = vm.awaitExit(Duration.ofMinutes(2))
                    .orElseThrow(() -> new IllegalStateException("the exit-loop guest still runs after 2 minutes"));
            if (!(outcome instanceof VmOutcome.Reset)) {
                throw new IllegalStateException("the exit-loop guest ended badly: " + outcome.describe());
            }
            long exits = vm.exitCounts().get(ExitKind.IO_OUT);
            if (exits != writes + 1L) {
                throw new IllegalStateException("expected " + (writes + 1) + " port-write exits, counted " + exits);
            }
            return exits;
        }
    }

    @Benchmark
    public long cIoctlLoop() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(exitloop.toString(), flatGuest.toString(), "0", "1")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        if (p.waitFor() != 0 || !out.contains("\"exits\":" + (writes + 1L) + ",")) {
            throw new IllegalStateException("exitloop failed (status " + p.exitValue() + "): " + out);
        }
        return writes;
    }
}
