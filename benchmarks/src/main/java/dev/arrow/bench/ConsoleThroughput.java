package dev.arrow.bench;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.SizeUnit;
import dev.arrow.image.init.InitStatus;
import dev.arrow.image.init.Stdio;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.image.GuestImage;
import dev.arrow.kvm.vmm.ExitKind;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import dev.arrow.kvm.vmm.VmOutcome;
import dev.arrow.kvm.x86.KernelCommandLine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Console throughput guest → host, virtio console against the serial port, same kernel, same
 * program, same run (run it where KVM boots Linux). The guest program {@code console-flood}
 * prints a ready line, waits for the host's go on stdin, writes a fixed number of bytes to stdout
 * and waits again. The host reads the VMM's exit counts and KVM's debugfs counters before the go
 * and after the last byte, and times the bytes from the first arrival to the last.
 *
 * <ul>
 *   <li>virtio: the normal {@link Arrow#start()} path, stdout through {@link Output#pipe()} read by a
 *       counting thread;</li>
 *   <li>serial: the same image with the app's stdio on the 8250 serial port ({@link Stdio#SERIAL}),
 *       booted through {@link VmBuilder} with the VMM's serial output going to the counter (the
 *       serial port costs about one exit per byte, so it gets fewer bytes).</li>
 * </ul>
 * Each transfer is bounded by {@code --timeout-seconds}: what arrived by then is recorded as an
 * incomplete transfer.
 *
 * <pre>  console --out FILE [--virtio-bytes N] [--serial-bytes N] [--iterations K] [--timeout-seconds S]</pre>
 */
public final class ConsoleThroughput {
    static final int MEMORY_MIB = 64;
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration END_TIMEOUT = Duration.ofSeconds(30);
    private static final int READ_CHUNK = 64 * 1024;

