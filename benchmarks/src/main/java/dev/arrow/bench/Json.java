package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.arrow.BootTimeline;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reading and writing the result files (plain JSON through Jackson). */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    static void write(Path file, Object value) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        MAPPER.writeValue(file.toFile(), value);
    }

    static JsonNode read(Path file) throws IOException {
        return MAPPER.readTree(file.toFile());
    }

    /** A timeline as {@code [{"phase":..,"sinceStartNanos":..,"guestUptimeNanos":..}, ...]} in host order. */
    static List<Map<String, Object>> timeline(BootTimeline t) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (BootTimeline.Entry e : t.entries()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("phase", e.phase().label());
            m.put("sinceStartNanos", e.sinceStartNanos());
            e.guestUptimeNanos().ifPresent(u -> m.put("guestUptimeNanos", u));
            list.add(m);
        }
        return list;
    }
}
