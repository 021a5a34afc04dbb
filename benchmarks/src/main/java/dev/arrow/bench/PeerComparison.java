package dev.arrow.bench;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.BootPhase;
import dev.arrow.BootTimeline;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.SizeUnit;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.image.GuestImage;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.image.init.Stdio;
import dev.arrow.kvm.virtio.balloon.VirtioBalloon;
import dev.arrow.kvm.virtio.console.ConsolePort;
import dev.arrow.kvm.virtio.console.VirtioConsole;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.vmm.ExitKind;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import dev.arrow.kvm.vmm.VmOutcome;
import dev.arrow.kvm.x86.KernelCommandLine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Arrow against QEMU microvm, same kernel, same initramfs (the app's stdio on the virtio console,
 * as {@code Arrow.start()} boots it), same devices ({@link QemuMicrovm}), same command line (each
 * VMM adds its own {@code virtio_mmio.device=} entries), same guest end, timed by this harness in
 * one JVM (run it where KVM boots Linux: the lab here). Iterations alternate which VMM goes first,
 * and before every boot the JVM is settled (a GC and a pause), so that neither VMM's boot competes
 * with what the JVM still does after the previous one (JIT, GC, the last VM's teardown): with one
 * CPU, as in the lab, that leftover work otherwise lands on whichever boot comes next. Per
 * iteration it records, for Arrow: the boot timeline through the public API (start() to the
 * guest's end, first output, each phase) and the VMM's exit counts; for QEMU: spawn to the
 * guest's reset, to the app's first output, init's marks and KVM's counters. Then a few boots of
 * the same image through Arrow's VmBuilder alone (with the same devices) give KVM's counters for
 * Arrow too (the VM must still exist to read them).
 *
 * <pre>  peer --out FILE [--iterations N] [--warmup W] [--kvm-stat-runs K] [--settle-ms MS]</pre>
 */
public final class PeerComparison {
    static final int MEMORY_MIB = 64;

    private PeerComparison() {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Path out = a.path("out");
        int iterations = a.integer("iterations", 8);
        int warmup = a.integer("warmup", 1);
        int kvmStatRuns = a.integer("kvm-stat-runs", 3);
        int settleMillis = a.integer("settle-ms", DEFAULT_SETTLE_MILLIS);

        Path kernel = KernelLocator.fromEnvironment().locate().path();
        Path hello = NativePrograms.require("hello");
        ArrowSpec spec = ArrowSpec.builder(hello).args("from", "Arrow").env("GREETING", "hello")
                .memory(MEMORY_MIB, SizeUnit.MiB).build();
        GuestImage image = GuestImage.assemble(spec, kernel, Stdio.VIRTIO);
        Path work = Files.createTempDirectory("arrow-peer");
        Path initrd = work.resolve("initramfs.cpio");
        image.initramfs().writeTo(initrd);
        String qemuLine = image.kernelParameters().joined() + " " + String.join(" ", new VirtioBalloon().kernelParameters());
        QemuMicrovm qemu = new QemuMicrovm(kernel, initrd, qemuLine, MEMORY_MIB,
                QemuMicrovm.Accelerator.KVM);

        List<Map<String, Object>> runs = new ArrayList<>();
        for (int i = 0; i < warmup + iterations; i++) {
            boolean measured = i >= warmup;
            boolean arrowFirst = i % 2 == 0;
            Map<String, Object> arrowRun = null;
            QemuMicrovm.Run qemuRun = null;
            long[] settleCpu = new long[2];
            for (int k = 0; k < 2; k++) {
                settleCpu[k] = settle(settleMillis);
                if ((k == 0) == arrowFirst) {
                    arrowRun = arrow(spec);
                } else {
                    qemuRun = qemu.boot(work);
                    checkQemu(qemuRun);
                }
            }
            double ratio = ((Number) arrowRun.get("startToExitNanos")).doubleValue() / qemuRun.spawnToResetNanos();
            System.err.printf("[peer] %s %d: arrow %.1f ms (start to guest end), qemu %.1f ms (spawn to reset), ratio %.3f%n",
                    measured ? "iteration" : "warm-up", measured ? i - warmup : i,
                    ((Number) arrowRun.get("startToExitNanos")).doubleValue() / 1e6, qemuRun.spawnToResetNanos() / 1e6, ratio);
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("iteration", i);
            run.put("warmup", !measured);
            run.put("arrowFirst", arrowFirst);
            run.put("arrow", arrowRun);
            run.put("qemu", QemuMicrovm.toJson(qemuRun));
            run.put("ratioArrowToQemu", ratio);
            // the JVM's CPU time during the pause before the pair's first boot and before its second: what it
            // still did after the boot before
            run.put("settleCpuNanos", List.of(settleCpu[0], settleCpu[1]));
            runs.add(run);
        }

        List<Map<String, Object>> arrowKvmStats = new ArrayList<>();
        for (int i = 0; i < kvmStatRuns; i++) {
            arrowKvmStats.add(arrowKvmStats(image));
        }

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("kernel", kernel.toString());
        result.put("commandLine", image.kernelParameters().joined());
        result.put("initramfsBytes", image.initramfsSize());
        result.put("memoryMiB", MEMORY_MIB);
        result.put("qemuCommand", qemu.describeCommand());
        result.put("settleMillis", settleMillis);
        result.put("sameDevices", true);
        result.put("differences", QemuMicrovm.DIFFERENCES);
        result.put("kvmDebugfs", KvmDebugfs.available());
        result.put("runs", runs);
        result.put("arrowKvmStats", arrowKvmStats);
        Json.write(out, result);
        Files.deleteIfExists(initrd);
        Files.walk(work).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }

    /** One hello arrow through the public API. */
    static Map<String, Object> arrow(ArrowSpec spec) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        try (ArrowProcess p = Arrow.from(spec).stdin(Input.empty()).stdout(Output.pipe()).stderr(Output.discard()).start()) {
            InputStream in = p.getInputStream();
            byte[] output = in.readAllBytes();
            int code = p.waitFor();
            long wall = System.nanoTime() - t0;
            ArrowOutcome outcome = p.outcome().join();
            if (code != 0 || !new String(output, StandardCharsets.UTF_8).contains("Hello from an arrow")) {
                throw new IllegalStateException("the hello arrow failed: " + outcome + ", output: "
                        + new String(output, StandardCharsets.UTF_8));
            }
            BootTimeline t = p.timeline();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("startToExitNanos", t.entry(BootPhase.EXITED).orElseThrow().sinceStartNanos());
            m.put("startToWaitForNanos", wall);
            m.put("timeline", Json.timeline(t));
            m.put("exits", p.statistics().map(s -> (Object) s.exitsByKind()).orElse(Map.of()));
            return m;
        }
    }

    /** Default pause before each boot, after a GC. */
    static final int DEFAULT_SETTLE_MILLIS = 1000;

    /**
     * Settles the JVM before a boot: a GC, then a pause of {@code millis}; returns the CPU time this
     * process used during the pause (ns): near zero once the JVM is quiet.
     */
    static long settle(int millis) throws IOException, InterruptedException {
        System.gc();
        long pid = ProcessHandle.current().pid();
        long ticks = ProcessCpu.ticksPerSecond();
        ProcessCpu before = ProcessCpu.read(pid, ticks);
        Thread.sleep(millis);
        return ProcessCpu.read(pid, ticks).minus(before).totalNanos();
    }

    private static void checkQemu(QemuMicrovm.Run run) {
        if (!run.output().contains("Hello from an arrow")) {
            throw new IllegalStateException("the hello arrow under QEMU did not greet on its stdout port (\"" + run.output()
                    + "\"); console: " + run.console());
        }
        if (!"guest-reset".equals(run.shutdownReason())) {
            throw new IllegalStateException("QEMU's guest ended with " + run.shutdownReason() + ", not a reset");
        }
    }

    /**
     * How {@code Arrow.start()} would boot {@code image}, for VmBuilder alone: the virtio console with the ports of
     * the backend's {@code VirtioStdio.console()}, in its order, the entropy source and the free-page-reporting
     * balloon; the kernel's {@code parameters}, the serial console's output to {@code serial} and init's status lines
     * to {@code status}.
     */
    static VmConfig directConfig(GuestImage image, List<String> parameters, OutputStream serial,
            java.util.function.Consumer<String> status) {
        VirtioConsole console = VirtioConsole.builder()
                .port(InitProtocol.STDIN_PORT_NAME, ConsolePort.Direction.TO_GUEST)
                .port(InitProtocol.STDOUT_PORT_NAME, ConsolePort.Direction.FROM_GUEST)
                .port(InitProtocol.STDERR_PORT_NAME, ConsolePort.Direction.FROM_GUEST)
                .port(InitProtocol.CONTROL_PORT_NAME, ConsolePort.Direction.TO_GUEST)
                .build();
        return VmConfig.builder().kernel(image.kernel()).initrd(image.initramfsSize(), image.initramfs()::writeTo)
                .commandLine(KernelCommandLine.of(parameters))
                .memoryBytes(MEMORY_MIB * (1L << 20)).vcpuCount(1)
                .virtioDevice(console).virtioDevice(new VirtioRng()).virtioDevice(new VirtioBalloon())
                .serialOutput(serial).statusListener(status::accept).build();
    }

    /**
     * The same image booted through VmBuilder alone, with the devices {@code Arrow.start()} gives it
     * ({@link #directConfig}), KVM's counters read before the VM is closed.
     */
    static Map<String, Object> arrowKvmStats(GuestImage image) throws IOException, InterruptedException {
        VmConfig config = directConfig(image, image.kernelParameters().entries(), OutputStream.nullOutputStream(),
                line -> { });
        try (RunningVm vm = VmBuilder.start(config)) {
            VmOutcome outcome = vm.awaitExit(Duration.ofMinutes(2))
                    .orElseThrow(() -> new IllegalStateException("the guest still runs after 2 minutes"));
            if (!outcome.isOrderly()) {
                throw new IllegalStateException("the guest ended badly: " + outcome.describe());
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kvmStats", KvmDebugfs.readFor(ProcessHandle.current().pid()));
            Map<String, Long> vmm = new LinkedHashMap<>();
            for (Map.Entry<ExitKind, Long> e : vm.exitCounts().entrySet()) {
                vmm.put(e.getKey().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), e.getValue());
            }
            m.put("vmmExits", vmm);
            return m;
        }
    }
}
