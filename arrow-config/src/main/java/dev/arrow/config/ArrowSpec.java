package dev.arrow.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What to run in a microVM and how: the program and its arguments, environment, user, resources,
 * network, extra files, kernel, timeout. An immutable, validated value: every {@code ArrowSpec}
 * came out of {@link Builder#build()}, which rejects invalid specs with a {@link SpecException}
 * listing all problems. Validation is pure: it does not look at the host's file system (whether the
 * binary, kernel and host files exist is checked when the guest starts).
 *
 * <p>The JSON form is read and written by {@link ArrowSpecJson}.
 */
public final class ArrowSpec {

    /**
     * Memory given to a guest unless asked otherwise: 128 MiB, or more when the binary and files need it
     * (see {@link #memoryGiven()}).
     */
    public static final long DEFAULT_MEMORY_BYTES = 128L << 20;
    /** Least memory a guest can boot with: 32 MiB. */
    public static final long MIN_MEMORY_BYTES = 32L << 20;
    /** Most memory a guest can be given: 16 GiB. */
    public static final long MAX_MEMORY_BYTES = 16L << 30;
    /** Most vCPUs a guest can be given. */
    public static final int MAX_CPUS = 32;
    /** Hostname of the guest unless asked otherwise. */
    public static final String DEFAULT_HOSTNAME = "arrow";
    /** Working directory of the program unless asked otherwise. */
    public static final String DEFAULT_WORKING_DIRECTORY = "/";
    /** File content bytes the {@link #copyOutOnExit()} paths may bring back together unless asked otherwise: 256 MiB. */
    public static final long DEFAULT_COPY_OUT_MAX_BYTES = 256L << 20;

    private final Path binary;
    private final List<String> args;
    private final Map<String, String> env;
    private final String workingDirectory;
    private final int uid;
    private final int gid;
    private final long memoryBytes;
    private final boolean memoryGiven;
    private final int cpus;
    private final Net net;
    private final List<GuestFile> files;
    private final Path kernel;
    private final Duration timeout;
    private final boolean debugConsole;
    private final String hostname;
    private final Map<RlimitResource, Rlimit> rlimits;
    private final List<String> copyOutOnExit;
    private final long copyOutMaxBytes;
    private final boolean redirectErrorStream;

    private ArrowSpec(Builder b) {
        binary = b.binary;
        args = List.copyOf(b.args);
        env = Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
        workingDirectory = b.workingDirectory;
        uid = b.uid;
        gid = b.gid;
        memoryBytes = b.memoryBytes;
        memoryGiven = b.memoryGiven;
        cpus = b.cpus;
        net = b.net;
        files = List.copyOf(b.files);
        kernel = b.kernel;
        timeout = b.timeout;
        debugConsole = b.debugConsole;
        hostname = b.hostname;
        rlimits = Collections.unmodifiableMap(new EnumMap<>(b.rlimits));
        copyOutOnExit = List.copyOf(b.copyOutOnExit);
        copyOutMaxBytes = b.copyOutMaxBytes;
        redirectErrorStream = b.redirectErrorStream;
    }

    /** A builder for running the host file {@code binary}, with every other field at its default. */
    public static Builder builder(Path binary) {
        return new Builder(binary);
    }

    /** A builder holding this spec's values. */
    public Builder toBuilder() {
        Builder b = new Builder(binary);
        b.args.addAll(args);
        b.env.putAll(env);
        b.workingDirectory = workingDirectory;
        b.uid = uid;
        b.gid = gid;
        b.memoryBytes = memoryBytes;
        b.memoryGiven = memoryGiven;
        b.cpus = cpus;
        b.net = net;
        b.files.addAll(files);
        b.kernel = kernel;
        b.timeout = timeout;
        b.debugConsole = debugConsole;
        b.hostname = hostname;
        b.rlimits.putAll(rlimits);
        b.copyOutOnExit.addAll(copyOutOnExit);
        b.copyOutMaxBytes = copyOutMaxBytes;
        b.redirectErrorStream = redirectErrorStream;
        return b;
    }

    /** Host path of the statically linked program to run. */
    public Path binary() {
        return binary;
    }

