package dev.arrow.samples;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.Output;
import dev.arrow.config.Net;

import java.nio.file.Path;

import static dev.arrow.config.SizeUnit.MiB;

/**
 * Serves a page with Debian's static busybox httpd from an arrow, on host port 8080 (or the
 * first argument) forwarded to the guest's port 80 through user-mode networking (passt).
 * Stops when the JVM is interrupted.
 */
public final class BusyboxHttpd {
    private BusyboxHttpd() {
    }

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
        try (ArrowProcess p = Arrow.of(Path.of("/bin/busybox")).args("httpd", "-f", "-v", "-p", "80", "-h", "/www")
                .textFile("<h1>Hello from busybox httpd in an arrow</h1>\n", "/www/index.html")
                .memory(64, MiB).net(Net.user().forward(port, 80))
                .stdout(Output.inherit()).stderr(Output.inherit()).start()) {
            System.out.println("serving on http://127.0.0.1:" + port + "/ (Ctrl-C to stop)");
            System.exit(p.waitFor());
        }
    }
}
