package dev.arrow.internal.kvm;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.config.Rlimit;
import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.cmdline.KernelCommandLine;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.init.NetworkSettings;
import dev.arrow.image.init.ResourceLimit;
import dev.arrow.image.init.Stdio;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What one arrow boots: the kernel, the initramfs (our init, the app, its launch spec, the
 * user's files) and the kernel command line, assembled from a validated {@link ArrowSpec}.
 * Public for the benchmarks (initramfs assembly, and peers booting the very same image); not API.
 */
public record GuestImage(Path kernel, byte[] initramfs, String commandLine) {

    /** Where the app lives in the guest. */
    static final String APP_PATH = "/arrow/app";

    /**
     * Builds the image of {@code spec} (not checked here: see {@link dev.arrow.Arrow#start()}) for {@code kernel},
     * with the app's stdio on the serial console: what a plain QEMU boots (the benchmarks' peers).
     */
    public static GuestImage assemble(ArrowSpec spec, Path kernel) {
        return assemble(spec, kernel, Stdio.SERIAL);
    }

    /**
     * Builds the image of {@code spec} for {@code kernel} with the app's stdio where {@code stdio} says:
     * {@link Stdio#VIRTIO} is what {@link KvmLauncher} boots (its VMM announces the virtio devices on the
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
        Initramfs image = initramfs.build();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) Math.min(image.size(), Integer.MAX_VALUE - 8));
        try {
            image.writeTo(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("writing the initramfs failed: " + e.getMessage(), e);
        }
        String cmdline = KernelCommandLine.builder().debug(spec.debugConsole()).build().toString();
        return new GuestImage(kernel, bytes.toByteArray(), cmdline);
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
        for (Rlimit limit : spec.rlimits().values()) {
            b.limit(dev.arrow.image.init.Rlimit.valueOf(limit.resource().name()),
                    ResourceLimit.of(imageLimit(limit.soft()), imageLimit(limit.hard())));
        }
        return b;
    }

    private static long imageLimit(long configLimit) {
        return configLimit == Rlimit.UNLIMITED ? ResourceLimit.UNLIMITED : configLimit;
    }
}