    /** Arguments after {@code argv[0]}. */
    public List<String> args() {
        return args;
    }

    /** The program's environment, exactly (nothing is inherited from the host), in insertion order. */
    public Map<String, String> env() {
        return env;
    }

    /** Working directory of the program in the guest. */
    public String workingDirectory() {
        return workingDirectory;
    }

    /** User id the program runs as in the guest. */
    public int uid() {
        return uid;
    }

    /** Group id the program runs as in the guest. */
    public int gid() {
        return gid;
    }

    /** Guest RAM in bytes: as asked for, else {@link #DEFAULT_MEMORY_BYTES}. */
    public long memoryBytes() {
        return memoryBytes;
    }

    /**
     * Whether the memory size was asked for. If not, a backend gives the guest more than
     * {@link #memoryBytes()} when the binary and files need more; an explicit size too small for them is
     * refused at start.
     */
    public boolean memoryGiven() {
        return memoryGiven;
    }

    /** Number of vCPUs. */
    public int cpus() {
        return cpus;
    }

    /** The guest's network. */
    public Net net() {
        return net;
    }

    /** Extra files placed into the guest, in order. */
    public List<GuestFile> files() {
        return files;
    }

    /** The guest kernel to boot; empty means Arrow's default kernel. */
    public Optional<Path> kernel() {
        return Optional.ofNullable(kernel);
    }

    /** Wall-clock limit for the program, after which the VM is stopped; empty means none. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** Whether the kernel's own console output is shown (off: the kernel is quiet). */
    public boolean debugConsole() {
        return debugConsole;
    }

    /** Hostname of the guest. */
    public String hostname() {
        return hostname;
    }

    /** Resource limits applied to the program, by resource. */
    public Map<RlimitResource, Rlimit> rlimits() {
        return rlimits;
    }

    /**
     * Guest files and directories sent to the host after the program ended and before the VM stops, in order:
     * what {@code ArrowProcess.copyFileFromGuest} serves once the guest is gone.
     */
    public List<String> copyOutOnExit() {
        return copyOutOnExit;
    }

    /** File content bytes the {@link #copyOutOnExit()} paths may bring back together. */
    public long copyOutMaxBytes() {
        return copyOutMaxBytes;
    }

    /**
     * Whether the program's stderr is its stdout, as {@link ProcessBuilder#redirectErrorStream(boolean)} makes it: init
     * gives the program one channel as fds 1 and 2, so the host reads both streams in the order they were written.
     */
    public boolean redirectErrorStream() {
        return redirectErrorStream;
    }

