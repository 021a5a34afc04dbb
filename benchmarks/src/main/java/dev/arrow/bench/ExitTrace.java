package dev.arrow.bench;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.ArrowTemplate;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.config.SizeUnit;
import dev.arrow.kvm.loader.KernelSnapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The three guest lives whose VM exits {@code scripts/lab/exit-trace} records in L1's KVM trace (docs/idle.md,
 * docs/templates.md), each between two lines in the trace ({@code trace_marker}: {@code arrow-exit-trace begin NAME}
 * and {@code ... end NAME}):
 * <ol>
 *   <li>{@code cold}: a cold boot of the hello arrow, from {@code start()} to {@code waitFor()};</li>
 *   <li>{@code idle}: a {@code hello-wait} arrow, from its greeting on, idle for {@code --idle-seconds}; at its end the
 *       guest's RAM is copied to {@code --out}/guest-ram.bin (read from this process's mapping of it), so that the
 *       guest kernel's pending timers can be read from it ({@code scripts/guest-timers}); then it is ended;</li>
 *   <li>{@code clone}: one clone of the hello arrow's template (the template's boot is outside the markers).</li>
 * </ol>
 * Guests have {@value #MEMORY_MIB} MiB, a size no other mapping of this JVM has, to find the RAM in /proc/self/maps.
 *
 * <pre>  exit-trace --out DIR [--idle-seconds S]</pre>
 */
public final class ExitTrace {
    static final int MEMORY_MIB = 72;
    private static final Path MARKER = Path.of("/sys/kernel/tracing/trace_marker");

    private ExitTrace() {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Path out = a.path("out");
        int idleSeconds = a.integer("idle-seconds", 20);
        Arrow hello = Arrow.of(NativePrograms.require("hello")).memory(MEMORY_MIB, SizeUnit.MiB)
                .stdin(Input.empty()).stdout(Output.pipe()).stderr(Output.discard());
        Arrow helloWait = Arrow.of(NativePrograms.require("hello-wait")).memory(MEMORY_MIB, SizeUnit.MiB)
                .stdin(Input.pipe()).stdout(Output.pipe()).stderr(Output.discard());

        mark("begin cold");
        try (ArrowProcess p = hello.start()) {
            p.getInputStream().readAllBytes();
            p.waitFor();
        }
        mark("end cold");

        try (ArrowProcess p = helloWait.start()) {
            InputStream in = p.getInputStream();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                // the greeting's line
            }
            mark("begin idle");
            Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
            mark("end idle");
            dumpGuestRam(out.resolve("guest-ram.bin"));
            OutputStream stdin = p.getOutputStream();
            stdin.write('\n');
            stdin.flush();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }

        try (ArrowTemplate template = hello.template()) {
            mark("begin clone");
            try (ArrowProcess p = template.start()) {
                p.getInputStream().readAllBytes();
                p.waitFor();
            }
            mark("end clone");
        }
    }

    private static void mark(String what) throws IOException {
        System.err.println("[exit-trace] " + what);
        Files.writeString(MARKER, "arrow-exit-trace " + what + "\n", StandardCharsets.US_ASCII);
    }

    /**
     * Copies the virtual range around this process's first mapping of the guest kernel's snapshot
     * ({@code /memfd:arrow-kernel:...}, mapped over the guest's RAM at the kernel's load address): from 32 MiB below it
     * to {@value #MEMORY_MIB} MiB + 32 MiB above, pages that cannot be read as zeros. {@code file}.txt says where the
     * mapping starts in the copy and at which offset of its file, from which scripts/guest-timers finds guest physical 0.
     */
    private static void dumpGuestRam(Path file) throws IOException {
        List<String> maps = Files.readAllLines(Path.of("/proc/self/maps"));
        for (String line : maps) {
            if (!line.contains(KernelSnapshot.FILE_NAME_PREFIX) || line.contains(KernelSnapshot.PATCHED_SUFFIX)) {
                continue;
            }
            String[] f = line.split("\\s+");
            long kernelMap = Long.parseUnsignedLong(f[0].split("-")[0], 16);
            long fileOffset = Long.parseUnsignedLong(f[2], 16);
            long below = 32L << 20;
            long start = kernelMap - below;
            long size = below + ((long) MEMORY_MIB << 20) + below;
            Files.writeString(file.resolveSibling(file.getFileName() + ".txt"), "kernel-mapping-in-dump " + below
                    + "\nkernel-mapping-file-offset " + fileOffset + "\n" + line + "\n");
            byte[] page = new byte[4096];
            byte[] zero = new byte[4096];
            try (RandomAccessFile mem = new RandomAccessFile("/proc/self/mem", "r");
                 OutputStream o = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
                for (long at = start; at < start + size; at += page.length) {
                    try {
                        mem.seek(at);
                        mem.readFully(page);
                        o.write(page);
                    } catch (IOException e) {
                        o.write(zero);
                    }
                }
            }
            System.err.println("[exit-trace] guest RAM copied around " + line);
            return;
        }
        System.err.println("[exit-trace] no mapping of a kernel snapshot: guest RAM not copied");
    }
}
