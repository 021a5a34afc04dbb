package dev.arrow.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks an {@link ArrowSpec} against the limits of Linux ({@link LinuxLimits}) and of Arrow. Pure: no host file system
 * access. Every problem is reported with the JSON path of the offending value.
 */
final class SpecValidator {

    /** Room for the guest path of the program, which execve copies too (a backend's choice, well below this). */
    static final int EXEC_PATH_ALLOWANCE = 256;
    static final int MAX_MODE = 07777;

    private final List<SpecProblem> problems = new ArrayList<>();

    private SpecValidator() {
    }

    static List<SpecProblem> validate(ArrowSpec spec) {
        SpecValidator v = new SpecValidator();
        v.check(spec);
        return List.copyOf(v.problems);
    }

    private void problem(String path, String message) {
        problems.add(new SpecProblem(path, message));
    }

    private static String field(String name) {
        return JsonPaths.field(JsonPaths.ROOT, name);
    }

    private void check(ArrowSpec spec) {
        if (spec.binary().toString().isEmpty()) {
            problem(field("binary"), "the binary path is empty; give the path of a statically linked Linux executable");
        }
        List<String> args = spec.args();
        for (int i = 0; i < args.size(); i++) {
            checkCString(JsonPaths.index(field("args"), i), "argument", args.get(i));
        }
        checkEnv(spec.env());
        checkExecRoom(spec);
        String cwd = guestPathProblem(spec.workingDirectory(), false);
        if (cwd != null) {
            problem(field("workingDirectory"), cwd);
        }
        checkId(field("uid"), "user", spec.uid());
        checkId(field("gid"), "group", spec.gid());
        checkMemory(spec.memoryBytes());
        checkCpus(spec.cpus());
        checkNet(spec.net());
        checkFiles(spec.files());
        spec.kernel().ifPresent(k -> {
            if (k.toString().isEmpty()) {
                problem(field("kernel"), "the kernel path is empty; give the path of an uncompressed vmlinux,"
                        + " or leave the kernel unset to boot Arrow's default kernel");
            }
        });
        spec.timeout().ifPresent(this::checkTimeout);
        checkHostname(spec.hostname());
        spec.rlimits().values().forEach(this::checkRlimit);
        checkCopyOut(spec.copyOutOnExit(), spec.copyOutMaxBytes());
    }

