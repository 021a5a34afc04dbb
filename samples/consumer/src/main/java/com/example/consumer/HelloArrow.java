package com.example.consumer;

import static dev.arrow.config.SizeUnit.MiB;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A user's program: runs a static Linux program as an arrow and copies its output, as README's
 * "Use it from your project" shows. No kernel, no path into Arrow's checkout: the guest kernel comes
 * with the dependency.
 */
public final class HelloArrow {
    private HelloArrow() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: HelloArrow STATIC-PROGRAM [ARGS...]");
            System.exit(2);
        }
        try (ArrowProcess p = Arrow.of(Path.of(args[0])).args(Arrays.copyOfRange(args, 1, args.length))
                .env("GREETING", "hello").memory(64, MiB).start()) {
            p.getInputStream().transferTo(System.out);
            int code = p.waitFor();
            System.out.println("hello arrow exited with " + code);
            System.exit(code);
        }
    }
}