    private ConsoleThroughput() {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        long virtioBytes = a.integer("virtio-bytes", 8 << 20);
        long serialBytes = a.integer("serial-bytes", 256 << 10);
        int iterations = a.integer("iterations", 3);
        Duration timeout = Duration.ofSeconds(a.integer("timeout-seconds", 120));
        Path kernel = KernelLocator.fromEnvironment().locate().path();
        Path program = NativePrograms.require("console-flood");

        List<Map<String, Object>> runs = new ArrayList<>();
        for (int i = 0; i < iterations; i++) {
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("iteration", i);
            boolean virtioFirst = i % 2 == 0;
            run.put("virtioFirst", virtioFirst);
            for (int k = 0; k < 2; k++) {
                if ((k == 0) == virtioFirst) {
                    run.put("virtio", virtio(program, virtioBytes, timeout));
                } else {
                    run.put("serial", serial(program, kernel, serialBytes, timeout));
                }
            }
            runs.add(run);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("kernel", kernel.toString());
        result.put("memoryMiB", MEMORY_MIB);
        result.put("virtioBytes", virtioBytes);
        result.put("serialBytes", serialBytes);
        result.put("timeoutSeconds", timeout.toSeconds());
        result.put("kvmDebugfs", KvmDebugfs.available());
        result.put("runs", runs);
        Json.write(a.path("out"), result);
    }

    /** One transfer over the virtio console, through the public API. */
    static Map<String, Object> virtio(Path program, long bytes, Duration timeout) throws IOException, InterruptedException {
        ArrivalLog log = new ArrivalLog(bytes, System::nanoTime);
        Arrow arrow = Arrow.of(program).args(Long.toString(bytes)).memory(MEMORY_MIB, SizeUnit.MiB)
                .stdin(Input.pipe()).stdout(Output.pipe())
                .stderr(Output.consumer(line -> System.err.println("[console] guest: " + line)));
        try (ArrowProcess p = arrow.start()) {
            Thread reader = new Thread(() -> drain(p.getInputStream(), log), "console-bench-reader");
            reader.setDaemon(true);
            reader.start();
            if (!log.awaitReady(READY_TIMEOUT)) {
                p.destroyForcibly();
                throw new IllegalStateException("console-flood (virtio) did not get ready within " + READY_TIMEOUT.toSeconds()
                        + " s: " + p.outcome().getNow(null) + ", output: " + log.preamble());
            }
            Map<String, Long> vmmBefore = exits(p);
            Map<String, Long> kvmBefore = kvmStats();
            OutputStream stdin = p.getOutputStream();
            stdin.write('g');
            stdin.flush();
            boolean complete = log.awaitComplete(timeout);
            Map<String, Long> vmmAfter = exits(p);
            Map<String, Long> kvmAfter = kvmStats();
            ArrivalLog.Arrivals arrivals = log.arrivals();
            if (complete) {
                stdin.close(); // end of input: the program exits
            } else {
                p.destroyForcibly();
            }
            if (!p.waitFor(END_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            reader.join(END_TIMEOUT.toMillis());
            Map<String, Object> m = transfer("virtio", bytes, complete, arrivals, Rates.delta(vmmBefore, vmmAfter),
                    Rates.delta(kvmBefore, kvmAfter));
            ArrowOutcome ended = p.outcome().getNow(null);
            m.put("outcome", String.valueOf(ended));
            m.put("exitCode", ended instanceof ArrowOutcome.Exited e ? e.code() : null);
            return m;
        }
    }

    /** One transfer over the serial port: the image with serial stdio, booted through the VMM alone. */
    static Map<String, Object> serial(Path program, Path kernel, long bytes, Duration timeout)
            throws IOException, InterruptedException {
        ArrowSpec spec = ArrowSpec.builder(program).args(Long.toString(bytes)).memory(MEMORY_MIB, SizeUnit.MiB).build();
        GuestImage image = GuestImage.assemble(spec, kernel, Stdio.SERIAL);
        ArrivalLog log = new ArrivalLog(bytes, System::nanoTime);
        AtomicReference<InitStatus> finalStatus = new AtomicReference<>();
        VmConfig config = VmConfig.builder().kernel(image.kernel()).initrd(image.initramfsSize(), image.initramfs()::writeTo)
                .commandLine(KernelCommandLine.of(image.kernelParameters().entries()))
                .memoryBytes(MEMORY_MIB * (1L << 20)).vcpuCount(1)
                .serialOutput(new OutputStream() {
                    @Override
                    public void write(int b) {
                        log.accept(new byte[] {(byte) b}, 0, 1);
                    }

                    @Override
                    public void write(byte[] b, int off, int len) {
                        log.accept(b, off, len);
                    }
                })
                .statusListener(line -> InitStatus.parse(line).filter(InitStatus::isFinal)
                        .ifPresent(s -> finalStatus.compareAndSet(null, s)))
                .build();
        try (RunningVm vm = VmBuilder.start(config)) {
            if (!log.awaitReady(READY_TIMEOUT)) {
                vm.stop();
                throw new IllegalStateException("console-flood (serial) did not get ready within " + READY_TIMEOUT.toSeconds()
                        + " s; console: " + log.preamble() + ", init: " + finalStatus.get());
            }
            Map<String, Long> vmmBefore = exits(vm);
            Map<String, Long> kvmBefore = kvmStats();
            sendSerial(vm, (byte) 'g');
            boolean complete = log.awaitComplete(timeout);
            Map<String, Long> vmmAfter = exits(vm);
            Map<String, Long> kvmAfter = kvmStats();
            ArrivalLog.Arrivals arrivals = log.arrivals();
            if (complete) {
                sendSerial(vm, (byte) 'e');
            } else {
                vm.stop();
            }
            Optional<VmOutcome> outcome = vm.awaitExit(END_TIMEOUT);
            if (outcome.isEmpty()) {
                vm.stop();
            }
            Map<String, Object> m = transfer("serial", bytes, complete, arrivals, Rates.delta(vmmBefore, vmmAfter),
                    Rates.delta(kvmBefore, kvmAfter));
            InitStatus status = finalStatus.get();
            m.put("outcome", status + ", VM: " + outcome.map(VmOutcome::describe).orElse("stopped"));
            m.put("exitCode", status instanceof InitStatus.Exited e ? e.code() : null);
            m.put("commandLine", image.kernelParameters().joined());
            return m;
        }
    }

    /** Offers one byte to the guest's UART until its receive FIFO takes it. */
    private static void sendSerial(RunningVm vm, byte b) throws InterruptedException {
        long deadline = System.nanoTime() + END_TIMEOUT.toNanos();
        while (vm.writeSerialInput(new byte[] {b}, 0, 1) == 0) {
            if (!vm.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("the serial guest took no input (alive: " + vm.isAlive() + ")");
            }
            Thread.sleep(1);
        }
    }

    /** The JSON of one transfer, also logged. */
    private static Map<String, Object> transfer(String path, long requested, boolean complete, ArrivalLog.Arrivals arrivals,
                                                Map<String, Long> vmmExits, Map<String, Long> kvmStats) {
        log(path, arrivals.bytes(), complete, arrivals, vmmExits, kvmStats);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requestedBytes", requested);
        m.put("bytes", arrivals.bytes());
        m.put("complete", complete);
        m.put("firstToLastNanos", arrivals.firstToLastNanos());
        m.put("firstArrivalBytes", arrivals.firstArrivalBytes());
        m.put("vmmExits", vmmExits);
        m.put("kvmStats", kvmStats);
        return m;
    }

    private static void drain(InputStream in, ArrivalLog log) {
        byte[] buffer = new byte[READ_CHUNK];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                log.accept(buffer, 0, n);
            }
        } catch (IOException e) {
            // the arrow was closed: the transfer is over either way
        }
    }

    private static Map<String, Long> exits(ArrowProcess p) {
        return p.statistics().map(s -> (Map<String, Long>) new TreeMap<>(s.exitsByKind())).orElse(Map.of());
    }

    private static Map<String, Long> exits(RunningVm vm) {
        Map<String, Long> m = new TreeMap<>();
        for (Map.Entry<ExitKind, Long> e : vm.exitCounts().entrySet()) {
            m.put(e.getKey().name().toLowerCase(Locale.ROOT).replace('_', '-'), e.getValue());
        }
        return m;
    }

    private static Map<String, Long> kvmStats() throws IOException {
        return KvmDebugfs.readFor(ProcessHandle.current().pid());
    }

    private static void log(String path, long bytes, boolean complete, ArrivalLog.Arrivals a, Map<String, Long> vmmExits,
                            Map<String, Long> kvmStats) {
        long vmm = vmmExits.values().stream().mapToLong(Long::longValue).sum();
        Long kvm = kvmStats.get("exits");
        System.err.printf(Locale.ROOT, "[console] %s: %d bytes%s in %.1f ms: %s MiB/s, VMM exits %.0f/MiB, KVM exits %s/MiB%n",
                path, bytes, complete ? "" : " (incomplete)", a.firstToLastNanos() / 1e6, Fmt.significant(a.mibPerSecond()),
                Rates.perMib(vmm, bytes), kvm == null ? "?" : String.format(Locale.ROOT, "%.0f", Rates.perMib(kvm, bytes)));
    }
}
