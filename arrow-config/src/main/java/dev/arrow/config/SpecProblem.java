package dev.arrow.config;

import java.util.Objects;

/**
 * One problem found in a spec.
 *
 * @param path    where, as a JSON path into the spec's JSON form, e.g. {@code $.net.forwards[0].host}
 *                (the builder and the JSON reader report the same paths)
 * @param message what is wrong and how to fix it
 */
public record SpecProblem(String path, String message) {

    public SpecProblem {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        return path + ": " + message;
    }
}
