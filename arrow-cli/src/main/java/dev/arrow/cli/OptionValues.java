package dev.arrow.cli;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.ArrowSpecJson;
import dev.arrow.config.GuestFile;
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.config.Rlimit;
import dev.arrow.config.RlimitResource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text forms of {@code arrow run}'s option values and their parsers. Each parser throws an
 * {@link IllegalArgumentException} whose message names the option, what it wants and what it got.
 */
final class OptionValues {
    private static final Pattern FILE = Pattern.compile("(.+?):(/[^:]*)(?::([0-7]{3,4}))?(:rw)?");
    private static final Pattern USER = Pattern.compile("([0-9]+)(?::([0-9]+))?");
    private static final String UNLIMITED = "unlimited";

    private OptionValues() {
    }

    /** {@code none}, {@code user} or {@code tap:NAME}. */
    static Net net(String value) {
        if (value.equals("none")) {
            return Net.none();
        }
        if (value.equals("user")) {
            return Net.user();
        }
        if (value.startsWith("tap:") && value.length() > 4) {
            return Net.tap(value.substring(4));
        }
        throw new IllegalArgumentException("--net wants none, user or tap:NAME, got '" + value + "'");
    }

    /**
     * {@code [ADDRESS:]HOST:GUEST[/tcp|/udp]}: the host port (on ADDRESS, 127.0.0.1 if none is
     * given), the guest port, the protocol (TCP if none is given).
     */
    static PortForward forward(String value) {
        String ports = value;
        boolean udp = false;
        int slash = value.indexOf('/');
        if (slash >= 0) {
            String protocol = value.substring(slash + 1);
            if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                throw new IllegalArgumentException("--publish protocol must be tcp or udp, got '" + protocol + "'");
            }
            udp = protocol.equals("udp");
            ports = value.substring(0, slash);
        }
        String[] parts = ports.split(":", -1);
        if (parts.length < 2 || parts.length > 3 || parts[parts.length - 2].isEmpty() || parts[parts.length - 1].isEmpty()) {
            throw new IllegalArgumentException("--publish wants [ADDRESS:]HOST:GUEST[/udp] (e.g. 8080:80, or"
                    + " 0.0.0.0:8080:80 for every interface), got '" + value + "'");
        }
        String address = parts.length == 3 ? parts[0] : PortForward.LOOPBACK;
        int host = integer("--publish", parts[parts.length - 2]);
        int guest = integer("--publish", parts[parts.length - 1]);
        return udp ? PortForward.udp(address, host, guest) : PortForward.tcp(address, host, guest);
    }

    /**
     * {@code HOSTPATH:GUESTPATH[:MODE][:rw]}, MODE in octal; without it the host file's permission bits are kept; {@code :rw}
     * asks for a private copy the app may change ({@link GuestFile#writable()}) instead of a read-only mapping of a
     * large file.
     */
    static GuestFile file(String value) {
        Matcher m = FILE.matcher(value);
        if (!m.matches()) {
            throw new IllegalArgumentException("--file wants HOSTPATH:GUESTPATH[:MODE][:rw] with an absolute GUESTPATH and"
                    + " an octal MODE (e.g. ./app.conf:/etc/app.conf:0600), got '" + value + "'");
        }
        GuestFile file = GuestFile.fromHost(Path.of(m.group(1)), m.group(2));
        if (m.group(3) != null) file = file.withMode(Integer.parseInt(m.group(3), 8));
        return m.group(4) == null ? file : file.writable();
    }

    /** A {@code --copy-out}: the guest path sent back when the program ends, and where on the host it goes. */
    record CopyOut(String guestPath, Path hostPath) {
    }

    /** {@code GUESTPATH:HOSTPATH}: GUESTPATH absolute, without ':'. */
    static CopyOut copyOut(String value) {
        int colon = value.indexOf(':');
        if (!value.startsWith("/") || colon < 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException("--copy-out wants GUESTPATH:HOSTPATH with an absolute GUESTPATH (e.g."
                    + " /out:./results), got '" + value + "'");
        }
        return new CopyOut(value.substring(0, colon), Path.of(value.substring(colon + 1)));
    }

    /** The user and group ids the program runs as. */
    record Ids(int uid, int gid) {
    }

    /** {@code UID[:GID]}; without GID the group id is the user id. */
    static Ids user(String value) {
        Matcher m = USER.matcher(value);
        if (!m.matches()) {
            throw new IllegalArgumentException("--user wants UID[:GID] as numbers (the guest has no user names),"
                    + " got '" + value + "'");
        }
        int uid = integer("--user", m.group(1));
        return new Ids(uid, m.group(2) == null ? uid : integer("--user", m.group(2)));
    }

    /** {@code NAME=SOFT[:HARD]}, e.g. {@code nofile=1024:4096}; a limit is a number or {@code unlimited}; HARD defaults to SOFT. */
    static Rlimit rlimit(String value) {
        int eq = value.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--rlimit wants NAME=SOFT[:HARD] (e.g. nofile=1024:4096), got '" + value + "'");
        }
        RlimitResource resource = resource(value.substring(0, eq));
        String[] limits = value.substring(eq + 1).split(":", -1);
        if (limits.length > 2) {
            throw new IllegalArgumentException("--rlimit wants NAME=SOFT[:HARD] (e.g. nofile=1024:4096), got '" + value + "'");
        }
        long soft = limit(limits[0]);
        return new Rlimit(resource, soft, limits.length == 2 ? limit(limits[1]) : soft);
    }

    private static RlimitResource resource(String name) {
        try {
            return RlimitResource.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--rlimit: unknown resource '" + name + "'; use one of "
                    + List.of(RlimitResource.values()).stream().map(RlimitResource::jsonName).toList());
        }
    }

    private static long limit(String text) {
        if (text.equals(UNLIMITED)) {
            return Rlimit.UNLIMITED;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--rlimit wants a number or 'unlimited' as a limit, got '" + text + "'");
        }
    }

    /** {@code NAME=VALUE} (VALUE may be empty) as a one-entry map. */
    static Map.Entry<String, String> env(String value) {
        int eq = value.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--env wants NAME=VALUE, got '" + value + "'");
        }
        return Map.entry(value.substring(0, eq), value.substring(eq + 1));
    }

    /**
     * The variables of an env file, in file order: one {@code NAME=VALUE} per line, taken literally (no quotes,
     * no expansion); blank lines and lines starting with {@code #} are skipped.
     */
    static Map<String, String> envFile(Path file) {
        Map<String, String> variables = new LinkedHashMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("--env-file " + file + " cannot be read: " + reason(e));
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.stripLeading().startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--env-file " + file + " line " + (i + 1) + " wants NAME=VALUE, got '"
                        + line + "'");
            }
            variables.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return variables;
    }

    /** The spec in the JSON file {@code file}; a SpecException (an IllegalArgumentException) when it is invalid. */
    static ArrowSpec specFile(Path file) {
        try {
            return ArrowSpecJson.read(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the spec: " + reason(e));
        }
    }

    private static String reason(IOException e) {
        return e instanceof NoSuchFileException ? e.getMessage() + " does not exist" : e.toString();
    }

    /** A whole number for {@code option}. */
    static int integer(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " wants a number, got '" + value + "'");
        }
    }
}
