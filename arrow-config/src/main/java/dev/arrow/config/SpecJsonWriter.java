package dev.arrow.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Turns an {@link ArrowSpec} into its JSON tree: every field is written (defaults too), sizes and
 * durations in their text forms, file content as {@code "text"} when it is valid UTF-8 and as
 * {@code "base64"} otherwise. {@link SpecJsonReader} reads the result back to an equal spec.
 */
final class SpecJsonWriter {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private SpecJsonWriter() {
    }

    static JsonNode write(ArrowSpec spec) {
        ObjectNode root = NODES.objectNode();
        root.put("binary", spec.binary().toString());
        ArrayNode args = root.putArray("args");
        spec.args().forEach(args::add);
        ObjectNode env = root.putObject("env");
        spec.env().forEach(env::put);
        root.put("workingDirectory", spec.workingDirectory());
        root.put("uid", spec.uid());
        root.put("gid", spec.gid());
        if (spec.memoryGiven()) {
            root.put("memory", ByteSizes.format(spec.memoryBytes()));
        }
        root.put("cpus", spec.cpus());
        root.set("net", net(spec.net()));
        ArrayNode files = root.putArray("files");
        spec.files().forEach(f -> files.add(file(f)));
        spec.kernel().ifPresent(k -> root.put("kernel", k.toString()));
        spec.timeout().ifPresent(t -> root.put("timeout", Durations.format(t)));
        root.put("debugConsole", spec.debugConsole());
        root.put("hostname", spec.hostname());
        ObjectNode rlimits = root.putObject("rlimits");
        spec.rlimits().values().forEach(r -> {
            ObjectNode limit = rlimits.putObject(r.resource().jsonName());
            limit.set("soft", limit(r.soft()));
            limit.set("hard", limit(r.hard()));
        });
        if (!spec.copyOutOnExit().isEmpty()) {
            ArrayNode copyOut = root.putArray("copyOutOnExit");
            spec.copyOutOnExit().forEach(copyOut::add);
        }
        if (spec.copyOutMaxBytes() != ArrowSpec.DEFAULT_COPY_OUT_MAX_BYTES) {
            root.put("copyOutMaxBytes", ByteSizes.format(spec.copyOutMaxBytes()));
        }
        if (spec.redirectErrorStream()) {
            root.put("redirectErrorStream", true);
        }
        return root;
    }

    private static JsonNode net(Net net) {
        ObjectNode node = NODES.objectNode();
        node.put("mode", net.mode());
        if (net instanceof Net.User user) {
            ArrayNode forwards = node.putArray("forwards");
            for (PortForward f : user.forwards()) {
                ObjectNode forward = forwards.addObject();
                forward.put("protocol", f.protocol().jsonName());
                forward.put("hostAddress", f.hostAddress());
                forward.put("host", f.hostPort());
                forward.put("guest", f.guestPort());
            }
            node.put("allowHostLoopback", user.hostLoopback());
            user.capture().ifPresent(file -> node.put("capture", file.toString()));
        } else if (net instanceof Net.Tap tap) {
            node.put("name", tap.name());
        }
        return node;
    }

    private static JsonNode file(GuestFile f) {
        ObjectNode node = NODES.objectNode();
        node.put("guest", f.guestPath());
        if (f.source() instanceof GuestFile.HostFile host) {
            node.put("host", host.path().toString());
        } else {
            byte[] bytes = ((GuestFile.Content) f.source()).bytes();
            String text = utf8(bytes);
            if (text != null) {
                node.put("text", text);
            } else {
                node.put("base64", Base64.getEncoder().encodeToString(bytes));
            }
        }
        f.mode().ifPresent(mode -> node.put("mode", String.format("%04o", mode)));
        if (f.isWritable()) {
            node.put("writable", true);
        }
        return node;
    }

    /** The bytes as text if they are well-formed UTF-8, else null. */
    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static JsonNode limit(long value) {
        return value == Rlimit.UNLIMITED ? NODES.textNode("unlimited") : NODES.numberNode(value);
    }
}
