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

import java.util.List;

/**
 * The Jackson side of {@link ArrowSpecJson}: parses and prints the JSON text, and turns Jackson's syntax errors
 * into {@link SpecProblem}s. Kept apart so that {@link ArrowSpecJson} loads, and says what is missing, when
 * Jackson (an optional dependency of arrow-config) is not on the class path.
 */
final class SpecJsonMapper {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private SpecJsonMapper() {
    }

    /**
     * Reads a spec from JSON text.
     *
     * @throws SpecException if the text is not JSON, or not a valid spec
     */
    static ArrowSpec read(String json) {
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

    /** The spec as pretty-printed JSON. */
    static String write(ArrowSpec spec) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(SpecJsonWriter.write(spec));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("writing a JSON tree to a string failed", e);
        }
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
