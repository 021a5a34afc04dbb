package dev.arrow.bench;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the benchmarks find the programs the build compiled into {@code benchmarks/target/bin}
 * (hello, hello-wait, exitloop, kvm-keeper): the system property {@code arrow.bench.bin}, else
 * the {@code bin} directory next to the benchmarks jar (or next to target/classes).
 */
public final class NativePrograms {
    private NativePrograms() {
    }

    public static Path dir() {
        String property = System.getProperty("arrow.bench.bin");
        if (property != null) {
            return Path.of(property);
        }
        try {
            Path code = Path.of(NativePrograms.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return code.getParent().resolve("bin");
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the benchmarks jar: " + e, e);
        }
    }

    /** The program {@code name}; fails naming the fix when the build has not made it. */
    public static Path require(String name) {
        Path p = dir().resolve(name);
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException(p + " is missing: build the benchmarks first"
                    + " (mvn -pl benchmarks -am package -DskipTests, needs gcc and musl-tools), or set -Darrow.bench.bin");
        }
        return p;
    }
}
