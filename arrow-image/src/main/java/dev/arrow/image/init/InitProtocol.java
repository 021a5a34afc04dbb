package dev.arrow.image.init;

import dev.arrow.config.LinuxLimits;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;

/**
 * What Arrow's init ({@code arrow-image/src/main/c/init.c}) and the host say to each other, defined once
 * on the Java side: the status channel's port and line grammar ({@link InitStatus} parses it), the boot
 * marks init reports, the names of the virtio console ports init looks for, the control lines it
 * obeys (signal, clock, entropy, copy-out), and the header of a template clone's launch message ({@link LaunchMessage}).
 * The frames of copies on {@link #FILES_PORT_NAME} are {@link CopyOutDecoder}'s.
 * The spec file init reads is {@link SpecFile}'s. Each constant here appears in init's C source
 * as the same literal (checked by a tier-1 test).
 */
public final class InitProtocol {
    /**
     * The first of the {@link #STATUS_PORT_COUNT} I/O ports init writes its status lines to: each line in groups of 4
     * bytes, one {@code outl} to this port per group (its little-endian value: the bytes in line order), and the last 0..3
     * bytes one {@code outb} each; with {@link #BYTEWISE_STATUS_PARAMETER}, every byte with an {@code outb}. A reader takes
     * the bytes of every access in order.
     */
    public static final int STATUS_PORT = 0xF4;
    /** The I/O ports of the status channel, from {@link #STATUS_PORT}: an {@code outl} to it spans 0xF4..0xF7. */
    public static final int STATUS_PORT_COUNT = 4;
    /**
     * The kernel parameter that makes init write its status lines one byte per {@code outb} (the kernel hands it to init
     * as an environment entry), for a VMM whose device at {@link #STATUS_PORT} takes single bytes only: QEMU's
     * {@code isa-debugcon} is one byte wide, and QEMU's TCG drops a 4-byte access to it whole. Arrow's VMM does not need it.
     */
    public static final String BYTEWISE_STATUS_PARAMETER = "arrow_status=outb";
    /** The longest status line, its newline included. */
    public static final int STATUS_LINE_MAX_BYTES = 1024;

    /** Starts a status line: {@code arrow-status <kind>[ <argument>]}. */
    public static final String STATUS_PREFIX = "arrow-status";
    /** Status kind: the app exited; the argument is its exit code (0..255). */
    public static final String STATUS_EXITED = "exited";
    /** Status kind: a signal killed the app; the argument is the signal's number. */
    public static final String STATUS_SIGNALED = "signaled";
    /** Status kind: the program's path does not exist; the argument is init's message. */
    public static final String STATUS_NOT_FOUND = "not-found";
    /** Status kind: the program may not be executed; the argument is init's message. */
    public static final String STATUS_NOT_EXECUTABLE = "not-executable";
    /** Status kind: the kernel cannot run the program's format; the argument is init's message. */
    public static final String STATUS_EXEC_FORMAT = "exec-format";
    /** Status kind: the initramfs did not arrive whole; the argument says what differs and the memory figures. */
    public static final String STATUS_IMAGE_INCOMPLETE = "image-incomplete";
    /** Status kind: any other reason the app did not start or end normally; the argument is init's message. */
    public static final String STATUS_START_FAILED = "start-failed";

    /** Starts a boot mark line: {@code arrow-mark <name> <CLOCK_BOOTTIME ns>}. */
    public static final String MARK_PREFIX = "arrow-mark";
    /** Mark: init (PID 1) started. */
    public static final String MARK_INIT_START = "init-start";
    /** Mark: every file of the image matched the manifest. */
    public static final String MARK_IMAGE_CHECKED = "image-checked";
    /** Mark: eth0 is configured (only with network settings). */
    public static final String MARK_NET_UP = "net-up";
    /** Mark: the application loader's images are mounted and their files bound (only when there are images). */
    public static final String MARK_IMAGES_MOUNTED = "images-mounted";
    /**
     * Mark: a template's init is at its template point (mounts, console and virtio ports ready) and waits on
     * {@link #CONTROL_PORT_NAME} for its launch message ({@link LaunchMessage}); the VMM freezes the template here.
     */
    public static final String MARK_TEMPLATE_POINT = "template-point";
    /** Mark: a TCP socket listens on the spec's ready port ({@link LaunchSpec#readyPort()}): the app is ready. */
    public static final String MARK_APP_READY = "app-ready";
    /** Mark: the app's execve succeeded. */
    public static final String MARK_APP_EXEC = "app-exec";
    /** Mark: init saw the app end. */
    public static final String MARK_APP_EXIT = "app-exit";
    /** Mark: init is about to power the VM off. */
    public static final String MARK_HALT = "halt";

    /** The virtio console port init opens as the app's stdin (with {@link Stdio#VIRTIO}). */
    public static final String STDIN_PORT_NAME = "arrow.stdin";
    /** The virtio console port init opens as the app's stdout. */
    public static final String STDOUT_PORT_NAME = "arrow.stdout";
    /** The virtio console port init opens as the app's stderr. */
    public static final String STDERR_PORT_NAME = "arrow.stderr";
    /** The virtio console port init reads control lines from (host to guest). */
    public static final String CONTROL_PORT_NAME = "arrow.control";
    /**
     * The virtio console port init sends copied guest files on (guest to host, {@link CopyOutDecoder}'s frames); init
     * looks for it when it first needs it, not at start.
     */
    public static final String FILES_PORT_NAME = "arrow.files";

