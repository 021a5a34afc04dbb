package dev.arrow.samples;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;

import java.nio.file.Path;

import static dev.arrow.config.SizeUnit.MiB;

/** The hello arrow from the README: runs the static hello program and copies its output. */
public final class Hello {
    private Hello() {
    }

    public static void main(String[] args) throws Exception {
        Path hello = Path.of(args.length > 0 ? args[0] : "samples/target/bin/hello");
        try (ArrowProcess p = Arrow.of(hello).args("a").env("GREETING", "hi").memory(64, MiB).cpus(1).start()) {
            p.getInputStream().transferTo(System.out);
            int code = p.waitFor();
            System.out.println("hello arrow exited with " + code);
            System.exit(code);
        }
    }
}
