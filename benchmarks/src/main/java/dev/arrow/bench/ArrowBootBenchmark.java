package dev.arrow.bench;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.BootPhase;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.config.SizeUnit;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A hello arrow through the public API, on a KVM that boots Linux (hardware, or the lab): each
 * operation is one arrow, measured from {@code Arrow.start()} to the exit ({@code waitFor()}
 * returned: guest ended, VM released), to the first byte of its output, or to the boot vCPU's
 * first KVM_RUN (the host-side set-up). The rest of each arrow's life runs untimed in the
 * per-invocation tear-down. Needs ARROW_KERNEL (or a kernel Arrow finds by itself).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 4)
@Fork(1)
@State(Scope.Thread)
public class ArrowBootBenchmark {
    private Arrow hello;
    private ArrowProcess running;

    @Setup(Level.Trial)
    public void setup() {
        hello = Arrow.of(NativePrograms.require("hello")).args("from", "Arrow").env("GREETING", "hello")
                .memory(64, SizeUnit.MiB).stdin(Input.empty()).stderr(Output.discard());
    }

    @Benchmark
    public int startToExit() throws InterruptedException {
        try (ArrowProcess p = hello.stdout(Output.discard()).start()) {
            int code = p.waitFor();
            if (code != 0) {
                throw new IllegalStateException("the hello arrow ended with " + p.outcome().join());
            }
            return code;
        }
    }

    @Benchmark
    public int startToFirstOutput() throws IOException {
        running = hello.stdout(Output.pipe()).start();
        InputStream out = running.getInputStream();
        int first = out.read();
        if (first < 0) {
            throw new IllegalStateException("the hello arrow wrote nothing: " + running.outcome().join());
        }
        return first;
    }

    @Benchmark
    public long startToFirstKvmRun() {
        running = hello.stdout(Output.discard()).start();
        while (!running.timeline().reached(BootPhase.FIRST_KVM_RUN)) {
            if (!running.isAlive()) {
                throw new IllegalStateException("the arrow ended before its first KVM_RUN: " + running.outcome().join());
            }
            LockSupport.parkNanos(1_000_000); // 1 ms: a tighter poll would compete with the VMM for the CPU
        }
        return running.id();
    }

    /** Lets the arrow of the last invocation finish (untimed) and releases it. */
    @TearDown(Level.Invocation)
    public void finish() throws IOException, InterruptedException {
        if (running != null) {
            running.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            running.waitFor();
            running.close();
            running = null;
        }
    }
}
