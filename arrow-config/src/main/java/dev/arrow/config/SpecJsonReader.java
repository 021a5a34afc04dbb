package dev.arrow.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Turns the JSON tree of a spec into an {@link ArrowSpec}. Strict: unknown fields, wrong types and
 * unreadable values are reported with their JSON path; all such problems are collected before
 * anything is built. Range and consistency checks are left to {@link SpecValidator} through
 * {@link ArrowSpec.Builder#build()}, which reports the same paths.
 */
final class SpecJsonReader {

    private static final List<String> TOP_FIELDS = List.of("binary", "args", "env", "workingDirectory", "uid", "gid",
            "memory", "cpus", "net", "files", "kernel", "timeout", "debugConsole", "hostname", "rlimits",
            "copyOutOnExit", "copyOutMaxBytes", "redirectErrorStream");
    private static final Pattern OCTAL = Pattern.compile("[0-7]{1,6}");

    private final List<SpecProblem> problems = new ArrayList<>();

    private SpecJsonReader() {
    }

    /**
     * Reads a spec.
     *
     * @throws SpecException listing every problem
     */
    static ArrowSpec read(JsonNode root) {
        SpecJsonReader reader = new SpecJsonReader();
        ArrowSpec.Builder builder = reader.readSpec(root);
        if (!reader.problems.isEmpty()) {
            throw new SpecException(reader.problems);
        }
        return builder.build();
    }

    private void problem(String path, String message) {
        problems.add(new SpecProblem(path, message));
    }

    private ArrowSpec.Builder readSpec(JsonNode root) {
        String rootPath = JsonPaths.ROOT;
        if (!expectObject(root, rootPath)) {
            return null;
        }
        checkFields(root, rootPath, TOP_FIELDS, "");
        JsonNode binaryNode = root.get("binary");
        Path binary = null;
        if (binaryNode == null) {
            problem(JsonPaths.field(rootPath, "binary"),
                    "required field is missing; give the host path of the statically linked program to run");
        } else {
            binary = path(binaryNode, JsonPaths.field(rootPath, "binary"));
        }
        // Without a binary the problems list is not empty, so this placeholder is never built.
        ArrowSpec.Builder b = ArrowSpec.builder(binary == null ? Path.of("unset") : binary);
        optional(root, rootPath, "args", (n, p) -> b.args(stringList(n, p)));
        optional(root, rootPath, "env", (n, p) -> readEnv(n, p, b));
        optional(root, rootPath, "workingDirectory", (n, p) -> ifPresent(string(n, p), b::workingDirectory));
        int[] ids = {0, 0};
        optional(root, rootPath, "uid", (n, p) -> ifPresent(integer(n, p), v -> ids[0] = v));
        optional(root, rootPath, "gid", (n, p) -> ifPresent(integer(n, p), v -> ids[1] = v));
        b.user(ids[0], ids[1]);
        optional(root, rootPath, "memory", (n, p) -> ifPresent(size(n, p), b::memoryBytes));
        optional(root, rootPath, "cpus", (n, p) -> ifPresent(integer(n, p), b::cpus));
        optional(root, rootPath, "net", (n, p) -> ifPresent(net(n, p), b::net));
        optional(root, rootPath, "files", (n, p) -> readFiles(n, p, b));
        optional(root, rootPath, "kernel", (n, p) -> ifPresent(path(n, p), b::kernel));
        optional(root, rootPath, "timeout", (n, p) -> ifPresent(duration(n, p), b::timeout));
        optional(root, rootPath, "debugConsole", (n, p) -> ifPresent(bool(n, p), b::debugConsole));
        optional(root, rootPath, "hostname", (n, p) -> ifPresent(string(n, p), b::hostname));
        optional(root, rootPath, "rlimits", (n, p) -> readRlimits(n, p, b));
        optional(root, rootPath, "copyOutOnExit", (n, p) -> b.copyOutOnExit(stringList(n, p)));
        optional(root, rootPath, "copyOutMaxBytes", (n, p) -> ifPresent(size(n, p), b::copyOutMaxBytes));
        optional(root, rootPath, "redirectErrorStream", (n, p) -> ifPresent(bool(n, p), b::redirectErrorStream));
        return b;
    }

    private interface FieldReader {
        void read(JsonNode node, String path);
    }

    private static void optional(JsonNode object, String parent, String name, FieldReader reader) {
        JsonNode node = object.get(name);
        if (node != null) {
            reader.read(node, JsonPaths.field(parent, name));
        }
    }

    private static <T> void ifPresent(T value, Consumer<T> sink) {
        if (value != null) {
            sink.accept(value);
        }
    }

    // ---- structure ----

    private boolean expectObject(JsonNode node, String path) {
        if (!node.isObject()) {
            problem(path, "expected an object, got " + describe(node));
            return false;
        }
        return true;
    }

    private void checkFields(JsonNode object, String path, List<String> known, String context) {
        Iterator<String> names = object.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!known.contains(name)) {
                problem(JsonPaths.field(path, name), "unknown field" + context + "; known fields are: "
                        + String.join(", ", new TreeSet<>(known)));
            }
        }
    }

    static String describe(JsonNode node) {
        switch (node.getNodeType()) {
            case STRING: return "string \"" + node.textValue() + "\"";
            case NUMBER: return "number " + node.asText();
            case BOOLEAN: return "boolean " + node.asText();
            case NULL: return "null";
            case ARRAY: return "an array";
            case OBJECT: return "an object";
            default: return node.getNodeType().name().toLowerCase(Locale.ROOT);
        }
    }

    // ---- scalars ----

    private String string(JsonNode node, String path) {
        if (!node.isTextual()) {
            problem(path, "expected a string, got " + describe(node));
            return null;
        }
        return node.textValue();
    }

    private Path path(JsonNode node, String path) {
        String text = string(node, path);
        if (text == null) {
            return null;
        }
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            problem(path, "\"" + text.replace("\0", "\\0") + "\" is not a valid host path: " + e.getReason());
            return null;
        }
    }

    private Integer integer(JsonNode node, String path) {
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            problem(path, "expected an integer, got " + describe(node));
            return null;
        }
        return node.intValue();
    }

    private Boolean bool(JsonNode node, String path) {
        if (!node.isBoolean()) {
            problem(path, "expected true or false, got " + describe(node));
            return null;
        }
        return node.booleanValue();
    }

    private Long size(JsonNode node, String path) {
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            return node.longValue();
        }
        if (node.isTextual()) {
            try {
                return ByteSizes.parse(node.textValue());
            } catch (IllegalArgumentException e) {
                problem(path, e.getMessage());
                return null;
            }
        }
        problem(path, "expected a size such as \"64MiB\" or a number of bytes, got " + describe(node));
        return null;
    }

    private Duration duration(JsonNode node, String path) {
        String text = string(node, path);
        if (text == null) {
            return null;
        }
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            problem(path, e.getMessage());
            return null;
        }
    }

    private List<String> stringList(JsonNode node, String path) {
        List<String> values = new ArrayList<>();
        if (!node.isArray()) {
            problem(path, "expected an array of strings, got " + describe(node));
            return values;
        }
        for (int i = 0; i < node.size(); i++) {
            ifPresent(string(node.get(i), JsonPaths.index(path, i)), values::add);
        }
        return values;
    }

    // ---- composite fields ----

    private void readEnv(JsonNode node, String path, ArrowSpec.Builder b) {
        if (!expectObject(node, path)) {
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String value = string(e.getValue(), JsonPaths.field(path, e.getKey()));
            if (value != null) {
                b.env(e.getKey(), value);
            }
        }
    }

    private Net net(JsonNode node, String path) {
        if (!expectObject(node, path)) {
            return null;
        }
        String modePath = JsonPaths.field(path, "mode");
        JsonNode modeNode = node.get("mode");
        if (modeNode == null) {
            problem(modePath, "required field is missing; use \"none\", \"user\" or \"tap\"");
            return null;
        }
        String mode = string(modeNode, modePath);
        if (mode == null) {
            return null;
        }
        switch (mode) {
            case "none":
                checkFields(node, path, List.of("mode"), " for mode \"none\"");
                return Net.none();
            case "user": {
                checkFields(node, path, List.of("mode", "forwards", "capture", "allowHostLoopback"), " for mode \"user\"");
                Net.User user = Net.user();
                JsonNode loopback = node.get("allowHostLoopback");
                if (loopback != null && Boolean.TRUE.equals(bool(loopback, JsonPaths.field(path, "allowHostLoopback")))) {
                    user = user.allowHostLoopback();
                }
                JsonNode capture = node.get("capture");
                if (capture != null) {
                    Path file = path(capture, JsonPaths.field(path, "capture"));
                    if (file != null) {
                        user = user.capture(file);
                    }
                }
                JsonNode forwards = node.get("forwards");
                if (forwards == null) {
                    return user;
                }
                String forwardsPath = JsonPaths.field(path, "forwards");
                if (!forwards.isArray()) {
                    problem(forwardsPath, "expected an array of forwards, got " + describe(forwards));
                    return null;
                }
                for (int i = 0; i < forwards.size(); i++) {
                    PortForward f = forward(forwards.get(i), JsonPaths.index(forwardsPath, i));
                    if (f != null) {
                        user = user.with(f);
                    }
                }
                return user;
            }
            case "tap": {
                checkFields(node, path, List.of("mode", "name"), " for mode \"tap\"");
                JsonNode name = node.get("name");
                if (name == null) {
                    problem(JsonPaths.field(path, "name"),
                            "required field is missing; give the name of an existing tap device such as \"tap0\"");
                    return null;
                }
                String text = string(name, JsonPaths.field(path, "name"));
                return text == null ? null : Net.tap(text);
            }
            default:
                problem(modePath, "unknown mode \"" + mode + "\"; use \"none\", \"user\" or \"tap\"");
                return null;
        }
    }

    private PortForward forward(JsonNode node, String path) {
        if (!expectObject(node, path)) {
            return null;
        }
        checkFields(node, path, List.of("protocol", "hostAddress", "host", "guest"), "");
        PortForward.Protocol protocol = PortForward.Protocol.TCP;
        JsonNode protocolNode = node.get("protocol");
        if (protocolNode != null) {
            String p = string(protocolNode, JsonPaths.field(path, "protocol"));
            if (p == null) {
                return null;
            }
            if (p.equals("tcp")) {
                protocol = PortForward.Protocol.TCP;
            } else if (p.equals("udp")) {
                protocol = PortForward.Protocol.UDP;
            } else {
                problem(JsonPaths.field(path, "protocol"), "unknown protocol \"" + p + "\"; use \"tcp\" or \"udp\"");
                return null;
            }
        }
        String hostAddress = PortForward.LOOPBACK;
        JsonNode addressNode = node.get("hostAddress");
        if (addressNode != null) {
            hostAddress = string(addressNode, JsonPaths.field(path, "hostAddress"));
        }
        Integer host = requiredInt(node, path, "host", "the host port to open");
        Integer guest = requiredInt(node, path, "guest", "the guest port to forward to");
        if (host == null || guest == null || hostAddress == null) {
            return null;
        }
        return new PortForward(protocol, hostAddress, host, guest);
    }

    private Integer requiredInt(JsonNode object, String parent, String name, String what) {
        JsonNode node = object.get(name);
        String path = JsonPaths.field(parent, name);
        if (node == null) {
            problem(path, "required field is missing; give " + what);
            return null;
        }
        return integer(node, path);
    }

    private void readFiles(JsonNode node, String path, ArrowSpec.Builder b) {
        if (!node.isArray()) {
            problem(path, "expected an array of files, got " + describe(node));
            return;
        }
        List<GuestFile> files = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            ifPresent(file(node.get(i), JsonPaths.index(path, i)), files::add);
        }
        b.files(files);
    }

    private GuestFile file(JsonNode node, String path) {
        if (!expectObject(node, path)) {
            return null;
        }
        checkFields(node, path, List.of("guest", "host", "text", "base64", "mode", "writable"), "");
        JsonNode guestNode = node.get("guest");
        String guest = null;
        if (guestNode == null) {
            problem(JsonPaths.field(path, "guest"), "required field is missing; give the absolute path in the guest");
        } else {
            guest = string(guestNode, JsonPaths.field(path, "guest"));
        }
        List<String> sources = new ArrayList<>();
        for (String s : List.of("host", "text", "base64")) {
            if (node.has(s)) {
                sources.add(s);
            }
        }
        if (sources.size() != 1) {
            problem(path, (sources.isEmpty() ? "no content" : "both " + String.join(" and ", sources))
                    + " given; give exactly one of \"host\", \"text\" or \"base64\"");
            return null;
        }
        String source = sources.get(0);
        String sourcePath = JsonPaths.field(path, source);
        GuestFile file = null;
        if (guest != null) {
            switch (source) {
                case "host":
                    Path host = path(node.get(source), sourcePath);
                    file = host == null ? null : GuestFile.fromHost(host, guest);
                    break;
                case "text":
                    String text = string(node.get(source), sourcePath);
                    file = text == null ? null : GuestFile.ofText(text, guest);
                    break;
                default:
                    String encoded = string(node.get(source), sourcePath);
                    if (encoded != null) {
                        try {
                            file = GuestFile.ofBytes(Base64.getDecoder().decode(encoded), guest);
                        } catch (IllegalArgumentException e) {
                            problem(sourcePath, "not valid base64 (" + e.getMessage() + "); encode the content with"
                                    + " the standard base64 alphabet, or use \"text\" for UTF-8 text");
                        }
                    }
            }
        }
        JsonNode modeNode = node.get("mode");
        if (modeNode != null) {
            Integer mode = mode(modeNode, JsonPaths.field(path, "mode"));
            if (mode != null && file != null) {
                file = file.withMode(mode);
            }
        }
        JsonNode writableNode = node.get("writable");
        if (writableNode != null) {
            if (!writableNode.isBoolean()) {
                problem(JsonPaths.field(path, "writable"), "expected true or false, got " + describe(writableNode));
            } else if (writableNode.booleanValue() && file != null) {
                file = file.writable();
            }
        }
        return file;
    }

    private Integer mode(JsonNode node, String path) {
        if (!node.isTextual()) {
            problem(path, "expected an octal string such as \"0644\", got " + describe(node));
            return null;
        }
        String text = node.textValue();
        if (!OCTAL.matcher(text).matches()) {
            problem(path, "\"" + text + "\" is not an octal mode; write it like \"0644\" or \"0755\"");
            return null;
        }
        return Integer.parseInt(text, 8);
    }

    private void readRlimits(JsonNode node, String path, ArrowSpec.Builder b) {
        if (!expectObject(node, path)) {
            return;
        }
        Set<String> known = new TreeSet<>();
        for (RlimitResource r : RlimitResource.values()) {
            known.add(r.jsonName());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String itemPath = JsonPaths.field(path, e.getKey());
            RlimitResource resource = null;
            for (RlimitResource r : RlimitResource.values()) {
                if (r.jsonName().equals(e.getKey())) {
                    resource = r;
                }
            }
            if (resource == null) {
                problem(itemPath, "unknown resource; known resources are: " + String.join(", ", known));
                continue;
            }
            JsonNode value = e.getValue();
            if (value.isObject()) {
                checkFields(value, itemPath, List.of("soft", "hard"), "");
                Long soft = requiredLimit(value, itemPath, "soft");
                Long hard = requiredLimit(value, itemPath, "hard");
                if (soft != null && hard != null) {
                    b.rlimit(resource, soft, hard);
                }
            } else {
                Long both = limit(value, itemPath);
                if (both != null) {
                    b.rlimit(resource, both, both);
                }
            }
        }
    }

    private Long requiredLimit(JsonNode object, String parent, String name) {
        JsonNode node = object.get(name);
        if (node == null) {
            problem(JsonPaths.field(parent, name), "required field is missing; give a number or \"unlimited\"");
            return null;
        }
        return limit(node, JsonPaths.field(parent, name));
    }

    private Long limit(JsonNode node, String path) {
        if (node.isTextual() && node.textValue().equals("unlimited")) {
            return Rlimit.UNLIMITED;
        }
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            return node.longValue();
        }
        if (node.isTextual()) {
            try {
                return ByteSizes.parse(node.textValue());
            } catch (IllegalArgumentException e) {
                problem(path, e.getMessage() + ", or \"unlimited\"");
                return null;
            }
        }
        problem(path, "expected a number, a size such as \"8MiB\", \"unlimited\" or {\"soft\": ..., \"hard\": ...},"
                + " got " + describe(node));
        return null;
    }
}
