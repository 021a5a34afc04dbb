package dev.arrow.samples;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.Output;
import dev.arrow.Wait;
import dev.arrow.config.Net;

import java.nio.file.Path;
import java.time.Duration;

import static dev.arrow.config.SizeUnit.MiB;

/**
 * Serves a page with Debian's static busybox httpd from an arrow, on host port 8080 (or the
 * first argument; 0 for a free one) of 127.0.0.1 forwarded to the guest's port 80 through user-mode
 * networking (passt). Starting returns once the page is served. Runs until the JVM is stopped (Ctrl-C).
 */
public final class BusyboxHttpd {
    /** Debian's static busybox (package busybox-static). */
    public static final Path BUSYBOX = Path.of("/bin/busybox");
    /** The page the arrow serves at {@code /}. */
    public static final String PAGE = "<h1>Hello from busybox httpd in an arrow</h1>\n";

    private BusyboxHttpd() {
    }

    /**
     * The arrow: busybox httpd in the foreground, serving {@link #PAGE}, guest port 80 forwarded from
     * {@code hostPort} (0: a free port), started once it answers {@code GET /}.
     */
    public static Arrow arrow(int hostPort) {
        return Arrow.of(BUSYBOX).args("httpd", "-f", "-v", "-p", "80", "-h", "/www")
                .textFile(PAGE, "/www/index.html")
                .memory(64, MiB).net(Net.user().forward(hostPort, 80))
                .waitingFor(Wait.forHttp("/").withStartupTimeout(Duration.ofSeconds(120)));
    }

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
        try (ArrowProcess p = arrow(port).stdout(Output.inherit()).stderr(Output.inherit()).start()) {
            System.out.println("serving on http://127.0.0.1:" + p.hostPort(80) + "/ (Ctrl-C to stop)");
            System.exit(p.waitFor());
        }
    }
}
