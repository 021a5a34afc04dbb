package dev.arrow.kvm.net;

import dev.arrow.kvm.net.NetworkBackendException.Reason;
import dev.arrow.kvm.sys.NativeCleaner;
import java.io.File;
import java.io.IOException;
import java.lang.ref.Cleaner;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One passt process serving one guest, and our connection to it: {@link #start} finds passt (and
 * util-linux's setpriv), checks the forwarded host ports ({@link HostPorts}), makes the private
 * directory ({@link OwnedDirectory}) for its socket and its log ({@link PasstLog}), starts it with
 * the command line of {@link PasstCommand} from {@link SpawnThread} (with a parent-death signal:
 * passt dies with the JVM, also before we have connected to it), connects to its socket, and when
 * passt does not come up says why (its exit code, what it printed, a port in use, no host route).
 * Any failure stops passt and removes the directory before the exception leaves. The directory is
 * named after this JVM, and the first start in a JVM removes those that JVMs which died without
 * closing left behind.
 *
 * <p>{@link #close()} closes the connection (passt runs with {@code --one-off} and exits at once),
 * waits for the process to end (so the forwarded ports are free when it returns; it escalates to
 * SIGTERM and SIGKILL if passt lingers) and deletes the socket, the log and the directory. A
 * Cleaner does the same, with a warning, for a process nobody closed.
 */
final class PasstProcess implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PasstProcess.class);

    /** Where passt (after the PATH) and setpriv are looked for. */
    static final List<Path> STANDARD_DIRS = List.of(Path.of("/usr/bin"), Path.of("/usr/sbin"), Path.of("/usr/local/bin"),
            Path.of("/usr/local/sbin"), Path.of("/bin"), Path.of("/sbin"));
    /** Longest Unix socket path (sun_path is 108 bytes with its NUL). */
    static final int MAX_SOCKET_PATH = 107;
    /** The name prefix of the private directories; {@link OwnedDirectory} adds the owner JVM. */
    static final String DIRECTORY_PREFIX = "arrow-passt-";
    /** How long passt gets to leave at each step of {@link #close()}. */
    private static final Duration EXIT_WAIT = Duration.ofMillis(AbstractNetworkBackend.CLOSE_WAIT_MILLIS);
    /** How much of passt's log is read at close, and how many of its last lines are logged. */
    private static final int CLOSE_LOG_BYTES = 256 * 1024;
    private static final int CLOSE_LOG_LINES = 60;
    private static final Pattern BIND_FAILURE =
            Pattern.compile("Failed to bind any port for '-([tu]) (?:([0-9.]+)/)?(\\d+)");
    /** Whether this JVM swept the stale private directories (java.io.tmpdir and /tmp) yet. */
    private static final AtomicBoolean SWEPT = new AtomicBoolean();

    private final Process process;
    private final Path directory;
    private final Path socket;
    private final Path log;
    private final SocketChannel channel;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Cleaner.Cleanable cleanable;

    private PasstProcess(Process process, Path directory, Path socket, Path log, SocketChannel channel) {
        this.process = process;
        this.directory = directory;
        this.socket = socket;
        this.log = log;
        this.channel = channel;
        this.cleanable = NativeCleaner.CLEANER.register(this, new Resources(process, channel, directory, log, closed));
    }

    /**
     * Starts passt for one guest and connects to it.
     *
     * @throws NetworkBackendException when passt is missing ({@link Reason#PASST_MISSING}), a
     *     forwarded port is taken ({@link Reason#PORT_IN_USE}) or passt does not come up
     *     ({@link Reason#PASST_FAILED_TO_START}, with passt's own words); nothing is left running
     */
    static PasstProcess start(PasstBackend.Options options) {
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
            channel = connect(process, socket, log, options.startTimeout());
            PasstProcess passt = new PasstProcess(process, directory, socket, log, channel);
            LOG.info("passt (pid {}) serves the guest network {} with forwards {}, the host's loopback {}, up in {} ms",
                    process.pid(), options.network().cidr(), options.forwards(),
                    options.hostLoopback() ? "reachable at the gateway address" : "out of reach",
                    (System.nanoTime() - startNanos) / 1_000_000);
            return passt;
        } catch (IOException e) {
            release(process, channel, directory, null);
            throw new NetworkBackendException(Reason.IO, "cannot set up passt: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            release(process, channel, directory, null);
            throw e;
        }
    }

    static Path findExecutable(Optional<Path> configured) {
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
    static Path findSetpriv() {
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
                if (!Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                    return false;
                }
            }
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static SocketChannel connect(Process process, Path socket, Path log, Duration startTimeout)
            throws IOException {
        long deadline = System.nanoTime() + startTimeout.toNanos();
        long pauseMillis = 2;
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socket);
        while (true) {
            if (!process.isAlive()) {
                throw startFailure(process.exitValue(), PasstLog.read(log), PasstLog.tail(log));
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
                        + ") did not accept connections on " + socket + " within " + startTimeout.toMillis()
                        + " ms" + PasstLog.tail(log));
            }
            try {
                Thread.sleep(pauseMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NetworkBackendException(Reason.PASST_FAILED_TO_START,
                        "interrupted while waiting for passt to start", e);
            }
            pauseMillis = Math.min(pauseMillis * 2, 50);
        }
    }

    /** The error for a passt that exited with {@code code} while starting, from what it said ({@code text}, its {@code tail}). */
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
            return new NetworkBackendException(Reason.PASST_FAILED_TO_START, "passt could not create the user"
                    + " namespace it isolates itself in: enable user namespaces on this host (kernel CONFIG_USER_NS=y;"
                    + " sysctl user.max_user_namespaces > 0, and kernel.unprivileged_userns_clone=1 where that exists)"
                    + tail);
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

    /** The connection to passt: frames in {@link PasstFrameCodec}'s format. */
    SocketChannel channel() {
        return channel;
    }

    long pid() {
        return process.pid();
    }

    ProcessHandle handle() {
        return process.toHandle();
    }

    Path socket() {
        return socket;
    }

    Path directory() {
        return directory;
    }

    /**
     * How passt ended, for a connection it closed: {@code " (passt exited with code 1); passt said: ..."},
     * or empty when it still runs 200 ms later.
     */
    String exitNote() {
        try {
            if (process.waitFor(200, TimeUnit.MILLISECONDS)) {
                return " (" + describeExit(process.exitValue()) + ")" + PasstLog.tail(log);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "";
    }

    /** Closes the connection: a read or write in progress on it ends, and passt ({@code --one-off}) exits. */
    void closeConnection() {
        closeChannel(channel);
    }

    /** Closes the connection, waits for passt to end (escalating if it lingers) and deletes its directory. Idempotent. */
    @Override
    public void close() {
        closed.set(true);
        cleanable.clean();
    }

    private static void closeChannel(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("closing the passt connection: {}", e.toString());
        }
    }

    /** Releases what {@link #start} made so far; with debug logging, logs the end of what passt said before its log goes. */
    private static void release(Process process, SocketChannel channel, Path directory, Path log) {
        if (channel != null) {
            closeChannel(channel);
        }
        if (process != null) {
            stopProcess(process);
            if (log != null && LOG.isDebugEnabled()) {
                logPasstSaid(process, log);
            }
        }
        if (directory != null) {
            OwnedDirectory.deleteTree(directory);
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

    /** Logs the end of what passt said. */
    private static void logPasstSaid(Process process, Path log) {
        List<String> lines = PasstLog.nonBlankLines(PasstLog.readEnd(log, CLOSE_LOG_BYTES));
        List<String> tail = PasstLog.last(lines, CLOSE_LOG_LINES);
        LOG.debug("passt (pid {}) said ({} of its last {} lines):\n  {}", process.pid(), tail.size(), lines.size(),
                String.join("\n  ", tail));
    }

    /** What a running passt holds; released by close() or, if it was never closed, by the Cleaner. */
    private record Resources(Process process, SocketChannel channel, Path directory, Path log, AtomicBoolean closed)
            implements Runnable {
        @Override
        public void run() {
            if (!closed.get()) {
                LOG.warn("passt (pid {}) was never closed; stopping it now", process.pid());
            }
            release(process, channel, directory, log);
        }
    }

    @Override
    public String toString() {
        return "passt (pid " + process.pid() + ")";
    }
}