    /**
     * Why {@code guestPath} cannot be copied out of a guest, or empty if it can: it must be absolute, in normal form
     * (no empty, "." or ".." segments), without NUL and at most {@link LinuxLimits#MAX_PATH_BYTES} bytes.
     */
    public static Optional<String> copyOutPathProblem(String guestPath) {
        return Optional.ofNullable(SpecValidator.guestPathProblem(Objects.requireNonNull(guestPath, "guestPath"), false));
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof ArrowSpec s)) {
            return false;
        }
        return binary.equals(s.binary) && args.equals(s.args)
                && List.copyOf(env.entrySet()).equals(List.copyOf(s.env.entrySet()))
                && workingDirectory.equals(s.workingDirectory) && uid == s.uid && gid == s.gid
                && memoryBytes == s.memoryBytes && memoryGiven == s.memoryGiven && cpus == s.cpus && net.equals(s.net)
                && files.equals(s.files) && Objects.equals(kernel, s.kernel)
                && Objects.equals(timeout, s.timeout) && debugConsole == s.debugConsole
                && hostname.equals(s.hostname) && rlimits.equals(s.rlimits) && copyOutOnExit.equals(s.copyOutOnExit)
                && copyOutMaxBytes == s.copyOutMaxBytes && redirectErrorStream == s.redirectErrorStream;
    }

    @Override
    public int hashCode() {
        return Objects.hash(binary, args, env, workingDirectory, uid, gid, memoryBytes, memoryGiven, cpus, net, files,
                kernel, timeout, debugConsole, hostname, rlimits, copyOutOnExit, copyOutMaxBytes, redirectErrorStream);
    }

    @Override
    public String toString() {
        return "ArrowSpec[binary=" + binary + ", args=" + args + ", env=" + env.keySet()
                + ", workingDirectory=" + workingDirectory + ", uid=" + uid + ", gid=" + gid
                + ", memory=" + ByteSizes.format(memoryBytes) + (memoryGiven ? "" : " (default)") + ", cpus=" + cpus
                + ", net=" + net
                + ", files=" + files + ", kernel=" + kernel + ", timeout=" + timeout
                + ", debugConsole=" + debugConsole + ", hostname=" + hostname
                + ", rlimits=" + rlimits.values()
                + (copyOutOnExit.isEmpty() ? "" : ", copyOutOnExit=" + copyOutOnExit + " (" + ByteSizes.format(copyOutMaxBytes) + ")")
                + (redirectErrorStream ? ", redirectErrorStream=true" : "")
                + "]";
    }

    /**
     * Mutable builder of {@link ArrowSpec}. Setters only reject {@code null}; everything else is checked
     * by {@link #build()}, which reports all problems at once. A builder can be built any number of
     * times; each spec is an independent snapshot.
     */
    public static final class Builder {
        private Path binary;
        private final List<String> args = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private String workingDirectory = DEFAULT_WORKING_DIRECTORY;
        private int uid;
        private int gid;
        private long memoryBytes = DEFAULT_MEMORY_BYTES;
        private boolean memoryGiven;
        private int cpus = 1;
        private Net net = Net.none();
        private final List<GuestFile> files = new ArrayList<>();
        private Path kernel;
        private Duration timeout;
        private boolean debugConsole;
        private String hostname = DEFAULT_HOSTNAME;
        private final Map<RlimitResource, Rlimit> rlimits = new EnumMap<>(RlimitResource.class);
        private final List<String> copyOutOnExit = new ArrayList<>();
        private long copyOutMaxBytes = DEFAULT_COPY_OUT_MAX_BYTES;
        private boolean redirectErrorStream;

        private Builder(Path binary) {
            binary(binary);
        }

        /** Host path of the statically linked program to run. */
        public Builder binary(Path binary) {
            this.binary = Objects.requireNonNull(binary, "binary");
            return this;
        }

        /** Replaces the arguments (after {@code argv[0]}). */
        public Builder args(String... args) {
            return args(Arrays.asList(args));
        }

        /** Replaces the arguments (after {@code argv[0]}). */
        public Builder args(List<String> args) {
            List<String> copy = new ArrayList<>(args.size());
            for (int i = 0; i < args.size(); i++) {
                copy.add(Objects.requireNonNull(args.get(i), "args[" + i + "]"));
            }
            this.args.clear();
            this.args.addAll(copy);
            return this;
        }

        /** Sets one environment variable; a new name goes last, an existing one keeps its place. */
        public Builder env(String name, String value) {
            env.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value of " + name));
            return this;
        }

        /** Sets environment variables in the iteration order of {@code variables}. */
        public Builder env(Map<String, String> variables) {
            variables.forEach(this::env);
            return this;
        }

        /** Removes every environment variable. */
        public Builder clearEnv() {
            env.clear();
            return this;
        }

        /** Working directory of the program in the guest (absolute). */
        public Builder workingDirectory(String guestPath) {
            this.workingDirectory = Objects.requireNonNull(guestPath, "guestPath");
            return this;
        }

        /** User and group ids the program runs as (default 0, 0). */
        public Builder user(int uid, int gid) {
            this.uid = uid;
            this.gid = gid;
            return this;
        }

        /** Guest RAM in bytes. */
        public Builder memoryBytes(long bytes) {
            this.memoryBytes = bytes;
            this.memoryGiven = true;
            return this;
        }

        /**
         * Guest RAM, e.g. {@code memory(64, MiB)}.
         *
         * @throws IllegalArgumentException at once if the size does not fit in 64 bits
         */
        public Builder memory(long amount, SizeUnit unit) {
            return memoryBytes(Objects.requireNonNull(unit, "unit").toBytes(amount));
        }

        /** Number of vCPUs (default 1). */
        public Builder cpus(int cpus) {
            this.cpus = cpus;
            return this;
        }

        /** The guest's network (default {@link Net#none()}). */
        public Builder net(Net net) {
            this.net = Objects.requireNonNull(net, "net");
            return this;
        }

        /** Adds a file placed into the guest. */
        public Builder file(GuestFile file) {
            files.add(Objects.requireNonNull(file, "file"));
            return this;
        }

        /** Replaces the list of files placed into the guest. */
        public Builder files(List<GuestFile> files) {
            List<GuestFile> copy = new ArrayList<>(files.size());
            for (int i = 0; i < files.size(); i++) {
                copy.add(Objects.requireNonNull(files.get(i), "files[" + i + "]"));
            }
            this.files.clear();
            this.files.addAll(copy);
            return this;
        }

        /** The guest kernel to boot (an uncompressed {@code vmlinux}). */
        public Builder kernel(Path kernel) {
            this.kernel = Objects.requireNonNull(kernel, "kernel");
            return this;
        }

        /** Boots Arrow's default kernel (the default). */
        public Builder defaultKernel() {
            this.kernel = null;
            return this;
        }

        /** Wall-clock limit for the program; it must be positive. */
        public Builder timeout(Duration timeout) {
            this.timeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** No wall-clock limit (the default). */
        public Builder noTimeout() {
            this.timeout = null;
            return this;
        }

        /** Whether to show the kernel's own console output (default false). */
        public Builder debugConsole(boolean debugConsole) {
            this.debugConsole = debugConsole;
            return this;
        }

        /** Hostname of the guest (default {@value ArrowSpec#DEFAULT_HOSTNAME}). */
        public Builder hostname(String hostname) {
            this.hostname = Objects.requireNonNull(hostname, "hostname");
            return this;
        }

        /** Sets the limit of one resource, replacing an earlier limit of the same resource. */
        public Builder rlimit(Rlimit rlimit) {
            rlimits.put(rlimit.resource(), rlimit);
            return this;
        }

        /** Sets the limit of one resource; use {@link Rlimit#UNLIMITED} for no limit. */
        public Builder rlimit(RlimitResource resource, long soft, long hard) {
            return rlimit(new Rlimit(resource, soft, hard));
        }

        /** Adds guest paths (files or directories) sent to the host after the program ended; see {@link ArrowSpec#copyOutOnExit()}. */
        public Builder copyOutOnExit(String... guestPaths) {
            for (int i = 0; i < guestPaths.length; i++) {
                copyOutOnExit.add(Objects.requireNonNull(guestPaths[i], "guestPaths[" + i + "]"));
            }
            return this;
        }

        /** Replaces the guest paths sent to the host after the program ended. */
        public Builder copyOutOnExit(List<String> guestPaths) {
            List<String> copy = new ArrayList<>(guestPaths.size());
            for (int i = 0; i < guestPaths.size(); i++) {
                copy.add(Objects.requireNonNull(guestPaths.get(i), "copyOutOnExit[" + i + "]"));
            }
            copyOutOnExit.clear();
            copyOutOnExit.addAll(copy);
            return this;
        }

        /** File content bytes the {@link #copyOutOnExit} paths may bring back together (default {@link ArrowSpec#DEFAULT_COPY_OUT_MAX_BYTES}). */
        public Builder copyOutMaxBytes(long bytes) {
            this.copyOutMaxBytes = bytes;
            return this;
        }

        /** Whether the program's stderr is its stdout (default false); see {@link ArrowSpec#redirectErrorStream()}. */
        public Builder redirectErrorStream(boolean merge) {
            this.redirectErrorStream = merge;
            return this;
        }

        /**
         * Validates and snapshots the builder.
         *
         * @throws SpecException listing every problem, each with its JSON path
         */
        public ArrowSpec build() {
            ArrowSpec spec = new ArrowSpec(this);
            List<SpecProblem> problems = SpecValidator.validate(spec);
            if (!problems.isEmpty()) {
                throw new SpecException(problems);
            }
            return spec;
        }
    }
}
