package dev.arrow.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Programs installed on the host, found the way a shell finds them. */
public final class HostPrograms {
    private HostPrograms() {
    }

    /** True when an executable {@code name} is in one of the PATH's directories. */
    public static boolean onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) return true;
        }
        return false;
    }
}