    /** Control line {@code signal <n>\n}: init sends signal n to the app. */
    public static final String SIGNAL_COMMAND = "signal ";
    /** Control line {@code clock-realtime-ns <ns>\n}: init sets the guest's wall clock (as the spec key of that name). */
    public static final String CLOCK_COMMAND = "clock-realtime-ns ";
    /** Control line {@code entropy <hex>\n}: init mixes the bytes into the kernel's pool and reseeds (as the spec key). */
    public static final String ENTROPY_COMMAND = "entropy ";
    /**
     * Control line {@code copy-out <id> <max bytes> <path>\n}: init sends the guest file or tree at path on
     * {@link #FILES_PORT_NAME} as copy {@code id} (1..2^32-1), failing it past {@code max bytes} of file content.
     */
    public static final String COPY_OUT_COMMAND = "copy-out ";
    /** The copy id of the spec's copy-out paths, which init sends after the app ended. */
    public static final long COPY_OUT_EXIT_ID = 0;
    /** The largest copy id of a {@link #COPY_OUT_COMMAND}. */
    public static final long COPY_OUT_MAX_ID = 0xFFFF_FFFFL;
    /** The longest control line init reads, its newline included; longer ones are dropped. */
    public static final int CONTROL_LINE_MAX_BYTES = 1024;
    /** Starts the launch message of a template's clone: {@code spec <length>\n}, then the spec's bytes. */
    public static final String LAUNCH_HEADER = "spec ";

    /** The fewest random bytes an {@code entropy} spec record or control line carries (128 bits). */
    public static final int ENTROPY_MIN_BYTES = 16;
    /** The most random bytes an {@code entropy} spec record or control line carries. */
    public static final int ENTROPY_MAX_BYTES = 256;

    private InitProtocol() {
    }

    /** The control line that makes init send {@code signal} to the app, newline included. */
    public static String signalCommand(int signal) {
        if (signal < 1 || signal > LinuxLimits.MAX_SIGNAL)
            throw new IllegalArgumentException("signal " + signal + " outside 1.." + LinuxLimits.MAX_SIGNAL);
        return SIGNAL_COMMAND + signal + "\n";
    }

    /**
     * The control line that makes init send {@code guestPath} as copy {@code id} within {@code maxBytes} bytes of file
     * content, newline included.
     *
     * @throws IllegalArgumentException if the id or bound is out of range, or the path is not absolute, holds a newline or
     *                                  NUL, or makes the line longer than {@value #CONTROL_LINE_MAX_BYTES} bytes
     */
    public static String copyOutCommand(long id, long maxBytes, String guestPath) {
        Objects.requireNonNull(guestPath, "guestPath");
        if (id < 1 || id > COPY_OUT_MAX_ID || maxBytes < 0)
            throw new IllegalArgumentException("copy id " + id + " outside 1.." + COPY_OUT_MAX_ID + " or bound " + maxBytes + " negative");
        if (!guestPath.startsWith("/") || guestPath.indexOf('\n') >= 0 || guestPath.indexOf('\0') >= 0)
            throw new IllegalArgumentException("guest path \"" + guestPath + "\" is not absolute or holds a newline or NUL");
        String line = COPY_OUT_COMMAND + id + " " + maxBytes + " " + guestPath + "\n";
        int bytes = line.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > CONTROL_LINE_MAX_BYTES)
            throw new IllegalArgumentException("guest path \"" + guestPath + "\" is too long to copy while the program runs ("
                    + (bytes - CONTROL_LINE_MAX_BYTES) + " bytes over): copy a parent directory, or declare it to be copied"
                    + " when the program ends");
        return line;
    }

    /** The control line that sets the guest's wall clock to {@code now}, newline included. */
    public static String clockCommand(Instant now) {
        return CLOCK_COMMAND + realtimeNanos(now) + "\n";
    }

    /** The control line that mixes {@code entropy} into the guest kernel's pool and reseeds it, newline included. */
    public static String entropyCommand(byte[] entropy) {
        return ENTROPY_COMMAND + entropyHex(entropy) + "\n";
    }

    /** {@code now} as init's {@code CLOCK_REALTIME} value: decimal nanoseconds since the epoch, not before it. */
    static String realtimeNanos(Instant now) {
        Objects.requireNonNull(now, "now");
        if (now.isBefore(Instant.EPOCH))
            throw new InvalidLaunchSpecException("wall clock " + now + " is before 1970: pass the host's Instant.now()");
        try {
            return Long.toString(Math.addExact(Math.multiplyExact(now.getEpochSecond(), 1_000_000_000L), now.getNano()));
        } catch (ArithmeticException e) {
            throw new InvalidLaunchSpecException("wall clock " + now + " is past 2262, beyond 64-bit nanoseconds: pass the host's"
                    + " Instant.now()");
        }
    }

    /** {@code entropy} as init reads it: lowercase hex of {@value #ENTROPY_MIN_BYTES}..{@value #ENTROPY_MAX_BYTES} bytes. */
    static String entropyHex(byte[] entropy) {
        Objects.requireNonNull(entropy, "entropy");
        if (entropy.length < ENTROPY_MIN_BYTES || entropy.length > ENTROPY_MAX_BYTES)
            throw new InvalidLaunchSpecException(entropy.length + " bytes of entropy given; init takes " + ENTROPY_MIN_BYTES + ".."
                    + ENTROPY_MAX_BYTES + ": pass e.g. 32 bytes from SecureRandom");
        return HexFormat.of().formatHex(entropy);
    }

    /** The header line of a launch message carrying {@code specBytes} bytes of spec. */
    static byte[] launchHeader(int specBytes) {
        return (LAUNCH_HEADER + specBytes + "\n").getBytes(StandardCharsets.US_ASCII);
    }
}