    private void checkCopyOut(List<String> paths, long maxBytes) {
        String listPath = field("copyOutOnExit");
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < paths.size(); i++) {
            String message = guestPathProblem(paths.get(i), false);
            Integer first = message == null ? seen.putIfAbsent(paths.get(i), i) : null;
            if (first != null) {
                message = "guest path \"" + paths.get(i) + "\" is already listed at " + JsonPaths.index(listPath, first)
                        + "; list each path once";
            }
            if (message != null) {
                problem(JsonPaths.index(listPath, i), message);
            }
        }
        if (maxBytes < 0) {
            problem(field("copyOutMaxBytes"), maxBytes + " is negative; give the most bytes to copy out, e.g. "
                    + ArrowSpec.DEFAULT_COPY_OUT_MAX_BYTES);
        }
    }

    private void checkCString(String path, String what, String value) {
        if (value.indexOf('\0') >= 0) {
            problem(path, what + " contains a NUL character; program " + what + "s cannot contain NUL");
            return;
        }
        int bytes = value.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > LinuxLimits.MAX_ARG_BYTES) {
            problem(path, what + " is " + bytes + " bytes long; Linux accepts at most " + LinuxLimits.MAX_ARG_BYTES
                    + " bytes; pass large data in a file instead");
        }
    }

    private void checkEnv(Map<String, String> env) {
        for (Map.Entry<String, String> e : env.entrySet()) {
            String name = e.getKey();
            String path = JsonPaths.field(field("env"), name);
            if (name.isEmpty()) {
                problem(path, "environment variable name is empty; give a name such as \"PATH\"");
            } else if (name.indexOf('=') >= 0) {
                problem(path, "environment variable name \"" + name + "\" contains '='; names cannot contain '=' or NUL");
            } else if (name.indexOf('\0') >= 0) {
                problem(path, "environment variable name contains a NUL character; names cannot contain '=' or NUL");
            } else if (e.getValue().indexOf('\0') >= 0) {
                problem(path, "value contains a NUL character; environment values cannot contain NUL");
            } else {
                int bytes = (name + "=" + e.getValue()).getBytes(StandardCharsets.UTF_8).length;
                if (bytes > LinuxLimits.MAX_ARG_BYTES) {
                    problem(path, "variable is " + bytes + " bytes long; Linux accepts at most " + LinuxLimits.MAX_ARG_BYTES
                            + " bytes per variable; pass large data in a file instead");
                }
            }
        }
    }

    /**
     * Why {@code path} is not an absolute, normalized guest path, or null if it is one.
     *
     * @param file whether the path names a file (then "/" is rejected)
     */
    static String guestPathProblem(String path, boolean file) {
        if (path.isEmpty()) {
            return "guest path is empty; give an absolute path such as \"/data/input.txt\"";
        }
        if (path.indexOf('\0') >= 0) {
            return "guest path contains a NUL character; paths cannot contain NUL";
        }
        if (!path.startsWith("/")) {
            return "guest path \"" + path + "\" is relative; write it as an absolute path, e.g. \"/" + path + "\"";
        }
        int bytes = path.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > LinuxLimits.MAX_PATH_BYTES) {
            return "guest path is " + bytes + " bytes long; Linux accepts at most " + LinuxLimits.MAX_PATH_BYTES + " bytes";
        }
        if (path.equals("/")) {
            return file ? "guest path \"/\" is the root directory; name a file, e.g. \"/data/input.txt\"" : null;
        }
        String[] segments = path.substring(1).split("/", -1);
        StringBuilder normal = new StringBuilder();
        boolean normalized = true;
        for (String segment : segments) {
            if (segment.equals("..")) {
                return "guest path \"" + path + "\" contains \"..\"; write the path without \"..\" segments";
            }
            if (segment.isEmpty() || segment.equals(".")) {
                normalized = false;
                continue;
            }
            if (segment.getBytes(StandardCharsets.UTF_8).length > LinuxLimits.NAME_MAX) {
                return "guest path \"" + path + "\" has a name longer than " + LinuxLimits.NAME_MAX
                        + " bytes; Linux does not allow longer names";
            }
            normal.append('/').append(segment);
        }
        if (!normalized) {
            String fixed = normal.length() == 0 ? "/" : normal.toString();
            return "guest path \"" + path + "\" is not in normal form; write it as \"" + fixed + "\"";
        }
        return null;
    }

    /**
     * execve (fs/exec.c) refuses with E2BIG when the strings of argv and envp, the program's path and one
     * pointer per string exceed {@link LinuxLimits#execRoom(long)}.
     */
    private void checkExecRoom(ArrowSpec spec) {
        long bytes = EXEC_PATH_ALLOWANCE + cStringBytes(String.valueOf(spec.binary().getFileName()));
        for (String arg : spec.args()) {
            bytes += cStringBytes(arg);
        }
        for (Map.Entry<String, String> e : spec.env().entrySet()) {
            bytes += cStringBytes(e.getKey()) + cStringBytes(e.getValue()); // "NAME=value" and its NUL
        }
        bytes += 8L * (1 + spec.args().size() + spec.env().size());
        Rlimit stack = spec.rlimits().get(RlimitResource.STACK);
        long stackLimit = stack == null ? LinuxLimits.DEFAULT_STACK_LIMIT : stack.soft();
        long room = LinuxLimits.execRoom(stackLimit);
        if (bytes > room) {
            problem(field("args"), "the arguments and environment take " + bytes + " bytes in execve, more than the "
                    + room + " Linux accepts (a quarter of the stack limit, " + (stackLimit == Rlimit.UNLIMITED ? "unlimited"
                    : stackLimit + " bytes") + "); pass large data in a file (file(...)) or raise rlimit stack");
        }
    }

    private static long cStringBytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length + 1L;
    }

    private void checkId(String path, String kind, int id) {
        if (id < 0) {
            problem(path, id + " is not a " + kind + " id; use 0 (root) or a positive id");
        }
    }

    private void checkMemory(long bytes) {
        String path = field("memory");
        String min = ByteSizes.format(ArrowSpec.MIN_MEMORY_BYTES);
        if (bytes < ArrowSpec.MIN_MEMORY_BYTES) {
            problem(path, ByteSizes.format(bytes) + " is too small; the guest needs at least " + min
                    + ", ask for " + min + " or more");
        } else if (bytes > ArrowSpec.MAX_MEMORY_BYTES) {
            problem(path, ByteSizes.format(bytes) + " is too large; a guest can be given at most "
                    + ByteSizes.format(ArrowSpec.MAX_MEMORY_BYTES));
        } else if (bytes % SizeUnit.MiB.bytes() != 0) {
            problem(path, ByteSizes.format(bytes) + " is not a whole number of MiB; round it to whole MiB, e.g. "
                    + ByteSizes.format(bytes / SizeUnit.MiB.bytes() * SizeUnit.MiB.bytes()));
        }
    }

    private void checkCpus(int cpus) {
        if (cpus < 1) {
            problem(field("cpus"), cpus + " vCPUs requested; a guest needs at least 1");
        } else if (cpus > ArrowSpec.MAX_CPUS) {
            problem(field("cpus"), cpus + " vCPUs requested; at most " + ArrowSpec.MAX_CPUS + " are supported");
        }
    }

    private void checkNet(Net net) {
        String netPath = field("net");
        if (net instanceof Net.User user) {
            String forwardsPath = JsonPaths.field(netPath, "forwards");
            Map<String, Integer> seen = new HashMap<>();
            List<PortForward> forwards = user.forwards();
            for (int i = 0; i < forwards.size(); i++) {
                PortForward f = forwards.get(i);
                String path = JsonPaths.index(forwardsPath, i);
                String addressProblem = hostAddressProblem(f.hostAddress());
                if (addressProblem != null) {
                    problem(JsonPaths.field(path, "hostAddress"), addressProblem);
                }
                boolean hostOk = checkPort(JsonPaths.field(path, "host"), f.hostPort(), PortForward.ANY_FREE_PORT);
                checkPort(JsonPaths.field(path, "guest"), f.guestPort(), 1);
                if (hostOk && f.hostPort() != PortForward.ANY_FREE_PORT) {
                    Integer first = seen.putIfAbsent(f.protocol() + ":" + f.hostPort(), i);
                    if (first != null) {
                        problem(JsonPaths.field(path, "host"), f.protocol() + " host port " + f.hostPort()
                                + " is already forwarded by " + JsonPaths.index(forwardsPath, first)
                                + "; forward each host port once (also on different host addresses)");
                    }
                }
            }
            user.capture().ifPresent(file -> checkCapture(JsonPaths.field(netPath, "capture"), file));
        } else if (net instanceof Net.Tap tap) {
            String message = tapNameProblem(tap.name());
            if (message != null) {
                problem(JsonPaths.field(netPath, "name"), message);
            }
        }
    }

    private static final String ADDRESS_FIX = "use \"" + PortForward.LOOPBACK + "\" (this host only, the default), \""
            + PortForward.ALL_INTERFACES + "\" (all interfaces) or one of this host's IPv4 addresses";

    /** Why {@code address} cannot be a forward's host address, or null: a dotted IPv4 literal, not multicast or broadcast. */
    static String hostAddressProblem(String address) {
        String shown = "\"" + address.replace("\0", "\\0") + "\"";
        if (address.isEmpty()) {
            return "the host address is empty; " + ADDRESS_FIX;
        }
        if (address.indexOf(':') >= 0) {
            return shown + " is an IPv6 address; user-mode networking forwards IPv4 only: " + ADDRESS_FIX;
        }
        String[] parts = address.split("\\.", -1);
        int first = -1;
        boolean dotted = parts.length == 4;
        for (int i = 0; dotted && i < 4; i++) {
            String p = parts[i];
            dotted = !p.isEmpty() && p.length() <= 3 && p.chars().allMatch(c -> c >= '0' && c <= '9')
                    && (p.length() == 1 || p.charAt(0) != '0') && Integer.parseInt(p) <= 255;
            if (dotted && i == 0) {
                first = Integer.parseInt(p);
            }
        }
        if (!dotted) {
            return shown + " is not an IPv4 address in dotted form (names are not looked up); " + ADDRESS_FIX;
        }
        if (first >= 224) {
            String kind = address.equals("255.255.255.255") ? "broadcast" : first < 240 ? "multicast" : "reserved";
            return shown + " is a " + kind + " address, which no port listens on; " + ADDRESS_FIX;
        }
        return null;
    }

    private void checkCapture(String path, Path file) {
        if (file.toString().isEmpty()) {
            problem(path, "the capture file's path is empty; name a file such as \"/tmp/arrow.pcap\"");
        } else if (Files.isDirectory(file)) {
            problem(path, file + " is a directory; name a file in it, such as " + file.resolve("arrow.pcap"));
        }
    }

    private boolean checkPort(String path, int port, int lowest) {
        if (port < lowest || port > 65535) {
            problem(path, "port " + port + " out of range " + lowest + "..65535");
            return false;
        }
        return true;
    }

    private static String tapNameProblem(String name) {
        if (name.isEmpty()) {
            return "tap device name is empty; give the name of an existing tap device such as \"tap0\"";
        }
        if (name.length() > LinuxLimits.MAX_INTERFACE_NAME_BYTES) {
            return "tap device name \"" + name + "\" is " + name.length() + " characters long; Linux allows at most "
                    + LinuxLimits.MAX_INTERFACE_NAME_BYTES;
        }
        if (name.equals(".") || name.equals("..")) {
            return "tap device name \"" + name + "\" is not allowed; give the name of an existing tap device";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || c == '\0' || Character.isWhitespace(c)) {
                String shown = c == '\0' ? "NUL" : "'" + c + "'";
                return "tap device name contains " + shown + "; names cannot contain '/', ':', whitespace or NUL";
            }
        }
        return null;
    }

    private void checkFiles(List<GuestFile> files) {
        String filesPath = field("files");
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < files.size(); i++) {
            GuestFile f = files.get(i);
            String path = JsonPaths.index(filesPath, i);
            String message = guestPathProblem(f.guestPath(), true);
            if (message != null) {
                problem(JsonPaths.field(path, "guest"), message);
            } else {
                Integer first = seen.putIfAbsent(f.guestPath(), i);
                if (first != null) {
                    problem(JsonPaths.field(path, "guest"), "guest path \"" + f.guestPath() + "\" is already used by "
                            + JsonPaths.index(filesPath, first) + "; each guest path can be given once");
                }
            }
            if (f.source() instanceof GuestFile.HostFile host && host.path().toString().isEmpty()) {
                problem(JsonPaths.field(path, "host"), "the host path is empty; give the path of the file to copy");
            }
            if (f.mode().isPresent()) {
                int mode = f.mode().getAsInt();
                if (mode < 0 || mode > MAX_MODE) {
                    problem(JsonPaths.field(path, "mode"), "mode " + (mode < 0 ? mode : "0" + Integer.toOctalString(mode))
                            + " is out of range; use permission bits 0..07777, e.g. 0644");
                }
            }
        }
    }

    private void checkTimeout(Duration timeout) {
        if (timeout.isZero() || timeout.isNegative()) {
            String shown = timeout.isZero() ? "0s" : timeout.toString();
            problem(field("timeout"), shown + " is not a positive duration; give a timeout above zero, or none");
        }
    }

    private void checkHostname(String hostname) {
        String path = field("hostname");
        if (hostname.isEmpty()) {
            problem(path, "hostname is empty; give a name such as \"" + ArrowSpec.DEFAULT_HOSTNAME + "\"");
            return;
        }
        if (hostname.length() > LinuxLimits.HOST_NAME_MAX) {
            problem(path, "hostname is " + hostname.length() + " characters long; Linux allows at most "
                    + LinuxLimits.HOST_NAME_MAX);
            return;
        }
        for (int i = 0; i < hostname.length(); i++) {
            char c = hostname.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
            if (!ok) {
                String shown = c == '\0' ? "NUL" : "'" + c + "'";
                problem(path, "hostname \"" + hostname.replace("\0", "\\0") + "\" contains " + shown
                        + "; use letters, digits, '-' and '.'");
                return;
            }
        }
        char first = hostname.charAt(0);
        if (first == '-' || first == '.') {
            problem(path, "hostname \"" + hostname + "\" starts with '" + first + "'; start it with a letter or digit");
        }
    }

    private void checkRlimit(Rlimit r) {
        String path = JsonPaths.field(field("rlimits"), r.resource().jsonName());
        if (r.soft() < 0) {
            problem(path, "soft limit " + r.soft() + " is negative; use 0 or more, or unlimited");
        } else if (r.hard() < 0) {
            problem(path, "hard limit " + r.hard() + " is negative; use 0 or more, or unlimited");
        } else if (r.soft() > r.hard()) {
            problem(path, "soft limit " + limit(r.soft()) + " is above hard limit " + limit(r.hard())
                    + "; make the soft limit at most the hard limit");
        }
    }

    private static String limit(long value) {
        return value == Rlimit.UNLIMITED ? "unlimited" : Long.toString(value);
    }
}
