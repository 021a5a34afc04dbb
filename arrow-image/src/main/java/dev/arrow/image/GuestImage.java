package dev.arrow.image;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.InitramfsMemory;
import dev.arrow.image.cmdline.KernelParameters;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.init.NetworkSettings;
import dev.arrow.image.init.Stdio;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What one arrow boots: the kernel, the initramfs (our init, the app, its launch spec, the
 * user's files) and the kernel parameters init needs, assembled from a validated {@link ArrowSpec}.
 * The initramfs is a layout of exactly {@link Initramfs#size()} bytes, not bytes: host files are
 * read when it is written, which {@code KvmLauncher} has the VMM do straight into guest memory, so
 * an app costs no heap of its size. Public for the benchmarks (initramfs assembly, and peers booting
 * the very same image); not API.
 */
public record GuestImage(Path kernel, Initramfs initramfs, KernelParameters kernelParameters) {

    /** Where the app lives in the guest. */
    static final String APP_PATH = "/arrow/app";

    /**
     * Builds the image of {@code spec} (not checked here: see {@code Arrow.start()}) for {@code kernel},
     * with the app's stdio on the serial console: what a plain QEMU boots (the benchmarks' peers).
     */
    public static GuestImage assemble(ArrowSpec spec, Path kernel) {
        return assemble(spec, kernel, Stdio.SERIAL);
    }

    /**
     * Builds the image of {@code spec} for {@code kernel} with the app's stdio where {@code stdio} says:
     * {@link Stdio#VIRTIO} is what {@code KvmLauncher} boots (its VMM announces the virtio devices on the
     * command line itself).
     */
    public static GuestImage assemble(ArrowSpec spec, Path kernel, Stdio stdio) {
        return assemble(spec, kernel, stdio, Optional.empty());
    }

    /**
     * Builds the image of {@code spec} for {@code kernel}, with the app's stdio where {@code stdio} says and,
     * when {@code network} is present, init configuring eth0 with it before the app starts.
     */
    public static GuestImage assemble(ArrowSpec spec, Path kernel, Stdio stdio, Optional<NetworkSettings> network) {
        return of(spec, kernel, initramfs(spec, stdio, network));
    }

    /**
     * The initramfs of {@code spec}'s image (see {@link #assemble(ArrowSpec, Path, Stdio, Optional)}): the part
     * that does not depend on the kernel, so that its memory needs can be checked before a kernel is looked up.
     */
    public static Initramfs initramfs(ArrowSpec spec, Stdio stdio, Optional<NetworkSettings> network) {
        LaunchSpec.Builder launch = launchSpecBuilder(spec).stdio(stdio);
        network.ifPresent(launch::network);
        Initramfs.Builder initramfs = ArrowInitramfs.builder(spec.binary(), launch.build());
        for (GuestFile f : spec.files()) {
            if (f.source() instanceof GuestFile.HostFile host) {
                if (f.mode().isPresent()) initramfs.file(f.guestPath(), host.path(), f.mode().getAsInt());
                else initramfs.file(f.guestPath(), host.path());
            } else if (f.source() instanceof GuestFile.Content content) {
                initramfs.file(f.guestPath(), content.bytes(), f.mode().orElse(GuestFile.DEFAULT_MODE));
            }
        }
        return initramfs.build();
    }

    /** The image of {@code spec} booting {@code kernel} with {@code initramfs}, built by {@link #initramfs} for the same spec. */
    public static GuestImage of(ArrowSpec spec, Path kernel, Initramfs initramfs) {
        return new GuestImage(kernel, initramfs, KernelParameters.forInit(spec.debugConsole()));
    }

    /** The initramfs's exact size in bytes. */
    public long initramfsSize() {
        return initramfs.size();
    }

    /** The guest RAM the initramfs needs to arrive whole. */
    public InitramfsMemory memoryNeeds() {
        return InitramfsMemory.of(initramfs);
    }

    /**
     * The whole initramfs in a byte array (host files read now): for tests and for peers that need it as
     * bytes; {@code KvmLauncher} streams it instead.
     *
     * @throws UncheckedIOException if a host file cannot be read, or no longer has the size it had
     * @throws IllegalStateException if the archive does not fit in an array
     */
    public byte[] initramfsBytes() {
        long size = initramfs.size();
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("the initramfs has " + size + " bytes, more than a byte array holds");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) size);
        try {
            initramfs.writeTo(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the initramfs failed: " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }

    /** The app's launch spec as init reads it: argv, env, cwd, ids, limits, hostname. */
    static LaunchSpec launchSpec(ArrowSpec spec) {
        return launchSpecBuilder(spec).build();
    }

    private static LaunchSpec.Builder launchSpecBuilder(ArrowSpec spec) {
        LaunchSpec.Builder b = LaunchSpec.builder()
                .executable(APP_PATH)
                .argv0(spec.binary().getFileName().toString())
                .args(spec.args())
                .environment(spec.env())
                .workingDirectory(spec.workingDirectory())
                .uid(spec.uid())
                .gid(spec.gid())
                .hostname(spec.hostname());
        spec.rlimits().values().forEach(b::limit);
        return b;
    }
}
