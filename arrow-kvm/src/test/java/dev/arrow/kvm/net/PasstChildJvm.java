package dev.arrow.kvm.net;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The child JVM of {@link PasstDiesWithTheJvmTest}: brings a passt backend to one point of its
 * life, says so on stdout, and waits there to be killed (or ends as the mode says).
 *
 * <pre>
 * starting PASST PORT  start() with the given (slow) passt program; blocks inside start()
 * running PORT         started from a thread that has ended, connected, an ARP answered
 * exit PORT            running, then System.exit(0) without close()
 * closed PORT          started and closed
 * sweep                start and close one backend (the first start sweeps), then end
 * </pre>
 */
public final class PasstChildJvm {
    private PasstChildJvm() {
    }

    public static void main(String[] args) throws Exception {
        GuestNetwork plan = GuestNetwork.userMode();
        String mode = args[0];
        switch (mode) {
            case "starting" -> {
                say("starting");
                PasstBackend.start(PasstBackend.Options.of(plan, List.of(PortMapping.tcp(Integer.parseInt(args[2]), 80)))
                        .withExecutable(java.nio.file.Path.of(args[1])).withStartTimeout(Duration.ofMinutes(2)));
                say("started?");
            }
            case "running", "exit" -> {
                PasstBackend backend = startOnAThreadThatEnds(plan, Integer.parseInt(args[1]));
                FrameCollector frames = new FrameCollector(backend);
                backend.start(frames);
                backend.send(ByteBuffer.wrap(TestFrames.arpRequest(plan.mac(), plan.address(), plan.gateway())));
                frames.await(TestFrames::isArpReply, Duration.ofSeconds(10), "ARP reply");
                say("running " + backend.process().pid() + " " + backend.directory());
                if (mode.equals("exit")) {
                    System.exit(0);
                }
            }
            case "closed" -> {
                PasstBackend backend = PasstBackend.start(PasstBackend.Options.of(plan,
                        List.of(PortMapping.tcp(Integer.parseInt(args[1]), 80))));
                backend.close();
                say("closed " + backend.process().pid() + " " + backend.directory());
            }
            case "sweep" -> {
                PasstBackend.start(PasstBackend.Options.of(plan, List.of())).close();
                say("swept");
                return;
            }
            default -> throw new IllegalArgumentException("unknown mode " + mode);
        }
        Thread.sleep(Long.MAX_VALUE);
    }

    private static PasstBackend startOnAThreadThatEnds(GuestNetwork plan, int port) throws InterruptedException {
        AtomicReference<PasstBackend> backend = new AtomicReference<>();
        Thread t = new Thread(() -> backend.set(PasstBackend.start(PasstBackend.Options.of(plan,
                List.of(PortMapping.tcp(port, 80))))), "short-lived-starter");
        t.start();
        t.join();
        if (backend.get() == null) {
            throw new IllegalStateException("the backend did not start");
        }
        return backend.get();
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
