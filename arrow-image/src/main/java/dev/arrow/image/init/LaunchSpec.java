package dev.arrow.image.init;

import dev.arrow.config.LinuxLimits;
import dev.arrow.config.Rlimit;
import dev.arrow.config.RlimitResource;
import dev.arrow.image.GuestPath;
import dev.arrow.image.InvalidGuestPathException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * What init starts inside the guest and how: program path, argv, environment, working
 * directory, user and group, resource limits, hostname, the grace period leftovers get
 * between SIGTERM and SIGKILL once the app has ended, the network settings of eth0, and where
 * the app's stdio goes ({@link Stdio}); and for templates (docs/templates.md) the wall clock and host
 * randomness a clone starts with, files delivered with the spec, and the TCP port whose listening
 * socket makes the app ready.
 * Immutable; made by {@link #builder()}, which checks everything init would otherwise reject
 * at boot. {@link SpecFile} turns it into the bytes of {@code /arrow/spec}.
 */
public final class LaunchSpec {
    /** Where Arrow puts the app unless told otherwise. */
    public static final String DEFAULT_EXECUTABLE = "/arrow/app";
    public static final Duration DEFAULT_KILL_GRACE = Duration.ofMillis(500);
    public static final Duration MAX_KILL_GRACE = Duration.ofSeconds(60);

    private final GuestPath executable;
    private final List<String> argv;
    private final Map<String, String> environment;
    private final Optional<GuestPath> workingDirectory;
    private final OptionalLong uid;
    private final OptionalLong gid;
    private final List<Rlimit> limits;
    private final Optional<String> hostname;
    private final Optional<Duration> killGrace;
    private final Optional<NetworkSettings> network;
    private final Stdio stdio;
    private final boolean stderrToStdout;
    private final Optional<Instant> realtimeClock;
    private final byte[] entropy;
    private final List<LaunchFile> files;
    private final OptionalInt readyPort;
    private final ImageMounts images;
    private final List<String> copyOut;
    private final long copyOutMaxBytes;

    private LaunchSpec(Builder b) {
        this.executable = b.executable;
        List<String> args = new ArrayList<>();
        args.add(b.argv0 != null ? b.argv0 : b.executable.value());
        args.addAll(b.args);
        this.argv = List.copyOf(args);
        this.environment = Collections.unmodifiableMap(new LinkedHashMap<>(b.environment));
        this.workingDirectory = Optional.ofNullable(b.workingDirectory);
        this.uid = b.uid == null ? OptionalLong.empty() : OptionalLong.of(b.uid);
        this.gid = b.gid == null ? OptionalLong.empty() : OptionalLong.of(b.gid);
        this.limits = List.copyOf(b.limits.values());
        this.hostname = Optional.ofNullable(b.hostname);
        this.killGrace = Optional.ofNullable(b.killGrace);
        this.network = Optional.ofNullable(b.network);
        this.stdio = b.stdio;
        this.stderrToStdout = b.stderrToStdout;
        this.realtimeClock = Optional.ofNullable(b.realtimeClock);
        this.entropy = b.entropy;
        this.files = List.copyOf(b.files.values());
        this.readyPort = b.readyPort == null ? OptionalInt.empty() : OptionalInt.of(b.readyPort);
        this.images = b.images;
        this.copyOut = List.copyOf(b.copyOut);
        this.copyOutMaxBytes = b.copyOutMaxBytes;
    }

    public static Builder builder() {
        return new Builder();
    }

    public GuestPath executable() {
        return executable;
    }

    /** The full argv, argv[0] first. */
    public List<String> argv() {
        return argv;
    }

    /** Environment in insertion order; empty means the app starts with no environment at all. */
    public Map<String, String> environment() {
        return environment;
    }

    /** Empty: init uses {@code /}. */
    public Optional<GuestPath> workingDirectory() {
        return workingDirectory;
    }

    /** Empty: the app runs as root (0). */
    public OptionalLong uid() {
        return uid;
    }

    /** Empty: group root (0). */
    public OptionalLong gid() {
        return gid;
    }

    /** One limit per resource, in the order of the resources' names: the order init applies them in. */
    public List<Rlimit> limits() {
        return limits;
    }

    public Optional<String> hostname() {
        return hostname;
    }

    /** Empty: init's default, {@link #DEFAULT_KILL_GRACE}. */
    public Optional<Duration> killGrace() {
        return killGrace;
    }

    /** Empty: no network card is configured (loopback only). */
    public Optional<NetworkSettings> network() {
        return network;
    }

    /** Where init connects the app's stdin, stdout and stderr; default {@link Stdio#SERIAL}. */
    public Stdio stdio() {
        return stdio;
    }

    /**
     * Whether the app's fd 2 is a duplicate of its fd 1 (one channel: the host reads both streams in the order they
     * were written); with {@link Stdio#SERIAL} both are the console anyway.
     */
    public boolean stderrToStdout() {
        return stderrToStdout;
    }

    /** Empty: the guest's clock runs on from wherever it is (a cold boot's is the host's time). */
    public Optional<Instant> realtimeClock() {
        return realtimeClock;
    }

    /** A copy of the host randomness init mixes into the guest kernel's pool before the app starts; empty for none. */
    public Optional<byte[]> entropy() {
        return Optional.ofNullable(entropy).map(byte[]::clone);
    }

    /** Files init writes before the app starts, in the order given. */
    public List<LaunchFile> files() {
        return files;
    }

    /** The guest TCP port whose listening socket makes init report {@link InitProtocol#MARK_APP_READY}; empty for none. */
    public OptionalInt readyPort() {
        return readyPort;
    }

    /** Guest paths init sends to the host on {@value InitProtocol#FILES_PORT_NAME} after the app ended, in order. */
    public List<String> copyOut() {
        return copyOut;
    }

    /** File content bytes the {@link #copyOut()} paths may send together. */
    public long copyOutMaxBytes() {
        return copyOutMaxBytes;
    }

    /** The read-only images init mounts before anything else, and the files it binds from them. */
    public ImageMounts images() {
        return images;
    }

    /** Reusable builder; {@link #build()} validates and snapshots. */
    public static final class Builder {
        private GuestPath executable = GuestPath.of(DEFAULT_EXECUTABLE);
        private String argv0;
        private final List<String> args = new ArrayList<>();
        private final Map<String, String> environment = new LinkedHashMap<>();
        private GuestPath workingDirectory;
        private Long uid;
        private Long gid;
        private final Map<RlimitResource, Rlimit> limits = new TreeMap<>(Comparator.comparing(RlimitResource::jsonName));
        private String hostname;
        private Duration killGrace;
        private NetworkSettings network;
        private Stdio stdio = Stdio.SERIAL;
        private boolean stderrToStdout;
        private Instant realtimeClock;
        private byte[] entropy;
        private final Map<GuestPath, LaunchFile> files = new LinkedHashMap<>();
        private Integer readyPort;
        private ImageMounts images = ImageMounts.NONE;
        private final List<String> copyOut = new ArrayList<>();
        private long copyOutMaxBytes;

        private Builder() {
        }

        /** Guest path of the program; default {@value #DEFAULT_EXECUTABLE}. */
        public Builder executable(String guestPath) {
            this.executable = guestPath(guestPath, "executable");
            return this;
        }

        /** argv[0]; default the executable's path. */
        public Builder argv0(String argv0) {
            this.argv0 = checkString(argv0, "argv[0]");
            return this;
        }

        /** Replaces the arguments after argv[0]. */
        public Builder args(List<String> args) {
            List<String> checked = new ArrayList<>(args.size());
            for (int i = 0; i < args.size(); i++) checked.add(checkString(args.get(i), "argument " + (i + 1)));
            this.args.clear();
            this.args.addAll(checked);
            return this;
        }

        public Builder args(String... args) {
            return args(List.of(args));
        }

        /** Adds or replaces one environment variable. */
        public Builder env(String name, String value) {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0)
                throw new InvalidLaunchSpecException("environment variable name '" + name.replace("\0", "\\0")
                        + "' is empty or contains '=' or NUL: pass a name such as PATH");
            checkString(name + "=" + Objects.requireNonNull(value, "value"), "environment variable " + name);
            environment.put(name, value);
            return this;
        }

        /** Replaces the whole environment (insertion order kept). */
        public Builder environment(Map<String, String> env) {
            environment.clear();
            env.forEach(this::env);
            return this;
        }

        public Builder workingDirectory(String guestPath) {
            this.workingDirectory = guestPath(guestPath, "working directory");
            return this;
        }

        public Builder uid(long uid) {
            this.uid = checkId(uid, "uid");
            return this;
        }

        public Builder gid(long gid) {
            this.gid = checkId(gid, "gid");
            return this;
        }

        /**
         * Adds or replaces the limit of {@code limit.resource()}: soft and hard at least 0 ({@link Rlimit#UNLIMITED}
         * for none), soft at most hard.
         */
        public Builder limit(Rlimit limit) {
            Objects.requireNonNull(limit, "limit");
            if (limit.soft() < 0 || limit.hard() < 0)
                throw new InvalidLaunchSpecException("resource limit " + limit.soft() + "/" + limit.hard()
                        + " is negative: pass a value >= 0 or Rlimit.UNLIMITED");
            if (limit.soft() > limit.hard())
                throw new InvalidLaunchSpecException("soft resource limit " + SpecFile.limitText(limit.soft())
                        + " is above the hard limit " + SpecFile.limitText(limit.hard())
                        + ": lower the soft limit or raise the hard one");
            limits.put(limit.resource(), limit);
            return this;
        }

        /**
         * 1..{@value LinuxLimits#HOST_NAME_MAX} characters of letters, digits, '-' and '.', not starting with
         * '-' or '.'.
         */
        public Builder hostname(String hostname) {
            Objects.requireNonNull(hostname, "hostname");
            if (hostname.isEmpty() || hostname.length() > LinuxLimits.HOST_NAME_MAX
                    || !hostname.matches("[A-Za-z0-9][A-Za-z0-9.-]*"))
                throw new InvalidLaunchSpecException("hostname '" + hostname + "' is not 1.." + LinuxLimits.HOST_NAME_MAX
                        + " letters, digits, '-' or '.' starting with a letter or digit: pass e.g. 'arrow'");
            this.hostname = hostname;
            return this;
        }

        /** How long leftover processes get between SIGTERM and SIGKILL once the app has ended (0..60 s, whole ms). */
        public Builder killGrace(Duration grace) {
            Objects.requireNonNull(grace, "grace");
            if (grace.isNegative() || grace.compareTo(MAX_KILL_GRACE) > 0)
                throw new InvalidLaunchSpecException("kill grace " + grace + " is outside 0..60 s: pass e.g. Duration.ofMillis(500)");
            this.killGrace = grace;
            return this;
        }

        /** Configure eth0 with {@code settings} before the app starts; null for none (loopback only). */
        public Builder network(NetworkSettings settings) {
            this.network = settings;
            return this;
        }

        /** Where init connects the app's stdio; default {@link Stdio#SERIAL}. */
        public Builder stdio(Stdio stdio) {
            this.stdio = Objects.requireNonNull(stdio, "stdio");
            return this;
        }

        /** Whether the app's stderr is its stdout (default false); see {@link LaunchSpec#stderrToStdout()}. */
        public Builder stderrToStdout(boolean merge) {
            this.stderrToStdout = merge;
            return this;
        }

        /** Init sets the guest's wall clock to {@code now} just before the app starts (a clone's clock is the host's). */
        public Builder realtimeClock(Instant now) {
            InitProtocol.realtimeNanos(now);
            this.realtimeClock = now;
            return this;
        }

        /**
         * Init mixes these {@value InitProtocol#ENTROPY_MIN_BYTES}..{@value InitProtocol#ENTROPY_MAX_BYTES} host random bytes
         * into the guest kernel's pool and reseeds it before the app starts (copied), so that clones of one template draw
         * different random numbers.
         */
        public Builder entropy(byte[] entropy) {
            InitProtocol.entropyHex(entropy);
            this.entropy = entropy.clone();
            return this;
        }

        /** Adds a file init writes before the app starts; each path at most once, all of them within the spec's size bound. */
        public Builder file(LaunchFile file) {
            Objects.requireNonNull(file, "file");
            if (files.containsKey(file.path()))
                throw new InvalidLaunchSpecException("file " + file.path() + " given twice: pass each guest path once");
            long total = file.length();
            for (LaunchFile f : files.values()) total += f.length();
            if (total > SpecFile.MAX_BYTES)
                throw new InvalidLaunchSpecException("the files given with the spec take " + total + " bytes; init reads a spec of at"
                        + " most " + SpecFile.MAX_BYTES + " bytes: put large files in the template's image");
            files.put(file.path(), file);
            return this;
        }

        /** Init reports {@link InitProtocol#MARK_APP_READY} once a TCP socket listens on guest port {@code port} (1..65535). */
        public Builder readyPort(int port) {
            if (port < 1 || port > 65535)
                throw new InvalidLaunchSpecException("ready port " + port + " is outside 1..65535: pass the port the app listens on");
            this.readyPort = port;
            return this;
        }

        /** The images init mounts and the files it binds from them (the application loader); none by default. */
        public Builder images(ImageMounts images) {
            this.images = Objects.requireNonNull(images, "images");
            return this;
        }

        /**
         * After the app ended, init sends {@code paths} (absolute guest paths, each once) to the host, within
         * {@code maxBytes} bytes of file content together; replaces earlier ones.
         */
        public Builder copyOut(List<String> paths, long maxBytes) {
            List<String> checked = new ArrayList<>(paths.size());
            for (String path : paths) {
                Objects.requireNonNull(path, "path");
                if (!path.startsWith("/") || path.indexOf('\0') >= 0
                        || path.getBytes(StandardCharsets.UTF_8).length > LinuxLimits.MAX_PATH_BYTES)
                    throw new InvalidLaunchSpecException("copy-out path '" + path + "' is not an absolute path of at most "
                            + LinuxLimits.MAX_PATH_BYTES + " bytes without NUL: pass one such as /out");
                if (checked.contains(path))
                    throw new InvalidLaunchSpecException("copy-out path " + path + " given twice: pass each guest path once");
                checked.add(path);
            }
            if (maxBytes < 0)
                throw new InvalidLaunchSpecException("copy-out bound " + maxBytes + " is negative: pass the most bytes to send");
            copyOut.clear();
            copyOut.addAll(checked);
            copyOutMaxBytes = maxBytes;
            return this;
        }

        public LaunchSpec build() {
            for (ImageMounts.MappedFile m : images.files()) {
                if (files.containsKey(m.path()))
                    throw new InvalidLaunchSpecException(m.path() + " is given as a file and as a mapped file: pass it once");
            }
            return new LaunchSpec(this);
        }

        private static GuestPath guestPath(String path, String what) {
            try {
                return GuestPath.of(path);
            } catch (InvalidGuestPathException e) {
                throw new InvalidLaunchSpecException(what + ": " + e.getMessage());
            }
        }

        private static Long checkId(long id, String what) {
            if (id < 0 || id > LinuxLimits.MAX_ID)
                throw new InvalidLaunchSpecException(what + " " + id + " is outside 0.." + LinuxLimits.MAX_ID
                        + ": pass a valid Linux id");
            return id;
        }

        private static String checkString(String s, String what) {
            Objects.requireNonNull(s, what);
            if (s.indexOf('\0') >= 0)
                throw new InvalidLaunchSpecException(what + " contains a NUL character, which execve cannot pass: remove it");
            int bytes = s.getBytes(StandardCharsets.UTF_8).length;
            if (bytes > LinuxLimits.MAX_ARG_BYTES)
                throw new InvalidLaunchSpecException(what + " is " + bytes + " bytes; Linux passes at most "
                        + LinuxLimits.MAX_ARG_BYTES + " bytes (and the NUL) per argument or environment entry"
                        + " (MAX_ARG_STRLEN): pass large data in a file");
            return s;
        }
    }
}
