package dev.arrow.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads and writes the JSON form of an {@link ArrowSpec}. Reading is strict: unknown fields, duplicate
 * fields, wrong types and invalid values are rejected with a {@link SpecException} whose problems carry
 * the JSON path and the reason, e.g. {@code $.net.forwards[0].host: port 70000 out of range 0..65535}.
 * Sizes are written {@code "64MiB"} (a plain number of bytes is read too), durations {@code "30s"}.
 * Relative host paths are kept as written (they resolve against the JVM's working directory).
 *
 * <pre>{@code
 * {
 *   "binary": "build/hello",
 *   "args": ["a"],
 *   "env": {"K": "v"},
 *   "memory": "64MiB",
 *   "cpus": 1,
 *   "net": {"mode": "user", "forwards": [{"protocol": "tcp", "host": 8080, "guest": 80}]},
 *   "files": [{"guest": "/etc/app.conf", "text": "x=1\n", "mode": "0644"}],
 *   "timeout": "30s",
 *   "rlimits": {"nofile": {"soft": 1024, "hard": 4096}}
 * }
 * }</pre>
 * Every other field ({@code workingDirectory, uid, gid, kernel, debugConsole, hostname}) is optional
 * and defaults as in {@link ArrowSpec.Builder}. A file's {@code "mode"} is optional too: without it, a
 * {@code "host"} file keeps the host file's permission bits and {@code "text"} or {@code "base64"}
 * content gets {@code "0644"} (see {@link GuestFile}).
 */
public final class ArrowSpecJson {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private ArrowSpecJson() {
    }

    /**
     * Reads a spec from JSON text.
     *
     * @throws SpecException if the text is not JSON, or not a valid spec
     */
    public static ArrowSpec read(String json) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw syntaxError(e);
        }
        if (root == null || root.isMissingNode()) {
            throw new SpecException(List.of(new SpecProblem(JsonPaths.ROOT,
                    "the document is empty; expected a JSON object with at least \"binary\"")));
        }
        return SpecJsonReader.read(root);
    }

    /**
     * Reads a spec from a UTF-8 JSON file.
     *
     * @throws IOException   if the file cannot be read
     * @throws SpecException if its content is not JSON, or not a valid spec
     */
    public static ArrowSpec read(Path file) throws IOException {
        return read(Files.readString(file, StandardCharsets.UTF_8));
    }

    /** The spec as pretty-printed JSON. */
    public static String write(ArrowSpec spec) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(SpecJsonWriter.write(spec));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("writing a JSON tree to a string failed", e);
        }
    }

    /** Writes the spec as pretty-printed UTF-8 JSON to {@code file}. */
    public static void write(ArrowSpec spec, Path file) throws IOException {
        Files.writeString(file, write(spec), StandardCharsets.UTF_8);
    }

    private static SpecException syntaxError(JsonProcessingException e) {
        String path = JsonPaths.ROOT;
        if (e.getProcessor() instanceof JsonParser parser) {
            path = pathOf(parser.getParsingContext());
        }
        JsonLocation at = e.getLocation();
        String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        return new SpecException(List.of(new SpecProblem(path, "invalid JSON" + where + ": " + e.getOriginalMessage())));
    }

    private static String pathOf(JsonStreamContext context) {
        if (context == null || context.inRoot()) {
            return JsonPaths.ROOT;
        }
        String parent = pathOf(context.getParent());
        if (context.inArray()) {
            return JsonPaths.index(parent, Math.max(context.getCurrentIndex(), 0));
        }
        String name = context.getCurrentName();
        return name == null ? parent : JsonPaths.field(parent, name);
    }
}
