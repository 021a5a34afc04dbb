package dev.arrow.junit;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.NotReadyException;
import dev.arrow.Wait;
import dev.arrow.config.Net;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static dev.arrow.config.SizeUnit.MiB;
import static java.net.http.HttpResponse.BodyHandlers.ofString;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tier 4: {@link ArrowTest} classes against busybox httpd arrows (Debian's static busybox, passt), run on the Jupiter
 * engine through EngineTestKit: four tests in parallel, each with its own arrow or its own clone of the class's
 * template, GET the page through their arrow's forwarded port; an app that never listens fails its test with its
 * output. Runs where the host KVM can boot Linux (the lab).
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ArrowExtensionBootTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final String PAGE = "hello from an arrow\n";

    @BeforeAll
    static void prerequisites() {
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/passt")), "no passt: install passt (scripts/setup.sh)");
    }

    /**
     * Serves {@link #PAGE} at {@code /} on guest port 80, forwarded from a free host port; ready once it serves it.
     * Four of them boot at once, on the lab's one vCPU: hence the generous startup timeout.
     */
    private static Arrow httpd() {
        return Arrow.of(BUSYBOX).args("httpd", "-f", "-p", "80", "-h", "/www").textFile(PAGE, "/www/index.html")
                .memory(64, MiB).net(Net.user().forward(0, 80))
                .waitingFor(Wait.forHttp("/").withStartupTimeout(Duration.ofSeconds(240)));
    }

    /**
     * Waits until all four tests of an example run at once (each with its arrow started and ready), then GETs the
     * page through {@code httpd}'s forwarded port and records the port.
     */
    private static void getThePageWhileAllFourRun(ArrowProcess httpd, CyclicBarrier allRunning, Set<Integer> ports)
            throws IOException, InterruptedException, BrokenBarrierException, TimeoutException {
        allRunning.await(5, TimeUnit.MINUTES);
        URI page = URI.create("http://127.0.0.1:" + httpd.hostPort(80) + "/");
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(page).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        assertEquals(PAGE, response.body());
        ports.add(httpd.hostPort(80));
    }

    @Example
    @ArrowTest
    @EnabledIfArrowsRun(userNetwork = true)
    static class FourArrowsInParallel {
        static final CyclicBarrier ALL_RUNNING = new CyclicBarrier(4);
        static final Set<Integer> PORTS = ConcurrentHashMap.newKeySet();

        @RunArrow
        Arrow httpd = httpd();

        @Test
        void a(ArrowProcess httpd) throws Exception {
            getThePageWhileAllFourRun(httpd, ALL_RUNNING, PORTS);
        }

        @Test
        void b(ArrowProcess httpd) throws Exception {
            getThePageWhileAllFourRun(httpd, ALL_RUNNING, PORTS);
        }

        @Test
        void c(ArrowProcess httpd) throws Exception {
            getThePageWhileAllFourRun(httpd, ALL_RUNNING, PORTS);
        }

        @Test
        void d(ArrowProcess httpd) throws Exception {
            getThePageWhileAllFourRun(httpd, ALL_RUNNING, PORTS);
        }
    }

    @Test
    void fourTestsEachWithItsOwnHttpdArrowRunInParallel() {
        EngineExecutionResults results = ExampleRun.inParallel(FourArrowsInParallel.class, 4);

        assertPassed(results, 4);
        assertThat(FourArrowsInParallel.PORTS).as("host ports, one per arrow").hasSize(4);
        assertNoPasstLeft();
    }

    @Example
    @ArrowTest
    @EnabledIfArrowsRun(userNetwork = true)
    static class FourClonesInParallel {
        static final CyclicBarrier ALL_RUNNING = new CyclicBarrier(4);
        static final Set<Integer> PORTS = ConcurrentHashMap.newKeySet();

        @RunArrow(template = true)
        static Arrow httpd = httpd();

        @Test
        void a(ArrowProcess httpd) throws Exception {
            getThePageWhileAllFourRun(httpd, ALL_RUNNING, PORTS);
        }

        @Test
        void b(ArrowProcess httpd) throws Exception {
            getThePageWhileAllFourRun(httpd, ALL_RUNNING, PORTS);
        }

        @Test
        void c(ArrowProcess httpd) throws Exception {
            getThePageWhileAllFourRun(httpd, ALL_RUNNING, PORTS);
        }

        @Test
        void d(ArrowProcess httpd) throws Exception {
            getThePageWhileAllFourRun(httpd, ALL_RUNNING, PORTS);
        }
    }

    @Test
    void fourTestsEachWithItsOwnCloneOfTheClassesTemplateRunInParallel() {
        EngineExecutionResults results = ExampleRun.inParallel(FourClonesInParallel.class, 4);

        assertPassed(results, 4);
        assertThat(FourClonesInParallel.PORTS).as("host ports, one per clone").hasSize(4);
        assertNoPasstLeft();
    }

    /** README.md's example ("In a JUnit 5 test"), line for line. */
    @Example
    @ArrowTest @EnabledIfArrowsRun(userNetwork = true)
    static class HttpdTest {
        @RunArrow Arrow httpd = Arrow.of(Path.of("/bin/busybox")).args("httpd", "-f", "-p", "80", "-h", "/www")
                .textFile("hi\n", "/www/index.html").net(Net.user().forward(0, 80)).waitingFor(Wait.forHttp("/"));

        @Test void servesThePage(ArrowProcess httpd) throws Exception {
            URI page = URI.create("http://127.0.0.1:" + httpd.hostPort(80) + "/");
            assertEquals("hi\n", HttpClient.newHttpClient().send(HttpRequest.newBuilder(page).build(), ofString()).body());
        }
    }

    @Test
    void theReadmesExamplePasses() {
        assertPassed(ExampleRun.run(HttpdTest.class), 1);
        assertNoPasstLeft();
    }

    @Example
    @ArrowTest
    static class NeverListens {
        @RunArrow
        Arrow app = Arrow.of(BUSYBOX).args("sh", "-c", "echo starting up; echo cannot bind :80 >&2; sleep 600")
                .memory(64, MiB).net(Net.user().forward(0, 80))
                .waitingFor(Wait.forHttp("/").withStartupTimeout(Duration.ofSeconds(45)));

        @Test
        void test(ArrowProcess app) {
            fail("ran although " + app + " never listened");
        }
    }

    @Test
    void anAppThatNeverListensFailsItsTestAtTheStartupTimeoutWithItsOutput() {
        EngineExecutionResults results = ExampleRun.run(NeverListens.class);

        results.testEvents().assertStatistics(s -> s.started(1).failed(1));
        Throwable failure = results.testEvents().failed().stream().findFirst()
                .flatMap(e -> e.getPayload(TestExecutionResult.class)).flatMap(TestExecutionResult::getThrowable)
                .orElseThrow();
        assertThat(failure).isInstanceOf(NotReadyException.class)
                .hasMessageContaining("HTTP GET / answering with status 200")
                .hasMessageContaining("STDOUT: starting up").hasMessageContaining("STDERR: cannot bind :80");
        assertNoPasstLeft();
    }

    /** Every test of {@code results} passed; their failures, with the arrows' output, in the message if not. */
    private static void assertPassed(EngineExecutionResults results, int tests) {
        assertThat(results.allEvents().failed().stream().map(e -> e.getPayload(TestExecutionResult.class).orElseThrow())
                .map(r -> r.getThrowable().map(ArrowExtensionBootTest::describe).orElse(r.toString())).toList())
                .as("failures").isEmpty();
        assertThat(results.allEvents().skipped().stream().map(e -> e.getPayload(String.class).orElse("")).toList())
                .as("skipped, with the reasons").isEmpty();
        results.testEvents().assertStatistics(s -> s.started(tests).succeeded(tests));
    }

    private static String describe(Throwable failure) {
        StringBuilder text = new StringBuilder(failure.toString());
        for (Throwable suppressed : failure.getSuppressed()) {
            text.append("\n").append(suppressed.getMessage());
        }
        return text.toString();
    }

    /** The arrows' passt processes ended with them: the extension closed every arrow. */
    private static void assertNoPasstLeft() {
        assertThat(ProcessHandle.current().children().filter(h -> h.info().command().orElse("").contains("passt")))
                .as("passt processes left").isEmpty();
    }
}
