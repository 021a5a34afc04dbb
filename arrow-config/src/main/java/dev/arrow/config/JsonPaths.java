package dev.arrow.config;

import java.util.regex.Pattern;

/** Builds the JSON paths used in {@link SpecProblem}s: {@code $.a.b[0]}, {@code $.env['A=B']}. */
final class JsonPaths {

    static final String ROOT = "$";
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private JsonPaths() {
    }

    static String field(String parent, String name) {
        if (PLAIN.matcher(name).matches()) {
            return parent + "." + name;
        }
        StringBuilder sb = new StringBuilder(parent).append("['");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            switch (c) {
                case '\'': sb.append("\\'"); break;
                case '\\': sb.append("\\\\"); break;
                case '\0': sb.append("\\u0000"); break;
                case '\n': sb.append("\\n"); break;
                default: sb.append(c);
            }
        }
        return sb.append("']").toString();
    }

    static String index(String parent, int index) {
        return parent + "[" + index + "]";
    }
}
