package dev.arrow.bench;

import dev.arrow.config.ArrowSpec;
import dev.arrow.image.GuestImage;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemoryOutputStream;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Initramfs assembly as {@code Arrow.start()} does it ({@link GuestImage#assemble}: init, the app,
 * its launch spec, command line; then the newc cpio streamed into guest memory, as the VMM writes
 * the initrd) for an app of 2 MiB and of 50 MiB: the static hello padded with random bytes
 * (incompressible; the initramfs is not compressed anyway). The guest memory is mapped once per
 * trial, so only the first operation pays for faulting its pages in.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class InitramfsBenchmark {
    @Param({"2", "50"})
    public int appMiB;

    private Path dir;
    private ArrowSpec spec;
    private Path kernel;
    private MmapGuestMemory memory;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        dir = Files.createTempDirectory("arrow-initramfs");
        Path app = dir.resolve("app");
        byte[] hello = Files.readAllBytes(NativePrograms.require("hello"));
        long size = appMiB * (1L << 20);
        if (hello.length > size) {
            throw new IllegalStateException("the hello binary is larger than " + appMiB + " MiB");
        }
        try (OutputStream out = Files.newOutputStream(app)) {
            out.write(hello);
            Random random = new Random(42);
            byte[] chunk = new byte[1 << 16];
            for (long left = size - hello.length; left > 0; left -= chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(left, chunk.length));
            }
        }
        app.toFile().setExecutable(true);
        kernel = dir.resolve("vmlinux"); // only passed through by assemble
        spec = ArrowSpec.builder(app).args("a", "b").env("GREETING", "hello").build();
        memory = MmapGuestMemory.forRam(size + 64 * Layout.MiB);
    }

    @Benchmark
    public GuestImage assemble() throws IOException {
        GuestImage image = GuestImage.assemble(spec, kernel);
        try (GuestMemoryOutputStream out = new GuestMemoryOutputStream(memory, GuestAddress.of(Layout.HIGH_MEMORY_START),
                image.initramfsSize())) {
            image.initramfs().writeTo(out);
        }
        return image;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        memory.close();
        Files.deleteIfExists(dir.resolve("app"));
        Files.deleteIfExists(dir);
    }
}
