package dev.arrow.backend.kvm;

import static dev.arrow.backend.kvm.BootTestSupport.BUSYBOX;
import static dev.arrow.backend.kvm.BootTestSupport.assumeBusybox;
import static dev.arrow.backend.kvm.BootTestSupport.assumePasst;
import static dev.arrow.backend.kvm.BootTestSupport.stdout;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.ArrowTemplate;
import dev.arrow.BootPhase;
import dev.arrow.GuestFailureException;
import dev.arrow.Output;
import dev.arrow.TemplatePoint;
import dev.arrow.config.Net;
import dev.arrow.testing.BootTest;
import dev.arrow.testing.FreePort;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 4: templates of Debian's static busybox, frozen at the init point or at the app point, and their clones.
 * Runs where the host KVM can boot Linux (the lab).
 */
@BootTest
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class TemplateBootTest {

    @BeforeAll
    static void prerequisites() {
        assumeBusybox();
    }

    private static Arrow busybox(String... args) {
        return Arrow.of(BUSYBOX).args(args).memory(64, MiB);
    }

    @Test
    void twentyClonesRunWithTheirOwnArgsEnvAndFiles() throws Exception {
        try (ArrowTemplate template = busybox("sh", "-c", "echo template").template()) {
            System.out.println("template boot: " + template.bootTimeline());
            List<ArrowProcess> clones = new ArrayList<>();
            try {
                for (int i = 0; i < 20; i++) {
                    int n = i;
                    clones.add(template.start(c -> c.args("sh", "-c", "echo \"$GREETING $1 $(cat /data/f)\"", "sh",
                            "arg" + n).env("GREETING", "hello" + n).textFile("file" + n, "/data/f")));
                }
                for (int i = 0; i < 20; i++) {
                    ArrowProcess p = clones.get(i);
                    assertThat(stdout(p)).as("clone %d", i).isEqualTo("hello" + i + " arg" + i + " file" + i + "\n");
                    assertThat(p.waitFor()).isZero();
                    assertThat(p.timeline().reached(BootPhase.CLONED)).isTrue();
                    assertThat(p.timeline().reached(BootPhase.APP_EXECUTED)).isTrue();
                    assertThat(p.timeline().reached(BootPhase.VM_CREATED)).as("a clone does not boot").isFalse();
                }
                System.out.println("clone 19: " + clones.get(19).timeline());
            } finally {
                clones.forEach(ArrowProcess::close);
            }
        }
    }

    /**
     * A finished clone's VM goes back to its template, which resets it for the next clone: the next one starts
     * from the template's RAM again, whatever the one before wrote.
     */
    @Test
    void clonesOneAfterAnotherStartFromTheTemplateNotFromTheCloneBefore() throws Exception {
        String script = "if [ -e /tmp/mark ]; then echo \"dirty $(cat /tmp/mark)\"; else echo \"clean $1\"; fi;"
                + " echo $1 > /tmp/mark";
        try (ArrowTemplate template = busybox("true").template()) {
            for (int i = 0; i < 30; i++) {
                int n = i;
                try (ArrowProcess p = template.start(c -> c.args("sh", "-c", script, "sh", "clone" + n))) {
                    assertThat(stdout(p)).as("clone %d", i).isEqualTo("clean clone" + i + "\n");
                    assertThat(p.waitFor()).isZero();
                }
            }
        }
    }

    @Test
    void twoClonesDrawDifferentRandomBytesAndKnowTheHostsTime() throws Exception {
        try (ArrowTemplate template = busybox("true").template()) {
            String script = "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; date +%s";
            String[] first;
            String[] second;
            // the guest's date is read at some moment between the start of its clone and the end of its output:
            // within 2 s of the host's clock, it lies in that window widened by 2 s
            // the template was frozen 4 s before: a clone that kept its clock would be 4 s behind
            Thread.sleep(4000);
            long before = Instant.now().getEpochSecond();
            try (ArrowProcess a = template.start(c -> c.args("sh", "-c", script));
                 ArrowProcess b = template.start(c -> c.args("sh", "-c", script))) {
                first = stdout(a).split("\n");
                second = stdout(b).split("\n");
                assertThat(a.waitFor()).isZero();
                assertThat(b.waitFor()).isZero();
            }
            long after = Instant.now().getEpochSecond();
            assertThat(first[0]).hasSize(64).isNotEqualTo(second[0]);
            assertThat(Long.parseLong(first[1])).as("clone's date +%s").isBetween(before - 2, after + 2);
            assertThat(Long.parseLong(second[1])).as("clone's date +%s").isBetween(before - 2, after + 2);
            System.out.printf("clones' dates %s and %s, host %d..%d%n", first[1], second[1], before, after);
        }
    }

    @Test
    void twoClonesServeHttpOnTheirOwnForwardsAtTheSameTime() throws Exception {
        assumePasst();
        try (ArrowTemplate template = busybox("httpd", "-f", "-p", "80", "-h", "/www").net(Net.user())
                .textFile("shared\n", "/www/index.html").stdout(Output.discard()).template()) {
            int portA = FreePort.onLoopback();
            int portB = FreePort.onLoopback();
            try (ArrowProcess a = template.start(c -> c.net(Net.user().forward(portA, 80)).textFile("a\n", "/www/who"));
                 ArrowProcess b = template.start(c -> c.net(Net.user().forward(portB, 80)).textFile("b\n", "/www/who"))) {
                assertThat(BootTestSupport.getWithRetry(new URL("http://127.0.0.1:" + portA + "/who"), Duration.ofSeconds(60))).isEqualTo("a\n");
                assertThat(BootTestSupport.getWithRetry(new URL("http://127.0.0.1:" + portB + "/who"), Duration.ofSeconds(60))).isEqualTo("b\n");
                assertThat(BootTestSupport.getWithRetry(new URL("http://127.0.0.1:" + portA + "/"), Duration.ofSeconds(5))).isEqualTo("shared\n");
                assertThat(a.isAlive()).isTrue();
                assertThat(b.isAlive()).isTrue();
            }
        }
    }

    @Test
    void anAppPointTemplatesClonesAnswerAtOnce() throws Exception {
        assumePasst();
        try (ArrowTemplate template = busybox("httpd", "-f", "-p", "80", "-h", "/www").net(Net.user())
                .textFile("warm\n", "/www/index.html").stdout(Output.discard())
                .template(TemplatePoint.whenListening(80))) {
            for (int i = 0; i < 2; i++) {
                int port = FreePort.onLoopback();
                try (ArrowProcess p = template.start(c -> c.net(Net.user().forward(port, 80)))) {
                    long t0 = System.nanoTime();
                    assertThat(BootTestSupport.getWithRetry(new URL("http://127.0.0.1:" + port + "/"), Duration.ofSeconds(10)))
                            .isEqualTo("warm\n");
                    System.out.printf("app-point clone %d answered %.1f ms after start() returned%n", i,
                            (System.nanoTime() - t0) / 1e6);
                    assertThat(p.timeline().reached(BootPhase.APP_EXECUTED)).as("the app was exec'd in the template")
                            .isFalse();
                }
            }
        }
    }

    @Test
    void anAppPointCloneResumesTheProgramWhereItWasFrozen() throws Exception {
        String script = "i=0; echo ready; while read line; do i=$((i+1)); echo \"$i $line\"; done";
        try (ArrowTemplate template = busybox("sh", "-c", script).template(TemplatePoint.whenOutput("^ready$"))) {
            try (ArrowProcess a = template.start(); ArrowProcess b = template.start()) {
                write(a.getOutputStream(), "x\ny\n");
                write(b.getOutputStream(), "z\n");
                assertThat(stdout(a)).isEqualTo("1 x\n2 y\n");
                assertThat(stdout(b)).isEqualTo("1 z\n");
                assertThat(a.waitFor()).as("%s", a.outcome().getNow(null)).isZero();
                assertThat(b.waitFor()).as("%s", b.outcome().getNow(null)).isZero();
            }
        }
    }

    @Test
    void closingTheTemplateLeavesRunningClonesRunning() throws Exception {
        ArrowTemplate template = busybox("cat").template();
        try (ArrowProcess clone = template.start()) {
            template.close();
            write(clone.getOutputStream(), "still here\n");
            assertThat(stdout(clone)).isEqualTo("still here\n");
            assertThat(clone.waitFor()).isZero();
        }
        assertThatThrownBy(template::start).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aTemplateWhoseBootFailsSaysWhyAndLeavesNothingBehind() throws Exception {
        try (ArrowTemplate warm = busybox("true").template()) { // class loading, thread pools
            warm.start().close();
        }
        Thread.sleep(500);
        BootTestSupport.awaitNoBlankVms();
        long fds = BootTestSupport.countFds();
        int threads = ManagementFactory.getThreadMXBean().getThreadCount();

        assertThatThrownBy(() -> busybox("sh", "-c", "echo giving up; exit 3")
                .template(TemplatePoint.whenOutput("^never$")))
                .isInstanceOf(GuestFailureException.class)
                .hasMessageContaining("ended before it reached the app point")
                .hasMessageContaining("giving up");
        assertThatThrownBy(() -> busybox("sleep", "60")
                .template(TemplatePoint.whenListening(80).within(Duration.ofSeconds(3))))
                .isInstanceOf(GuestFailureException.class)
                .hasMessageContaining("did not reach the app point (listening on guest TCP port 80) within 3000 ms");

        Thread.sleep(1000);
        BootTestSupport.awaitNoBlankVms();
        assertThat(BootTestSupport.countFds()).as("open fds").isLessThanOrEqualTo(fds);
        assertThat(BootTestSupport.liveThreadsSettledTo(threads)).as("live threads").isLessThanOrEqualTo(threads);
    }

    private static void write(OutputStream stdin, String text) throws IOException {
        stdin.write(text.getBytes(StandardCharsets.UTF_8));
        stdin.close();
    }

}
