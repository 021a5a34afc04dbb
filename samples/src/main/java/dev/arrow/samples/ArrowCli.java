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
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.config.SizeUnit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code arrow} command: runs one arrow and exits with its exit value.
 * <pre>
 *   arrow run [--memory SIZE] [--cpus N] [--env NAME=VALUE]... [--timeout DURATION]
 *             [--net none|user|tap:NAME] [--forward [ADDRESS:]HOST:GUEST[/udp]]... [--allow-host-loopback]
 *             [--debug] BINARY [ARGS...]
 *   arrow run SPEC.json
 * </pre>
 * {@code --forward} listens on the host's loopback (127.0.0.1) unless an address is given
 * ({@code 0.0.0.0:8080:80} for every interface); host port 0 takes a free port, which is named on stderr; {@code --allow-host-loopback} lets the guest reach
 * the host's 127.0.0.1 at the gateway address 10.0.2.2. Both imply {@code --net user}.
 * The arrow's stdout and stderr are this command's; this command's stdin is copied to the app.
 * Exit status: the low byte of the arrow's exit value (see {@link ArrowOutcome#exitValue()}): the program's
 * exit code, 128 + the signal that ended it, or for Arrow's own outcomes the shell's numbers (124 timed out,
 * 125 crashed, 126/127 could not be executed or found, 137 destroyed); 125 when the arrow could not be
 * started (the message says why and what to do).
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
        arrow.stdout(Output.inherit()).stderr(Output.inherit()).stdin(Input.pipe());
        try (ArrowProcess p = arrow.start()) {
            reportChosenPorts(p, err);
            copyInBackground(System.in, p.getOutputStream());
            int code = p.waitFor() & 0xFF; // Arrow's own outcomes lie above 255; a process status is a byte
            if (!(p.outcome().join() instanceof ArrowOutcome.Exited)) {
                err.println("arrow: " + p.outcome().join());
            }
            return code;
        } catch (ArrowException e) {
            err.println("arrow: " + e.getMessage());
            return EXIT_ARROW_ERROR;
        }
    }

    /** Names the host port chosen for each forward that asked for a free one ({@code --forward 0:80}). */
    static void reportChosenPorts(ArrowProcess p, PrintStream err) {
        if (p.spec().net() instanceof Net.User user) {
            for (PortForward f : user.forwards()) {
                if (f.hostPort() == PortForward.ANY_FREE_PORT) {
                    int port = f.protocol() == PortForward.Protocol.UDP ? p.hostUdpPort(f.guestPort()) : p.hostPort(f.guestPort());
                    err.println("arrow: " + f.protocol().jsonName() + " " + f.hostAddress() + ":" + port + " -> guest port "
                            + f.guestPort());
                }
            }
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
        boolean hostLoopback = false;
        Net net = null;
        List<PortForward> forwards = new ArrayList<>();
        int i = 0;
        for (; i < args.size() && args.get(i).startsWith("--"); i++) {
            String opt = args.get(i);
            if (opt.equals("--debug")) {
                debug = true;
                continue;
            }
            if (opt.equals("--allow-host-loopback")) {
                hostLoopback = true;
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
                case "--net" -> net = parseNet(value);
                case "--forward" -> forwards.add(parseForward(value));
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
        if (!forwards.isEmpty() || hostLoopback) {
            if (net != null && !(net instanceof Net.User)) {
                throw new IllegalArgumentException((forwards.isEmpty() ? "--allow-host-loopback" : "--forward")
                        + " needs user-mode networking, not --net " + net.mode());
            }
            Net.User user = Net.user();
            for (PortForward f : forwards) {
                user = user.with(f);
            }
            net = hostLoopback ? user.allowHostLoopback() : user;
        }
        if (net != null) {
            arrow.net(net);
        }
        return arrow.debugConsole(debug);
    }

    static Net parseNet(String value) {
        if (value.equals("none")) {
            return Net.none();
        }
        if (value.equals("user")) {
            return Net.user();
        }
        if (value.startsWith("tap:") && value.length() > 4) {
            return Net.tap(value.substring(4));
        }
        throw new IllegalArgumentException("--net wants none, user or tap:NAME, got '" + value + "'");
    }

    /**
     * {@code [ADDRESS:]HOST:GUEST[/tcp|/udp]}: the host port (on ADDRESS, 127.0.0.1 if none is
     * given), the guest port, the protocol (TCP if none is given).
     */
    static PortForward parseForward(String value) {
        String ports = value;
        boolean udp = false;
        int slash = value.indexOf('/');
        if (slash >= 0) {
            String protocol = value.substring(slash + 1);
            if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                throw new IllegalArgumentException("--forward protocol must be tcp or udp, got '" + protocol + "'");
            }
            udp = protocol.equals("udp");
            ports = value.substring(0, slash);
        }
        String[] parts = ports.split(":", -1);
        if (parts.length < 2 || parts.length > 3 || parts[parts.length - 2].isEmpty() || parts[parts.length - 1].isEmpty()) {
            throw new IllegalArgumentException("--forward wants [ADDRESS:]HOST:GUEST[/udp] (e.g. 8080:80, or"
                    + " 0.0.0.0:8080:80 for every interface), got '" + value + "'");
        }
        String address = parts.length == 3 ? parts[0] : PortForward.LOOPBACK;
        int host = parseInt("--forward", parts[parts.length - 2]);
        int guest = parseInt("--forward", parts[parts.length - 1]);
        return udp ? PortForward.udp(address, host, guest) : PortForward.tcp(address, host, guest);
    }

    /** Copies {@code in} to the app's stdin until either ends; closing the app's stdin ends its input. */
    private static void copyInBackground(InputStream in, OutputStream appStdin) {
        Thread t = new Thread(() -> {
            try (appStdin) {
                in.transferTo(appStdin);
            } catch (IOException e) {
                // the app ended or closed its stdin: nothing more to copy
            }
        }, "arrow-cli-stdin");
        t.setDaemon(true);
        t.start();
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
                "usage: arrow run [--memory SIZE] [--cpus N] [--env NAME=VALUE]... [--timeout DURATION]",
                "                 [--net none|user|tap:NAME] [--forward [ADDRESS:]HOST:GUEST[/udp]]...",
                "                 [--allow-host-loopback] [--debug] BINARY [ARGS...]",
                "       arrow run SPEC.json",
                "runs BINARY (a static x86-64 Linux program) in its own KVM microVM and exits with its exit value;",
                "--forward listens on 127.0.0.1 unless ADDRESS is given (0.0.0.0: every interface); HOST 0 takes a free port;",
                "--allow-host-loopback lets the guest reach the host's 127.0.0.1 at 10.0.2.2 (denied by default)");
    }
}
