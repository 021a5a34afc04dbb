package dev.arrow.kvm.net;

import dev.arrow.kvm.net.NetworkBackendException.Reason;
import dev.arrow.kvm.sys.NativeCleaner;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Cleaner;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * User-mode networking through <a href="https://passt.top">passt</a> (Debian package
 * {@code passt}): one passt process per guest, started as our child on a Unix socket in a
 * private directory, exchanging Ethernet frames with us in its length-prefixed stream format
 * ({@link PasstFrameCodec}). passt turns the guest's TCP, UDP and ICMP traffic into ordinary
 * sockets of the host, so no privileges are needed; it forwards the host ports of
 * {@link Options#forwards()} to the guest and answers DNS at the plan's virtual DNS address.
 * The command line is {@link PasstCommand}'s.
 *
 * <p>The guest does not reach the host's loopback unless {@link Options#hostLoopback()} allows it:
 * passt does not map the gateway address to 127.0.0.1 then, {@link #send} drops guest frames
 * addressed to the host's loopback ({@link HostLoopbackGuard}) and refuses connections to the
 * gateway address itself, answering them with a reset ({@link GatewayGuard}), while answers to
 * forwarded traffic from programs on the host's loopback still get back ({@link LoopbackUdpReplies}). Forwards listen on their
 * {@link PortMapping#hostAddress()}, 127.0.0.1 unless the caller chose another.
 *
 * <p>{@link #start} checks the forwarded ports first ({@link HostPorts}), then starts passt (from
 * {@link SpawnThread}, with a parent-death signal: passt dies with the JVM, also before Arrow has
 * connected to it) and connects; any failure stops passt and removes the directory before the
 * exception leaves. The directory is named after this JVM, and the first start in a JVM removes
 * those that JVMs which died without closing left behind ({@link OwnedDirectory}).
 * {@link #close()} closes the connection (passt runs with {@code --one-off} and exits at once),
 * waits for the process to end (so the forwarded ports are free when it returns; it escalates to
 * SIGTERM and SIGKILL if passt lingers) and deletes the socket, the log and the directory. passt
 * serves one client per process, so guests never share one.
 */
public final class PasstBackend implements NetworkBackend {
    private static final Logger LOG = LoggerFactory.getLogger(PasstBackend.class);

    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(10);
    /**
     * The MTU a guest on passt should use: 65520, the one pasta gives its namespaces. passt takes
     * the guest's frames whole, whatever their size up to 64 KiB, and writes their payload to host
     * sockets; it sizes the TCP segments it sends the guest by the MSS the guest announced, so a
     * large MTU means one frame (and one round of virtio notifications) per 64 KiB segment instead
     * of 45 at 1500.
     */
    public static final int GUEST_MTU = 65520;
    /** Where passt is looked for after the PATH. */
    static final List<Path> STANDARD_DIRS = List.of(Path.of("/usr/bin"), Path.of("/usr/sbin"), Path.of("/usr/local/bin"),
            Path.of("/usr/local/sbin"), Path.of("/bin"), Path.of("/sbin"));
    /**
     * Frames from passt held for the guest at most: 64 (4 MiB, allocated as bursts need it). passt
     * runs unprivileged, so its socket's send buffer towards us is capped by net.core.wmem_max
     * (208 KiB by default): it holds a few large frames. When a send comes up short, passt drops
     * the frames that did not fit, and it recovers from that poorly (it never repeats a pure ACK
     * that was lost; data waits for its retransmission timer and a connection is reset after 7
     * fruitless ones). So the reader keeps reading while the guest is slow to take frames, up to
     * more than a guest's TCP receive window (about 1/128 of its RAM, at most 6 MiB, and half of
     * that advertised).
     */
    static final int INBOX_SLOTS = 64;
    static final int READ_BUFFER_BYTES = 256 * 1024;
    /** Longest Unix socket path (sun_path is 108 bytes with its NUL). */
    static final int MAX_SOCKET_PATH = 107;
    private static final Duration EXIT_WAIT = Duration.ofSeconds(2);
    /** Frames queued for passt at most (bytes); while that full, the guest's frames wait in its queue. */
    static final long SEND_QUEUE_BYTES = 4L << 20;
    private static final int LOG_TAIL_LINES = 20;
    /** How much of passt's log is read at close, and how many of its last lines are logged. */
    private static final int CLOSE_LOG_BYTES = 256 * 1024;
    private static final int CLOSE_LOG_LINES = 60;
    private static final Pattern BIND_FAILURE =
            Pattern.compile("Failed to bind any port for '-([tu]) (?:([0-9.]+)/)?(\\d+)");
    /** The name prefix of the private directories; {@link OwnedDirectory} adds the owner JVM. */
    static final String DIRECTORY_PREFIX = "arrow-passt-";
    /** Where passt's stale private directories may be: java.io.tmpdir and /tmp. Swept once per JVM. */
    private static final AtomicBoolean SWEPT = new AtomicBoolean();
    /** Guest frames to the host's loopback that are logged; later ones are only counted. */
    private static final int LOGGED_REFUSALS = 3;

    /**
     * How to start passt.
     *
     * @param executable   the passt program; empty: {@code passt} on the PATH or in the standard directories
     * @param network      the guest's addresses, which passt is told to expect
     * @param forwards     host ports forwarded to the guest, each on its host address
     * @param hostLoopback whether the guest may reach the host's loopback (127.0.0.1 appears to it as the
     *                     gateway address); false by default: then passt does not map the gateway to the
     *                     host, guest frames to 127.0.0.0/8 or 0.0.0.0/8 are dropped ({@link HostLoopbackGuard})
     *                     and connections to the gateway address refused ({@link GatewayGuard})
     * @param startTimeout how long passt may take to open its socket
     */
    public record Options(Optional<Path> executable, GuestNetwork network, List<PortMapping> forwards,
                          boolean hostLoopback, Duration startTimeout) {
        public Options {
            Objects.requireNonNull(executable, "executable");
            Objects.requireNonNull(network, "network");
            forwards = List.copyOf(Objects.requireNonNull(forwards, "forwards"));
            Objects.requireNonNull(startTimeout, "startTimeout");
            if (startTimeout.isNegative() || startTimeout.isZero()) {
                throw new IllegalArgumentException("start timeout must be positive, got " + startTimeout);
            }
        }

        /** passt from the PATH, the host's loopback out of the guest's reach, the default start timeout. */
        public static Options of(GuestNetwork network, List<PortMapping> forwards) {
            return new Options(Optional.empty(), network, forwards, false, DEFAULT_START_TIMEOUT);
        }

        public Options withExecutable(Path program) {
            return new Options(Optional.of(program), network, forwards, hostLoopback, startTimeout);
        }

        /** These options with the host's loopback reachable from the guest (through the gateway address) or not. */
        public Options withHostLoopback(boolean allowed) {
            return new Options(executable, network, forwards, allowed, startTimeout);
        }

        public Options withStartTimeout(Duration timeout) {
            return new Options(executable, network, forwards, hostLoopback, timeout);
        }
    }

    private final Process process;
    private final boolean hostLoopback;
    /** With the host's loopback denied: the guest's answers to datagrams from it; null when it is allowed. */
    private final LoopbackUdpReplies replies;
    /** With the host's loopback denied: what the guest may send to the gateway address; null when allowed. */
    private final GatewayGuard gatewayGuard;
    private final Path directory;
    private final Path socket;
    private final Path log;
    private final SocketChannel channel;
    private final PasstFrameCodec codec;
    private final PasstFrameCodec.Writer writer;
    private final FrameInbox inbox = new FrameInbox(INBOX_SLOTS, MAX_FRAME_BYTES);
    private final FrameSender sender;
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Cleaner.Cleanable cleanable;
    private volatile boolean healthy = true;
    private volatile Listener listener;
    private volatile BackendThread reader;
    private volatile long framesReceived;
    private volatile long framesDropped;
    private final AtomicLong framesRefused = new AtomicLong();

    private PasstBackend(Process process, boolean hostLoopback, GuestNetwork network, Path directory, Path socket,
                         Path log, SocketChannel channel) {
        this.process = process;
        this.hostLoopback = hostLoopback;
        this.replies = hostLoopback ? null : new LoopbackUdpReplies(network.gateway());
        this.gatewayGuard = hostLoopback ? null : new GatewayGuard(network.gateway());
        this.directory = directory;
        this.socket = socket;
        this.log = log;
        this.channel = channel;
        this.codec = new PasstFrameCodec(channel, READ_BUFFER_BYTES, MAX_FRAME_BYTES);
        this.writer = new PasstFrameCodec.Writer(channel);
        this.sender = new FrameSender("arrow-passt-" + process.pid() + "-tx", writer::write, SEND_QUEUE_BYTES,
                e -> failed("writing to passt failed: " + e.getMessage()), this::notifySendRoom);
        this.cleanable = NativeCleaner.CLEANER.register(this, new Leak(process, channel, directory, closed));
    }

    /**
     * Starts passt for one guest and connects to it.
     *
     * @throws NetworkBackendException when passt is missing ({@link Reason#PASST_MISSING}), a
     *     forwarded port is taken ({@link Reason#PORT_IN_USE}) or passt does not come up
     *     ({@link Reason#PASST_FAILED_TO_START}, with passt's own words); nothing is left running
     */
    public static PasstBackend start(Options options) {
        Objects.requireNonNull(options, "options");
        sweepOnce();
        Path executable = findExecutable(options.executable());
        Path setpriv = findSetpriv();
        HostPorts.checkFree(options.forwards());
        boolean root = NetLibC.geteuid() == 0;
        long startNanos = System.nanoTime();
        Path directory = null;
        Process process = null;
        SocketChannel channel = null;
        try {
            directory = createDirectory(root);
            Path socketDir = Files.createDirectory(directory.resolve("sock"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            if (root) {
                // passt runs as nobody (setpriv switches before it starts): that user must own the directory.
                Files.setAttribute(socketDir, "unix:uid", PasstCommand.NOBODY);
                Files.setAttribute(socketDir, "unix:gid", PasstCommand.NOBODY);
            }
            Path socket = socketDir.resolve("passt.sock");
            Path log = directory.resolve("passt.log");
            List<String> command = PasstCommand.build(setpriv, executable, socket, options.network(),
                    options.forwards(), options.hostLoopback(),
                    root ? OptionalInt.of(PasstCommand.NOBODY) : OptionalInt.empty(), ProcessHandle.current().pid());
            LOG.debug("starting {}", String.join(" ", command));
            try {
                process = SpawnThread.start(new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))));
            } catch (IOException e) {
                throw new NetworkBackendException(Reason.PASST_MISSING, "cannot run " + setpriv + " (util-linux) for"
                        + " passt at " + executable + ": " + e.getMessage()
                        + ": install the Debian packages 'util-linux' and 'passt'", e);
            }
            channel = connect(process, socket, log, options);
            PasstBackend backend = new PasstBackend(process, options.hostLoopback(), options.network(), directory,
                    socket, log, channel);
            LOG.info("passt (pid {}) serves the guest network {} with forwards {}, the host's loopback {}, up in {} ms",
                    process.pid(), options.network().cidr(), options.forwards(),
                    options.hostLoopback() ? "reachable at the gateway address" : "out of reach",
                    (System.nanoTime() - startNanos) / 1_000_000);
            return backend;
        } catch (IOException e) {
            cleanUp(process, channel, directory);
            throw new NetworkBackendException(Reason.IO, "cannot set up passt: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            cleanUp(process, channel, directory);
            throw e;
        }
    }

    private static Path findExecutable(Optional<Path> configured) {
        if (configured.isPresent()) {
            Path p = configured.get();
            if (!Files.isRegularFile(p)) {
                throw new NetworkBackendException(Reason.PASST_MISSING, "passt not found at " + p
                        + ": install the Debian package 'passt' (apt-get install passt) or point Arrow at the program");
            }
            if (!Files.isExecutable(p)) {
                throw new NetworkBackendException(Reason.PASST_MISSING, "passt at " + p + " is not executable: "
                        + "check its permissions or reinstall the Debian package 'passt'");
            }
            return p;
        }
        List<Path> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(File.pathSeparator)) {
                if (!d.isEmpty()) {
                    dirs.add(Path.of(d));
                }
            }
        }
        dirs.addAll(STANDARD_DIRS);
        for (Path d : dirs) {
            Path p = d.resolve("passt");
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        throw new NetworkBackendException(Reason.PASST_MISSING,
                "passt not found: install the Debian package 'passt' (apt-get install passt); "
                        + "user-mode networking needs it (searched the PATH and " + STANDARD_DIRS + ")");
    }

    /** util-linux's setpriv, which starts passt with a parent-death signal ({@link PasstCommand}). */
    private static Path findSetpriv() {
        for (Path d : STANDARD_DIRS) {
            Path p = d.resolve("setpriv");
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        throw new NetworkBackendException(Reason.PASST_MISSING, "setpriv not found in " + STANDARD_DIRS
                + ": install the Debian package 'util-linux' (apt-get install util-linux); Arrow starts passt"
                + " through it so that passt dies with the JVM");
    }

    /**
     * Once per JVM, before its first passt: removes the private directories that JVMs which ended
     * without closing their arrows left in java.io.tmpdir and /tmp ({@link OwnedDirectory}).
     */
    private static void sweepOnce() {
        if (SWEPT.compareAndSet(false, true)) {
            Path tmpdir = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
            OwnedDirectory.sweep(tmpdir, DIRECTORY_PREFIX);
            if (!tmpdir.equals(Path.of("/tmp"))) {
                OwnedDirectory.sweep(Path.of("/tmp"), DIRECTORY_PREFIX);
            }
        }
    }

    /**
     * The private directory, named after this JVM ({@link OwnedDirectory}), in java.io.tmpdir unless
     * the socket path would be too long there or, when root, passt (running as nobody) could not
     * traverse it: then in /tmp.
     */
    private static Path createDirectory(boolean root) throws IOException {
        // 0711 when root: passt (running as nobody) must traverse it to reach its socket directory.
        String perms = root ? "rwx--x--x" : "rwx------";
        Path base = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
        boolean usable = base.toString().length() + 1 + OwnedDirectory.nameLength(DIRECTORY_PREFIX)
                + "/sock/passt.sock".length() <= MAX_SOCKET_PATH && (!root || traversableByOthers(base));
        return OwnedDirectory.create(usable ? base : Path.of("/tmp"), DIRECTORY_PREFIX,
                PosixFilePermissions.fromString(perms));
    }

    private static boolean traversableByOthers(Path dir) {
        try {
            for (Path p = dir.toRealPath(); p != null; p = p.getParent()) {
                if (!Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                    return false;
                }
            }
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static SocketChannel connect(Process process, Path socket, Path log, Options options) throws IOException {
        long deadline = System.nanoTime() + options.startTimeout().toNanos();
        long pauseMillis = 2;
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socket);
        while (true) {
            if (!process.isAlive()) {
                throw startFailure(process, log, options);
            }
            if (Files.exists(socket)) {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    ch.connect(address);
                    return ch;
                } catch (IOException e) {
                    ch.close(); // not listening yet
                }
            }
            if (System.nanoTime() > deadline) {
                throw new NetworkBackendException(Reason.PASST_FAILED_TO_START, "passt (pid " + process.pid()
                        + ") did not accept connections on " + socket + " within " + options.startTimeout().toMillis()
                        + " ms" + logTail(log));
            }
            try {
                Thread.sleep(pauseMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NetworkBackendException(Reason.PASST_FAILED_TO_START, "interrupted while waiting for passt to start", e);
            }
            pauseMillis = Math.min(pauseMillis * 2, 50);
        }
    }

    private static NetworkBackendException startFailure(Process process, Path log, Options options) {
        return startFailure(process.exitValue(), readLog(log), logTail(log));
    }

    /** The error for a passt that exited with {@code code} while starting, from what it said. */
    static NetworkBackendException startFailure(int code, String text, String tail) {
        Matcher m = BIND_FAILURE.matcher(text);
        if (m.find()) {
            return new NetworkBackendException(Reason.PORT_IN_USE, "host port " + m.group(3) + " is already in use ("
                    + (m.group(1).equals("t") ? "tcp" : "udp") + (m.group(2) == null ? "" : " on " + m.group(2))
                    + "): stop what listens there or forward another host port");
        }
        if (text.contains("No external routable interface") || text.contains("External interface not usable")) {
            return new NetworkBackendException(Reason.NO_HOST_ROUTE, "user-mode networking needs a host network"
                    + " interface with a default route, and this host has none (passt copies its set-up from that"
                    + " interface): connect the host to a network, or start the arrow without a network (Net.none())"
                    + tail);
        }
        if (text.contains("Couldn't create user namespace")) {
            return new NetworkBackendException(Reason.PASST_FAILED_TO_START, "passt could not create the user namespace it"
                    + " isolates itself in: enable user namespaces on this host (kernel CONFIG_USER_NS=y; sysctl"
                    + " user.max_user_namespaces > 0, and kernel.unprivileged_userns_clone=1 where that exists)" + tail);
        }
        return new NetworkBackendException(Reason.PASST_FAILED_TO_START, describeExit(code) + " while starting" + tail);
    }

    /**
     * How passt ended, from its exit value: {@code passt exited with code 1}, or for a value above
     * 128 the signal that killed it, with what that signal means for passt.
     */
    static String describeExit(int code) {
        String said = "passt exited with code " + code;
        if (code == 126) {
            return said + " (passt could not be executed: as root, Arrow starts it as nobody, who must be able to"
                    + " reach and execute it)";
        }
        if (code == 127) {
            return said + " (no such program)";
        }
        if (code == PasstCommand.PARENT_GONE) {
            return said + " (the process that started it was gone before passt could start)";
        }
        return switch (code - 128) {
            case 6 -> said + " (SIGABRT: passt aborted)";
            case 9 -> said + " (SIGKILL: passt was killed)";
            case 11 -> said + " (SIGSEGV: passt crashed)";
            case 31 -> said + " (SIGSYS: passt's seccomp filter refused a system call; the host's kernel log names it"
                    + " in an 'audit: type=1326' line, syscall=N)";
            default -> said;
        };
    }

    /** passt's output (its first 64 KiB) without the syslog noise it makes when no syslog daemon listens. */
    static String readLog(Path log) {
        try (InputStream in = Files.newInputStream(log)) {
            byte[] start = in.readNBytes(64 * 1024);
            return informativeLines(start, start.length);
        } catch (IOException e) {
            return "";
        }
    }

    /** Like {@link #readLog} for the last {@code bytes} of passt's output (its first line there may be cut). */
    static String readLogEnd(Path log, int bytes) {
        try (SeekableByteChannel in = Files.newByteChannel(log)) {
            long start = Math.max(0, in.size() - bytes);
            in.position(start);
            ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(bytes, in.size() - start));
            while (buffer.hasRemaining() && in.read(buffer) > 0) {
                // fill
            }
            return informativeLines(buffer.array(), buffer.position());
        } catch (IOException e) {
            return "";
        }
    }

    private static String informativeLines(byte[] text, int length) {
        return new String(text, 0, length, StandardCharsets.UTF_8).lines().filter(PasstBackend::informative)
                .collect(Collectors.joining("\n"));
    }

    /** False for the syslog complaints and the "how to start qemu" banner passt prints. */
    private static boolean informative(String line) {
        String l = line.strip();
        return !(l.startsWith("Failed to send ") && l.endsWith(" to syslog")) && !l.startsWith("You can now start qemu")
                && !l.startsWith("or qrap") && !l.startsWith("kvm ... ") && !l.startsWith("./qrap ");
    }

    private static String logTail(Path log) {
        List<String> lines = nonBlankLines(readLog(log));
        if (lines.isEmpty()) {
            return "";
        }
        return "; passt said:\n  " + String.join("\n  ", last(lines, LOG_TAIL_LINES));
    }

    // ---- NetworkBackend ----

    @Override
    public String describe() {
        return "passt (pid " + process.pid() + ")";
    }

    /** The passt process (for tests and diagnostics). */
    public ProcessHandle process() {
        return process.toHandle();
    }

    /** The Unix socket passt listens on. */
    public Path socketPath() {
        return socket;
    }

    /** The private directory holding the socket and passt's log; deleted by {@link #close()}. */
    public Path directory() {
        return directory;
    }

    @Override
    public void start(Listener frameListener) {
        Objects.requireNonNull(frameListener, "listener");
        if (closed.get()) {
            throw new IllegalStateException(describe() + " is closed");
        }
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException(describe() + " is already started");
        }
        this.listener = frameListener;
        BackendThread t = new BackendThread("arrow-passt-" + process.pid(), this::readLoop);
        reader = t;
        t.start();
        sender.start();
    }

    @Override
    public FrameInbox inbox() {
        return inbox;
    }

    @Override
    public boolean send(ByteBuffer frame) {
        int n = frame.remaining();
        if (n < MIN_FRAME_BYTES || n > MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("frame of " + n + " bytes outside " + MIN_FRAME_BYTES + ".." + MAX_FRAME_BYTES);
        }
        if (!healthy) {
            return false;
        }
        if (hostLoopback) {
            return sender.offer(frame); // never blocks the device's thread; a full queue drops (counted)
        }
        if (HostLoopbackGuard.addressesHostLoopback(frame)) {
            refused("dropped a guest frame to the host's loopback");
            return false;
        }
        ByteBuffer answer = replies.toHost(frame);
        if (answer != frame) {
            return sender.offer(answer); // a UDP answer to a program on the host's loopback
        }
        switch (gatewayGuard.judge(frame)) {
            case PASS:
                return sender.offer(frame);
            case RESET:
                refused("refused a guest connection to the gateway address");
                if (inbox.offerLocal(GatewayGuard.reset(frame))) {
                    notifyFrames();
                }
                return false;
            default:
                refused("dropped a guest frame to the gateway address");
                return false;
        }
    }

    /** Counts a guest frame the host's loopback policy stopped; the first few are logged. */
    private void refused(String what) {
        long refused = framesRefused.incrementAndGet();
        if (refused <= LOGGED_REFUSALS) {
            LOG.warn("{}: {} (the arrow's network keeps the host's loopback out of its reach; Net.user()"
                    + ".allowHostLoopback() lets it in){}", describe(), what,
                    refused == LOGGED_REFUSALS ? "; further ones are only counted" : "");
        }
    }

    @Override
    public boolean hasSendRoom() {
        return sender.hasRoom();
    }

    @Override
    public boolean isHealthy() {
        return healthy;
    }

    public long framesReceived() {
        return framesReceived;
    }

    /** Frames from passt dropped because they were shorter than an Ethernet header. */
    public long framesDropped() {
        return framesDropped;
    }

    public long framesSent() {
        return sender.sent();
    }

    /** Frames for passt dropped because passt was not keeping up (its send queue was full). */
    public long framesDroppedOnSend() {
        return sender.dropped();
    }

    /**
     * Guest frames the host's loopback policy stopped: to the host's loopback ({@link HostLoopbackGuard}), or to
     * the gateway address ({@link GatewayGuard}; connection attempts are answered with a reset).
     */
    public long framesRefused() {
        return framesRefused.get();
    }

    private void readLoop() {
        try {
            while (true) {
                int slot = inbox.claim();
                if (slot < 0) {
                    return;
                }
                int length = codec.readFrame(inbox.slot(slot));
                if (length < 0) {
                    inbox.abandon();
                    failed("passt closed the connection" + exitNote());
                    return;
                }
                if (length < MIN_FRAME_BYTES) {
                    inbox.abandon();
                    framesDropped++;
                    LOG.debug("{}: dropped a {}-byte frame (shorter than an Ethernet header)", describe(), length);
                    continue;
                }
                framesReceived++;
                if (replies != null) {
                    replies.fromHost(inbox.slot(slot).duplicate().flip());
                }
                if (inbox.publish(length)) {
                    notifyFrames();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ClosedChannelException e) {
            if (!closed.get()) {
                failed("the connection to passt was closed");
            }
        } catch (IOException e) {
            if (!closed.get()) {
                String exit = exitNote();
                failed(exit.isEmpty() ? "reading from passt failed: " + e.getMessage()
                        : "passt closed the connection" + exit);
            }
        } catch (RuntimeException e) {
            LOG.error("{}: reader stopped by an unexpected error", describe(), e);
            failed("the reader stopped: " + e);
        }
    }

    private String exitNote() {
        try {
            if (process.waitFor(200, TimeUnit.MILLISECONDS)) {
                return " (" + describeExit(process.exitValue()) + ")" + logTail(log);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "";
    }

    private void notifyFrames() {
        tellListener(Listener::framesAvailable, "frame");
    }

    private void notifySendRoom() {
        tellListener(Listener::sendRoomAvailable, "send-room");
    }

    /** Tells the listener (if started) of an event; a listener that throws is logged, not propagated. */
    private void tellListener(Consumer<Listener> event, String what) {
        Listener l = listener;
        if (l != null) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                LOG.error("{}: {} listener failed", describe(), what, e);
            }
        }
    }

    private void failed(String reason) {
        if (closed.get()) {
            healthy = false;
            return;
        }
        synchronized (this) {
            if (!healthy) {
                return;
            }
            healthy = false;
        }
        LOG.warn("{}: the guest network stopped: {}", describe(), reason);
        Listener l = listener;
        if (l != null) {
            try {
                l.failed(reason);
            } catch (RuntimeException e) {
                LOG.error("{}: failure listener failed", describe(), e);
            }
        }
    }

    /**
     * Closes the connection, waits for passt to exit (its forwarded ports are free afterwards),
     * stops the reader and deletes the socket directory. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        healthy = false;
        inbox.close();
        if (LOG.isDebugEnabled()) {
            cleanUp(process, channel, null); // passt ends: its log is complete
            logPasstSaid();
        }
        cleanable.clean(); // closes the channel, stops passt, deletes the directory (and the log)
        sender.close(EXIT_WAIT.toMillis()); // the channel is closed: a write in progress has ended
        BackendThread t = reader;
        if (t != null) {
            t.awaitEnd(EXIT_WAIT.toMillis());
        }
        LOG.debug("{} closed: {} frames received, {} sent, {} dropped (received), {} dropped (sending), {} refused"
                + " (to the host's loopback); at most {} of {} frames waited for the guest", describe(), framesReceived,
                sender.sent(), framesDropped, sender.dropped(), framesRefused.get(), inbox.allocatedSlots(),
                inbox.capacity());
    }

    /** Logs the end of what passt said. */
    private void logPasstSaid() {
        List<String> lines = nonBlankLines(readLogEnd(log, CLOSE_LOG_BYTES));
        List<String> tail = last(lines, CLOSE_LOG_LINES);
        LOG.debug("{} said ({} of its last {} lines):\n  {}", describe(), tail.size(), lines.size(),
                String.join("\n  ", tail));
    }

    private static List<String> nonBlankLines(String text) {
        return text.lines().filter(l -> !l.isBlank()).collect(Collectors.toList());
    }

    private static List<String> last(List<String> lines, int count) {
        return lines.subList(Math.max(0, lines.size() - count), lines.size());
    }

    private static void cleanUp(Process process, SocketChannel channel, Path directory) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.debug("closing the passt connection: {}", e.toString());
            }
        }
        if (process != null) {
            stopProcess(process);
        }
        if (directory != null) {
            deleteTree(directory);
        }
    }

    /** Waits for passt to leave by itself (it exits when the connection closes), then SIGTERM, then SIGKILL. */
    static void stopProcess(Process process) {
        try {
            if (!process.waitFor(EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.debug("passt (pid {}) still runs; sending SIGTERM", process.pid());
                process.destroy();
                if (!process.waitFor(EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.warn("passt (pid {}) ignored SIGTERM; killing it", process.pid());
                    process.destroyForcibly();
                    if (!process.waitFor(EXIT_WAIT.toMillis() * 2, TimeUnit.MILLISECONDS)) {
                        LOG.error("passt (pid {}) survived SIGKILL", process.pid());
                    }
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    static void deleteTree(Path directory) {
        try (Stream<Path> walk = Files.walk(directory)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.warn("cannot delete {}: {}", p, e.toString());
                }
            });
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", directory, e.toString());
        }
    }

    /** Releases what a backend owns; run by close() or, if the backend was never closed, by the Cleaner. */
    private record Leak(Process process, SocketChannel channel, Path directory, AtomicBoolean closed) implements Runnable {
        @Override
        public void run() {
            if (!closed.get()) {
                LOG.warn("passt (pid {}) was never closed; stopping it now", process.pid());
            }
            cleanUp(process, channel, directory);
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
