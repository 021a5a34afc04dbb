package dev.arrow.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

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
 * Every other field ({@code workingDirectory, uid, gid, kernel, debugConsole, hostname}, {@code copyOutOnExit}: guest
 * paths sent back after the program ended, {@code copyOutMaxBytes}: their size bound, e.g. {@code "64MiB"}) is optional
 * and defaults as in {@link ArrowSpec.Builder}. A file's {@code "mode"} is optional too: without it, a
 * {@code "host"} file keeps the host file's permission bits and {@code "text"} or {@code "base64"}
 * content gets {@code "0644"} (see {@link GuestFile}). {@code "writable": true} gives the guest a private copy of a
 * large host file that it may change, instead of the read-only mapping of the application loader.
 */
public final class ArrowSpecJson {
    private ArrowSpecJson() {
    }

    /**
     * Reads a spec from JSON text.
     *
     * @throws SpecException if the text is not JSON, or not a valid spec
     * @throws IllegalStateException if Jackson is not on the class path
     */
    public static ArrowSpec read(String json) {
        requireJackson();
        return SpecJsonMapper.read(json);
    }

    /**
     * Reads a spec from a UTF-8 JSON file.
     *
     * @throws IOException   if the file cannot be read
     * @throws SpecException if its content is not JSON, or not a valid spec
     * @throws IllegalStateException if Jackson is not on the class path
     */
    public static ArrowSpec read(Path file) throws IOException {
        requireJackson();
        return read(Files.readString(file, StandardCharsets.UTF_8));
    }

    /**
     * The spec as pretty-printed JSON.
     *
     * @throws IllegalStateException if Jackson is not on the class path
     */
    public static String write(ArrowSpec spec) {
        requireJackson();
        return SpecJsonMapper.write(spec);
    }

    /**
     * Writes the spec as pretty-printed UTF-8 JSON to {@code file}.
     *
     * @throws IllegalStateException if Jackson is not on the class path
     */
    public static void write(ArrowSpec spec, Path file) throws IOException {
        Files.writeString(file, write(spec), StandardCharsets.UTF_8);
    }

    private static void requireJackson() {
        try {
            Class.forName("com.fasterxml.jackson.databind.ObjectMapper", false, ArrowSpecJson.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException("the JSON form of an arrow spec needs Jackson, an optional dependency of"
                    + " arrow-config: add com.fasterxml.jackson.core:jackson-databind"
                    + " (2.x) to your project", e);
        }
    }
}
