package dev.arrow.bench;

import java.util.Arrays;

/**
 * The benchmarks jar's entry point (scripts/bench drives it):
 * <pre>
 *   jmh [JMH options]        the JMH benchmarks (org.openjdk.jmh.Main)
 *   peer ...                 Arrow against QEMU microvm (lab), see {@link PeerComparison}
 *   memory ...               host memory per running arrow (lab), see {@link MemoryPerArrow}
 *   template ...             template clones against cold boots (lab), see {@link TemplateBenchmark}
 *   loader ...               binaries mapped against copied through the initramfs (lab), see {@link LoaderBenchmark}
 *   console ...              console throughput, virtio vs serial (lab), see {@link ConsoleThroughput}
 *   net ...                  TCP throughput through passt (lab), see {@link PasstThroughput}
 *   initcalls ...            the guest kernel's boot, initcall by initcall (lab), see {@link InitcallProfile}
 *   exit-trace ...           three guest lives marked in L1's KVM trace (lab), see {@link ExitTrace}
 *   env ...                  machine and KVM flavour, see {@link HostInfo}
 *   report ...               RESULTS.md and the timeline chart, see {@link Report}
 * </pre>
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: java -jar benchmarks.jar jmh|peer|memory|template|loader|console|net|initcalls|exit-trace|env|report [ARGS...]");
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "jmh" -> org.openjdk.jmh.Main.main(rest);
            case "peer" -> PeerComparison.main(rest);
            case "memory" -> MemoryPerArrow.main(rest);
            case "template" -> TemplateBenchmark.main(rest);
            case "loader" -> LoaderBenchmark.main(rest);
            case "console" -> ConsoleThroughput.main(rest);
            case "net" -> PasstThroughput.main(rest);
            case "initcalls" -> InitcallProfile.main(rest);
            case "exit-trace" -> ExitTrace.main(rest);
            case "env" -> HostInfo.main(rest);
            case "report" -> Report.main(rest);
            default -> {
                System.err.println("unknown command " + args[0] + ": jmh, peer, memory, template, loader, console, net, initcalls, exit-trace, env or report");
                System.exit(2);
            }
        }
    }
}
