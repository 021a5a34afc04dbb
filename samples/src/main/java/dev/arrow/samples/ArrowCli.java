package dev.arrow.samples;

import dev.arrow.Arrow;
import dev.arrow.ArrowException;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.config.ArrowSpecJson;
import dev.arrow.config.ByteSizes;
import dev.arrow.config.Durations;
import dev.arrow.config.SizeUnit;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code arrow} command: runs one arrow and exits with its exit value.
 * <pre>
 *   arrow run [--memory SIZE] [--cpus N] [--env NAME=VALUE]... [--timeout DURATION] [--debug] BINARY [ARGS...]
 *   arrow run SPEC.json
 * </pre>
 * Exit status: the program's exit value (see {@link ArrowOutcome#exitValue()}), or 125 when the
 * arrow could not be started (the message says why and what to do).
 */
public final class ArrowCli {
    static final int EXIT_ARROW_ERROR = 125;
    static final int EXIT_USAGE = 2;

    private ArrowCli() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.exit(run(args, System.err));
    }

    static int run(String[] args, PrintStream err) throws InterruptedException {
        if (args.length == 0 || !args[0].equals("run")) {
            err.println(usage());
            return EXIT_USAGE;
        }
        Arrow arrow;
        try {
            arrow = parse(Arrays.asList(args).subList(1, args.length));
        } catch (IllegalArgumentException e) {
            err.println("arrow: " + e.getMessage());
            err.println(usage());
            return EXIT_USAGE;
        } catch (IOException e) {
            err.println("arrow: cannot read the spec: " + e.getMessage());
            return EXIT_USAGE;
        }
        arrow.stdout(Output.inherit()).stderr(Output.inherit()).stdin(Input.empty());
        try (ArrowProcess p = arrow.start()) {
            int code = p.waitFor();
            if (!(p.outcome().join() instanceof ArrowOutcome.Exited)) {
                err.println("arrow: " + p.outcome().join());
            }
            return code;
        } catch (ArrowException e) {
            err.println("arrow: " + e.getMessage());
            return EXIT_ARROW_ERROR;
        }
    }

    /** Builds the arrow from {@code run}'s arguments. */
    static Arrow parse(List<String> args) throws IOException {
        if (args.size() == 1 && args.get(0).endsWith(".json")) {
            return Arrow.from(ArrowSpecJson.read(Path.of(args.get(0))));
        }
        Arrow arrow = null;
        List<String> env = new ArrayList<>();
        long memory = -1;
        int cpus = -1;
        String timeout = null;
        boolean debug = false;
        int i = 0;
        for (; i < args.size() && args.get(i).startsWith("--"); i++) {
            String opt = args.get(i);
            if (opt.equals("--debug")) {
                debug = true;
                continue;
            }
            if (i + 1 >= args.size()) {
                throw new IllegalArgumentException(opt + " needs a value");
            }
            String value = args.get(++i);
            switch (opt) {
                case "--memory" -> memory = ByteSizes.parse(value);
                case "--cpus" -> cpus = parseInt(opt, value);
                case "--env" -> env.add(value);
                case "--timeout" -> timeout = value;
                default -> throw new IllegalArgumentException("unknown option " + opt);
            }
        }
        if (i >= args.size()) {
            throw new IllegalArgumentException("no binary given");
        }
        arrow = Arrow.of(Path.of(args.get(i))).args(args.subList(i + 1, args.size()).toArray(String[]::new));
        for (String e : env) {
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--env wants NAME=VALUE, got '" + e + "'");
            }
            arrow.env(e.substring(0, eq), e.substring(eq + 1));
        }
        if (memory >= 0) {
            arrow.memory(memory, SizeUnit.B);
        }
        if (cpus >= 0) {
            arrow.cpus(cpus);
        }
        if (timeout != null) {
            arrow.timeout(Durations.parse(timeout));
        }
        return arrow.debugConsole(debug);
    }

    private static int parseInt(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " wants a number, got '" + value + "'");
        }
    }

    static String usage() {
        return String.join("\n",
                "usage: arrow run [--memory SIZE] [--cpus N] [--env NAME=VALUE]... [--timeout DURATION] [--debug] BINARY [ARGS...]",
                "       arrow run SPEC.json",
                "runs BINARY (a static x86-64 Linux program) in its own KVM microVM and exits with its exit value");
    }
}
