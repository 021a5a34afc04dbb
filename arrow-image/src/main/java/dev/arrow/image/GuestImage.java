package dev.arrow.image;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.InitramfsMemory;
import dev.arrow.image.cmdline.KernelParameters;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.LaunchFile;
import dev.arrow.image.init.LaunchMessage;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.init.NetworkSettings;
import dev.arrow.image.init.SpecFile;
import dev.arrow.image.init.Stdio;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What one arrow boots: the kernel, the initramfs (our init, the app, its launch spec, the
 * user's files) and the kernel parameters init needs, assembled from a validated {@link ArrowSpec}.
 * The initramfs is a layout of exactly {@link Initramfs#size()} bytes, not bytes: host files are
 * read when it is written, which {@code KvmLauncher} has the VMM do straight into guest memory, so
 * an app costs no heap of its size. Public for the benchmarks (initramfs assembly, and peers booting
 * the very same image); not API.
 */
public record GuestImage(Path kernel, Initramfs initramfs, KernelParameters kernelParameters) {

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
        return initramfs(spec, stdio, network, LoaderPlan.copyAll(spec));
    }

    /**
     * The initramfs of {@code spec} whose binary and files go where {@code plan} says: what it maps is left out, and
     * init mounts the plan's images before anything else.
     */
    public static Initramfs initramfs(ArrowSpec spec, Stdio stdio, Optional<NetworkSettings> network, LoaderPlan plan) {
        LaunchSpec.Builder launch = launchSpecBuilder(spec, plan).stdio(stdio);
        network.ifPresent(launch::network);
        return withUserFiles(initramfsBuilder(spec, launch.build(), plan), plan);
    }

    private static Initramfs.Builder initramfsBuilder(ArrowSpec spec, LaunchSpec launch, LoaderPlan plan) {
        Initramfs.Builder builder = ArrowInitramfs.builder(launch);
        return plan.binaryCopied() ? plan.addBinary(builder, launch.executable().value(), spec.binary()) : builder;
    }

    /**
     * The initramfs of a template of {@code spec} frozen at the app point: the one {@link #initramfs} builds with
     * stdio on the virtio console, whose init, when {@code readyPort} is present, marks
     * {@link dev.arrow.image.init.InitProtocol#MARK_APP_READY} once the app listens on that guest TCP port.
     */
    public static Initramfs appTemplateInitramfs(ArrowSpec spec, Optional<NetworkSettings> network,
                                                 OptionalInt readyPort, LoaderPlan plan) {
        LaunchSpec.Builder launch = launchSpecBuilder(spec, plan).stdio(Stdio.VIRTIO);
        network.ifPresent(launch::network);
        readyPort.ifPresent(launch::readyPort);
        return withUserFiles(initramfsBuilder(spec, launch.build(), plan), plan);
    }

    /**
     * The initramfs of a template of {@code spec} frozen at the init point: init, the app, the user's files and a
     * template spec ({@link SpecFile#encodeTemplate()}, stdio on the virtio console). Booted, its init stops at its
     * template point and waits for a clone's {@link #cloneLaunch launch message}; the spec's args, env and the like
     * are not in it.
     */
    public static Initramfs templateInitramfs(ArrowSpec spec) {
        return templateInitramfs(spec, LoaderPlan.copyAll(spec));
    }

    /**
     * The initramfs of a template of {@code spec} frozen at the init point, its binary and files where {@code plan} says:
     * its init mounts the plan's images before the template point, so that every clone shares them.
     */
    public static Initramfs templateInitramfs(ArrowSpec spec, LoaderPlan plan) {
        Initramfs.Builder builder = ArrowInitramfs.templateBuilder(plan.mounts());
        if (plan.binaryCopied()) plan.addBinary(builder, LaunchSpec.DEFAULT_EXECUTABLE, spec.binary());
        return withUserFiles(builder, plan);
    }

    /** The image of a template of {@code spec} for {@code kernel}: {@link #of} with {@link #templateInitramfs}. */
    public static GuestImage assembleTemplate(ArrowSpec spec, Path kernel) {
        return of(spec, kernel, templateInitramfs(spec));
    }

    private static Initramfs withUserFiles(Initramfs.Builder initramfs, LoaderPlan plan) {
        for (GuestFile f : plan.copiedFiles()) {
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

    /**
     * The launch message ({@link LaunchMessage}) that starts one clone of a template made by {@link #assembleTemplate}:
     * the program, args, env, working directory, ids, limits and hostname of {@code cloneSpec}, eth0 configured with
     * {@code network} when present, the wall clock set to {@code now}, {@code entropy} (16..256 host random bytes) mixed
     * into the guest's pool, and {@code cloneFiles} written before the app starts (host files read now; the template's
     * own files are in its image already).
     *
     * @throws dev.arrow.image.init.InvalidLaunchSpecException if a value is out of range, a file path is Arrow's own, or
     *         the spec with its files exceeds {@link SpecFile#MAX_BYTES}
     * @throws ImageException if a host file cannot be read
     */
    public static byte[] cloneLaunch(ArrowSpec cloneSpec, List<GuestFile> cloneFiles, Optional<NetworkSettings> network,
                                     Instant now, byte[] entropy) {
        return cloneLaunch(cloneSpec, cloneFiles, network, now, entropy, LaunchSpec.DEFAULT_EXECUTABLE);
    }

    /**
     * {@link #cloneLaunch(ArrowSpec, List, Optional, Instant, byte[])} of a template whose program init finds at
     * {@code executable} (its {@link LoaderPlan#executable()}).
     */
    public static byte[] cloneLaunch(ArrowSpec cloneSpec, List<GuestFile> cloneFiles, Optional<NetworkSettings> network,
                                     Instant now, byte[] entropy, String executable) {
        LaunchSpec.Builder launch = launchSpecBuilder(cloneSpec).executable(executable).stdio(Stdio.VIRTIO)
                .realtimeClock(now).entropy(entropy);
        network.ifPresent(launch::network);
        for (GuestFile f : cloneFiles) launch.file(launchFile(f));
        return LaunchMessage.encode(launch.build());
    }

    private static LaunchFile launchFile(GuestFile f) {
        GuestPath path = GuestPath.of(f.guestPath());
        if (f.source() instanceof GuestFile.Content content) {
            return new LaunchFile(path, f.mode().orElse(GuestFile.DEFAULT_MODE), content.bytes());
        }
        Path host = ((GuestFile.HostFile) f.source()).path();
        try {
            if (!Files.isRegularFile(host))
                throw new ImageException("host file " + host + " for guest path " + path + " is not a regular file: pass one");
            long size = Files.size(host);
            if (size > SpecFile.MAX_BYTES)
                throw new ImageException("host file " + host + " for guest path " + path + " has " + size + " bytes; a clone's"
                        + " files travel in its launch spec of at most " + SpecFile.MAX_BYTES + " bytes: put it in the template");
            int mode = f.mode().isPresent() ? f.mode().getAsInt() : Initramfs.Builder.hostMode(host);
            return new LaunchFile(path, mode, Files.readAllBytes(host));
        } catch (IOException e) {
            throw new ImageException("cannot read host file " + host + " for guest path " + path + ": " + e.getMessage(), e);
        }
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

    private static LaunchSpec.Builder launchSpecBuilder(ArrowSpec spec, LoaderPlan plan) {
        return launchSpecBuilder(spec).executable(plan.executable()).images(plan.mounts());
    }

    private static LaunchSpec.Builder launchSpecBuilder(ArrowSpec spec) {
        LaunchSpec.Builder b = LaunchSpec.builder()
                .executable(LaunchSpec.DEFAULT_EXECUTABLE) // where ArrowInitramfs puts the app, in a template too
                .argv0(spec.binary().getFileName().toString())
                .args(spec.args())
                .environment(spec.env())
                .workingDirectory(spec.workingDirectory())
                .uid(spec.uid())
                .gid(spec.gid())
                .hostname(spec.hostname())
                .stderrToStdout(spec.redirectErrorStream())
                .copyOut(spec.copyOutOnExit(), spec.copyOutMaxBytes());
        spec.rlimits().values().forEach(b::limit);
        return b;
    }
}
