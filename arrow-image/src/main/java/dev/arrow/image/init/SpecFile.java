package dev.arrow.image.init;

import dev.arrow.config.Rlimit;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The on-guest form of a {@link LaunchSpec}: the file {@value #GUEST_PATH} that init reads at boot.
 *
 * <p>Format (version 1): the header {@code "arrow-spec 1\n"}, then records {@code key NUL value NUL},
 * closed by the record {@code end NUL NUL}; nothing may follow it. Keys, in the order written:
 * <ul>
 *   <li>{@code exec}: absolute guest path of the program, once;</li>
 *   <li>{@code arg}: one argv element each, in order, argv[0] first (at least one);</li>
 *   <li>{@code env}: one {@code NAME=value} each, in order;</li>
 *   <li>{@code cwd}: absolute working directory (optional, default {@code /});</li>
 *   <li>{@code uid}, {@code gid}: decimal ids (optional, default 0);</li>
 *   <li>{@code rlimit}: {@code "<name> <soft> <hard>"}, limits decimal or {@code unlimited}, names as
 *       {@link dev.arrow.config.RlimitResource#jsonName()}, one record per resource;</li>
 *   <li>{@code hostname}: 1..64 bytes (optional);</li>
 *   <li>{@code grace-ms}: decimal 0..60000 (optional, default 500);</li>
 *   <li>{@code net-ipv4}: {@code a.b.c.d/prefix} (prefix 1..30), the address of eth0 (optional; without it
 *       init configures loopback only);</li>
 *   <li>{@code net-gateway}: {@code a.b.c.d}, the default route's next hop (optional, needs {@code net-ipv4});</li>
 *   <li>{@code net-dns}: {@code a.b.c.d}, one nameserver each, at most 3 (needs {@code net-ipv4});</li>
 *   <li>{@code net-tcp-rmem-max}: decimal bytes, the cap of TCP's receive buffers (optional, needs {@code net-ipv4};
 *       {@link NetworkSettings#tcpReceiveBuffer()}).</li>
 *   <li>{@code stdio}: {@code serial} or {@code virtio} ({@link Stdio}; optional, default {@code serial},
 *       written only for {@code virtio}).</li>
 *   <li>{@code stderr}: {@code stdout} (optional): the app's fd 2 is a duplicate of its fd 1
 *       ({@link LaunchSpec#stderrToStdout()}).</li>
 *   <li>{@code template}: {@code init}, only in a template's spec ({@link #encodeTemplate()}), which holds nothing but
 *       it and {@code stdio virtio}: init stops at its template point and reads a {@link LaunchMessage};</li>
 *   <li>{@code ready-port}: 1..65535 (optional): init reports {@link InitProtocol#MARK_APP_READY} once a TCP socket
 *       listens on it;</li>
 *   <li>{@code clock-realtime-ns}: decimal nanoseconds since the epoch (optional): init sets the wall clock;</li>
 *   <li>{@code entropy}: 32..512 lowercase hex digits (optional): init mixes them into the kernel's pool and reseeds;</li>
 *   <li>{@code file}: {@code "<octal mode> <length> <path>"}, and after the value's NUL exactly {@code <length>} raw
 *       bytes and a NUL (the one record whose data may hold NUL): a file init writes before the app starts
 *       ({@link LaunchFile}), one record per file.</li>
 * </ul>
 * Addresses are strict dotted quads (no leading zeros). Other keys starting with {@code net-} are
 * reserved for later network settings and rejected.
 * Values cannot contain NUL (execve could not pass them anyway), so no escaping is needed. init
 * rejects unknown keys, repeated single keys, a missing {@code end} (a truncated file) and
 * trailing bytes, and reports {@code arrow-status start-failed malformed spec ...}.
 */
public final class SpecFile {
    /** Where init looks for the spec. */
    public static final String GUEST_PATH = "/arrow/spec";
    public static final String MAGIC = "arrow-spec 1\n";
    /** The largest spec init accepts. */
    public static final int MAX_BYTES = 16 << 20;

    private SpecFile() {
    }

    /** The spec file's bytes. */
    public static byte[] encode(LaunchSpec spec) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.writeBytes(MAGIC.getBytes(StandardCharsets.US_ASCII));
        record(out, "exec", spec.executable().value());
        for (String arg : spec.argv()) record(out, "arg", arg);
        for (Map.Entry<String, String> e : spec.environment().entrySet()) record(out, "env", e.getKey() + "=" + e.getValue());
        spec.workingDirectory().ifPresent(cwd -> record(out, "cwd", cwd.value()));
        spec.uid().ifPresent(uid -> record(out, "uid", Long.toString(uid)));
        spec.gid().ifPresent(gid -> record(out, "gid", Long.toString(gid)));
        for (Rlimit l : spec.limits()) {
            record(out, "rlimit", l.resource().jsonName() + " " + limitText(l.soft()) + " " + limitText(l.hard()));
        }
        spec.hostname().ifPresent(h -> record(out, "hostname", h));
        spec.killGrace().ifPresent(g -> record(out, "grace-ms", Long.toString(g.toMillis())));
        spec.network().ifPresent(n -> {
            record(out, "net-ipv4", n.cidr());
            n.gateway().ifPresent(g -> record(out, "net-gateway", NetworkSettings.text(g)));
            n.dns().forEach(d -> record(out, "net-dns", NetworkSettings.text(d)));
            n.tcpReceiveBuffer().ifPresent(b -> record(out, "net-tcp-rmem-max", Integer.toString(b)));
        });
        if (spec.stdio() != Stdio.SERIAL) record(out, "stdio", spec.stdio().specName());
        if (spec.stderrToStdout()) record(out, "stderr", "stdout");
        spec.readyPort().ifPresent(p -> record(out, "ready-port", Integer.toString(p)));
        spec.realtimeClock().ifPresent(now -> record(out, "clock-realtime-ns", InitProtocol.realtimeNanos(now)));
        spec.entropy().ifPresent(e -> record(out, "entropy", InitProtocol.entropyHex(e)));
        spec.images().writeRecords((key, value) -> record(out, key, value));
        for (LaunchFile f : spec.files()) {
            record(out, "file", String.format("%04o %d %s", f.mode(), f.length(), f.path().value()));
            out.writeBytes(f.content());
            out.write(0);
        }
        spec.copyOut().forEach(path -> record(out, "copy-out", path));
        if (!spec.copyOut().isEmpty()) record(out, "copy-out-max", Long.toString(spec.copyOutMaxBytes()));
        record(out, "end", "");
        if (out.size() > MAX_BYTES)
            throw new InvalidLaunchSpecException("the run spec takes " + out.size() + " bytes; init reads at most " + MAX_BYTES
                    + ": pass fewer or shorter arguments, environment variables and files");
        return out.toByteArray();
    }

    /**
     * The spec of a template's initramfs: {@code template init} and {@code stdio virtio}, nothing else. Init stops at its
     * template point and takes the clone's spec from a {@link LaunchMessage}.
     */
    public static byte[] encodeTemplate() {
        return encodeTemplate(ImageMounts.NONE);
    }

    /**
     * The spec of a template's initramfs whose init mounts {@code images} before its template point (so that every clone
     * shares them): {@code template init}, {@code stdio virtio} and the images' records.
     */
    public static byte[] encodeTemplate(ImageMounts images) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        out.writeBytes(MAGIC.getBytes(StandardCharsets.US_ASCII));
        record(out, "stdio", Stdio.VIRTIO.specName());
        record(out, "template", "init");
        images.writeRecords((key, value) -> record(out, key, value));
        record(out, "end", "");
        return out.toByteArray();
    }

    /** A limit as the spec file writes it: decimal or {@code unlimited}. */
    static String limitText(long limit) {
        return limit == Rlimit.UNLIMITED ? "unlimited" : Long.toString(limit);
    }

    private static void record(ByteArrayOutputStream out, String key, String value) {
        out.writeBytes(key.getBytes(StandardCharsets.US_ASCII));
        out.write(0);
        out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }
}
