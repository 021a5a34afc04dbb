package dev.arrow.junit;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.NotReadyException;
import dev.arrow.Wait;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tier 1: {@link ArrowTest}'s extension, run as a user's build runs it (the example classes below, on the Jupiter
 * engine through EngineTestKit) against a fake backend.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ArrowExtensionTest {

    private static Arrow fake(FakeBackend backend) {
        return Arrow.of(FakeBackend.binary()).launcher(backend);
    }

    @Example
    @ArrowTest
    static class PerTestArrows {
        static final FakeBackend BACKEND = new FakeBackend("booting\n");
        static final List<ArrowProcess> SEEN = new CopyOnWriteArrayList<>();

        @RunArrow
        Arrow app = fake(BACKEND);
        ArrowProcess inBeforeEach;

        @BeforeEach
        void startedBeforeTheBeforeEachMethods(ArrowProcess app) {
            assertTrue(app.isAlive());
            inBeforeEach = app;
        }

        @Test
        void first(ArrowProcess app) {
            assertSame(inBeforeEach, app);
            SEEN.add(app);
        }

        @Test
        void second(ArrowProcess app) {
            assertSame(inBeforeEach, app);
            SEEN.add(app);
        }

        @AfterEach
        void closedAfterTheAfterEachMethods(ArrowProcess app) {
            assertTrue(app.isAlive());
        }
    }

    @Test
    void anInstanceFieldsArrowIsStartedBeforeEachTestAndClosedAfterIt() {
        ExampleRun.run(PerTestArrows.class).testEvents().assertStatistics(s -> s.started(2).succeeded(2));

        assertThat(PerTestArrows.SEEN).hasSize(2).doesNotHaveDuplicates();
        assertThat(PerTestArrows.BACKEND.boots).hasValue(2);
        assertClosed(PerTestArrows.SEEN, PerTestArrows.BACKEND);
        assertThat(PerTestArrows.BACKEND.released).as("each test ended once its arrow was released, not only closed")
                .hasValue(2);
    }

    @Example
    @ArrowTest
    static class PerClassArrow {
        static final FakeBackend BACKEND = new FakeBackend("ready\n");
        static final List<ArrowProcess> SEEN = new CopyOnWriteArrayList<>();

        @RunArrow
        static Arrow shared = fake(BACKEND);

        @BeforeAll
        static void startedBeforeTheBeforeAllMethods(ArrowProcess shared) {
            assertTrue(shared.isAlive());
            SEEN.add(shared);
        }

        @Test
        void first(ArrowProcess shared) {
            SEEN.add(shared);
        }

        @Test
        void second(ArrowProcess shared) {
            SEEN.add(shared);
        }

        @AfterAll
        static void closedAfterTheAfterAllMethods(ArrowProcess shared) {
            assertTrue(shared.isAlive());
            SEEN.add(shared);
        }
    }

    @Test
    void aStaticFieldsArrowIsStartedOnceAndSharedByTheClassesTests() {
        EngineExecutionResults results = ExampleRun.run(PerClassArrow.class);

        results.testEvents().assertStatistics(s -> s.started(2).succeeded(2));
        results.containerEvents().assertStatistics(s -> s.failed(0));
        assertThat(PerClassArrow.SEEN).hasSize(4).containsOnly(PerClassArrow.SEEN.get(0));
        assertThat(PerClassArrow.BACKEND.boots).hasValue(1);
        assertClosed(PerClassArrow.SEEN, PerClassArrow.BACKEND);
    }

    @Example
    @ArrowTest
    static class TemplateArrow {
        static final FakeBackend BACKEND = new FakeBackend("ready\n");
        static final List<ArrowProcess> SEEN = new CopyOnWriteArrayList<>();

        @RunArrow(template = true)
        static Arrow cloned = fake(BACKEND).waitingFor(Wait.forLogMessage("ready", 1));

        @Test
        void first(ArrowProcess cloned) {
            SEEN.add(cloned);
        }

        @Test
        void second(ArrowProcess cloned) {
            SEEN.add(cloned);
        }

        @Test
        void third(ArrowProcess cloned) {
            SEEN.add(cloned);
        }
    }

    @Test
    void aTemplateFieldIsBootedOnceAndEachTestGetsAClone() {
        ExampleRun.run(TemplateArrow.class).testEvents().assertStatistics(s -> s.started(3).succeeded(3));

        FakeBackend backend = TemplateArrow.BACKEND;
        assertThat(backend.templates).as("templates booted").hasValue(1);
        assertThat(backend.boots).as("arrows booted").hasValue(0);
        assertThat(backend.clones).hasValue(3);
        assertThat(backend.closedTemplates).hasValue(1);
        assertThat(TemplateArrow.SEEN).hasSize(3).doesNotHaveDuplicates();
        assertClosed(TemplateArrow.SEEN, backend);
    }

    @Example
    @ArrowTest
    static class Enclosing {
        static final FakeBackend BACKEND = new FakeBackend("");

        @RunArrow
        static Arrow shared = fake(BACKEND).args("shared");
        @RunArrow
        Arrow outer = fake(BACKEND).args("outer");

        @Nested
        class Inner {
            @RunArrow
            Arrow inner = fake(BACKEND).args("inner");

            @Test
            void seesItsOwnItsEnclosingInstancesAndTheClassesArrows(@ArrowField("inner") ArrowProcess inner,
                    @ArrowField("outer") ArrowProcess outer, @ArrowField("shared") ArrowProcess shared) {
                assertEquals(List.of("inner"), inner.spec().args());
                assertEquals(List.of("outer"), outer.spec().args());
                assertEquals(List.of("shared"), shared.spec().args());
            }
        }
    }

    @Test
    void aNestedTestGetsTheArrowsOfItsEnclosingInstancesAndClasses() {
        ExampleRun.run(Enclosing.class).testEvents().assertStatistics(s -> s.started(1).succeeded(1));

        assertThat(Enclosing.BACKEND.boots).hasValue(3);
        assertThat(Enclosing.BACKEND.running()).as("arrows still running").isZero();
    }

    @Example
    @ArrowTest
    static class FailingTests {
        static final FakeBackend APP = new FakeBackend("booting\nlistening on :80\n");
        static final FakeBackend DB = new FakeBackend("");

        @RunArrow
        static Arrow db = fake(DB);
        @RunArrow
        Arrow app = fake(APP);

        @Test
        void fails() {
            fail("the page was wrong");
        }

        @Test
        void isAbortedByAnAssumption() {
            assumeTrue(false, "not here");
        }
    }

    @Test
    void aFailingTestCarriesTheOutputOfItsArrowsAndItsClasses() {
        EngineExecutionResults results = ExampleRun.run(FailingTests.class);

        results.testEvents().assertStatistics(s -> s.started(2).failed(1).aborted(1));
        Throwable failure = onlyThrowable(results.testEvents().failed());
        assertThat(failure).hasMessage("the page was wrong");
        assertThat(failure.getSuppressed()).extracting(Throwable::getMessage).satisfiesExactlyInAnyOrder(
                app -> assertThat(app).startsWith("output of @RunArrow field FailingTests.app, ArrowProcess[")
                        .endsWith("running]:\n  STDOUT: booting\n  STDOUT: listening on :80"),
                db -> assertThat(db).startsWith("output of @RunArrow field FailingTests.db, ArrowProcess[")
                        .endsWith("running]: it printed nothing"));
        assertThat(failure.getSuppressed()).allSatisfy(s -> assertThat(s).isInstanceOf(ArrowOutput.class)
                .satisfies(output -> assertThat(output.getStackTrace()).isEmpty()));
        assertThat(onlyThrowable(results.testEvents().aborted()).getSuppressed()).as("an aborted test's").isEmpty();
    }

    @Example
    @ArrowTest
    static class FailingBeforeEach {
        static final FakeBackend BACKEND = new FakeBackend("up\n");

        @RunArrow
        Arrow app = fake(BACKEND);

        @BeforeEach
        void fails() {
            throw new IllegalStateException("no fixture");
        }

        @Test
        void test() {
        }
    }

    @Test
    void aFailingLifecycleMethodCarriesTheOutputToo() {
        EngineExecutionResults results = ExampleRun.run(FailingBeforeEach.class);

        Throwable failure = onlyThrowable(results.testEvents().failed());
        assertThat(failure).hasMessage("no fixture");
        assertThat(failure.getSuppressed()).singleElement().extracting(Throwable::getMessage).asString()
                .startsWith("output of @RunArrow field FailingBeforeEach.app").endsWith(":\n  STDOUT: up");
        assertThat(FailingBeforeEach.BACKEND.running()).isZero();
    }

    @Example
    @ArrowTest
    static class NeverReady {
        static final FakeBackend BACKEND = new FakeBackend("booting\n");

        /** Each test's clone starts before the test's own arrows: this one is running when the other fails. */
        @RunArrow(template = true)
        static Arrow ready = fake(BACKEND);
        @RunArrow
        Arrow never = fake(BACKEND).waitingFor(Wait.forLogMessage("listening", 1).withStartupTimeout(Duration.ofMillis(200)));

        @Test
        void test() {
            fail("ran although an arrow was not ready");
        }
    }

    @Test
    void anArrowThatIsNotReadyFailsTheTestWithItsOutputAndThoseStartedBeforeAreClosed() {
        EngineExecutionResults results = ExampleRun.run(NeverReady.class);

        assertThat(onlyThrowable(results.testEvents().failed())).isInstanceOf(NotReadyException.class)
                .hasMessageContaining("log message /listening/").hasMessageContaining("STDOUT: booting");
        assertThat(NeverReady.BACKEND.clones).as("clones started").hasValue(1);
        assertThat(NeverReady.BACKEND.boots).hasValue(1);
        assertThat(NeverReady.BACKEND.running()).as("arrows left running").isZero();
    }

    @Example
    @ArrowTest
    static class TwoArrows {
        static final FakeBackend BACKEND = new FakeBackend("");

        @RunArrow
        static Arrow db = fake(BACKEND).args("db");
        @RunArrow
        Arrow web = fake(BACKEND).args("web");

        @Test
        void namedParameters(@ArrowField("web") ArrowProcess web, @ArrowField("db") ArrowProcess db) {
            assertEquals(List.of("web"), web.spec().args());
            assertEquals(List.of("db"), db.spec().args());
        }

        @Test
        void unnamedParameter(ArrowProcess which) {
            fail("resolved " + which);
        }

        @Test
        void misspeltParameter(@ArrowField("dbb") ArrowProcess db) {
            fail("resolved " + db);
        }
    }

    @Test
    void parametersNameTheirFieldWhenSeveralArrowsRun() {
        EngineExecutionResults results = ExampleRun.run(TwoArrows.class);

        results.testEvents().assertStatistics(s -> s.started(3).succeeded(1).failed(2));
        assertThat(throwableOf(results.testEvents(), "unnamedParameter")).isInstanceOf(ParameterResolutionException.class)
                .hasMessage("ArrowProcess parameter 1 of TwoArrows.unnamedParameter: the arrows running for it are those"
                        + " of [@RunArrow field TwoArrows.web, @RunArrow field TwoArrows.db]; say which with"
                        + " @ArrowField(\"name\")");
        assertThat(throwableOf(results.testEvents(), "misspeltParameter")).isInstanceOf(ParameterResolutionException.class)
                .hasMessageStartingWith("ArrowProcess parameter 1 of TwoArrows.misspeltParameter asks for the arrow of"
                        + " @RunArrow field 'dbb', but the arrows running for it are those of [");
    }

    @Example
    @ArrowTest
    static class SameNameOutside {
        @RunArrow
        Arrow app = fake(new FakeBackend(""));

        @Nested
        class Inside {
            @RunArrow
            Arrow app = fake(new FakeBackend(""));

            @Test
            void test(@ArrowField("app") ArrowProcess app) {
                fail("resolved " + app);
            }
        }
    }

    @Test
    void aNameThatTwoRunningArrowsShareIsRefused() {
        assertThat(onlyThrowable(ExampleRun.run(SameNameOutside.class).testEvents().failed()))
                .isInstanceOf(ParameterResolutionException.class)
                .hasMessage("ArrowProcess parameter 1 of Inside.test asks for the arrow of @RunArrow field 'app', but the"
                        + " arrows running for it are those of [@RunArrow field SameNameOutside.app, @RunArrow field"
                        + " Inside.app]: rename one of the fields");
    }

    @Example
    @ArrowTest
    static class PerTestArrowInBeforeAll {
        @RunArrow
        Arrow app = fake(new FakeBackend(""));

        @BeforeAll
        static void beforeAll(ArrowProcess app) {
            fail("resolved " + app);
        }

        @Test
        void test() {
        }
    }

    @Test
    void aBeforeAllMethodSeesNoArrowOfEachTest() {
        EngineExecutionResults results = ExampleRun.run(PerTestArrowInBeforeAll.class);

        assertThat(onlyThrowable(results.containerEvents().failed())).isInstanceOf(ParameterResolutionException.class)
                .hasMessageContaining("PerTestArrowInBeforeAll.beforeAll: no @RunArrow arrow runs for it; declare one")
                .hasMessageContaining("@BeforeAll and @AfterAll methods see static, non-template ones only");
    }

    @Example
    @ArrowTest
    static class NotAnArrow {
        @RunArrow
        String app = "busybox";

        @Test
        void test() {
        }
    }

    @Example
    @ArrowTest
    static class InstanceTemplate {
        @RunArrow(template = true)
        Arrow app = fake(new FakeBackend(""));

        @Test
        void test() {
        }
    }

    @Example
    @ArrowTest
    static class NullArrow {
        @RunArrow
        Arrow app;

        @Test
        void test() {
        }
    }

    @Test
    void aFieldDeclaredWronglyFailsNamingTheFieldAndTheFix() {
        assertThat(onlyThrowable(ExampleRun.run(NotAnArrow.class).containerEvents().failed()))
                .isInstanceOf(ExtensionConfigurationException.class)
                .hasMessage("@RunArrow field NotAnArrow.app is declared as java.lang.String: declare it as dev.arrow.Arrow,"
                        + " the builder the extension starts");
        assertThat(onlyThrowable(ExampleRun.run(InstanceTemplate.class).containerEvents().failed()))
                .isInstanceOf(ExtensionConfigurationException.class)
                .hasMessage("@RunArrow(template = true) field InstanceTemplate.app is not static, but a template is"
                        + " booted once per class: make the field static, or drop template = true to start a fresh"
                        + " arrow for each test");
        assertThat(onlyThrowable(ExampleRun.run(NullArrow.class).testEvents().failed()))
                .isInstanceOf(ExtensionConfigurationException.class)
                .hasMessageStartingWith("@RunArrow field NullArrow.app is null: assign it the arrow to start");
    }

    @Example
    @ArrowTest
    static class FourAtOnce {
        static final FakeBackend BACKEND = new FakeBackend("up\n");
        static final CyclicBarrier ALL_RUNNING = new CyclicBarrier(4);
        static final Set<ArrowProcess> SEEN = ConcurrentHashMap.newKeySet();

        @RunArrow
        Arrow own = fake(BACKEND);
        @RunArrow(template = true)
        static Arrow cloned = fake(BACKEND);

        /** Returns once all four tests run at once, each with its arrows started. */
        private static void check(ArrowProcess own, ArrowProcess cloned) throws Exception {
            ALL_RUNNING.await(20, TimeUnit.SECONDS);
            assertTrue(own.isAlive() && cloned.isAlive());
            SEEN.add(own);
            SEEN.add(cloned);
        }

        @Test
        void a(@ArrowField("own") ArrowProcess own, @ArrowField("cloned") ArrowProcess cloned) throws Exception {
            check(own, cloned);
        }

        @Test
        void b(@ArrowField("own") ArrowProcess own, @ArrowField("cloned") ArrowProcess cloned) throws Exception {
            check(own, cloned);
        }

        @Test
        void c(@ArrowField("own") ArrowProcess own, @ArrowField("cloned") ArrowProcess cloned) throws Exception {
            check(own, cloned);
        }

        @Test
        void d(@ArrowField("own") ArrowProcess own, @ArrowField("cloned") ArrowProcess cloned) throws Exception {
            check(own, cloned);
        }
    }

    @Test
    void fourTestsRunInParallelEachWithItsOwnArrowAndClone() {
        ExampleRun.inParallel(FourAtOnce.class, 4).testEvents().assertStatistics(s -> s.started(4).succeeded(4));

        FakeBackend backend = FourAtOnce.BACKEND;
        assertThat(FourAtOnce.SEEN).as("arrows the tests saw").hasSize(8);
        assertThat(backend.mostRunning()).as("arrows running at once").isEqualTo(8);
        assertThat(backend.boots).hasValue(4);
        assertThat(backend.clones).hasValue(4);
        assertThat(backend.templates).hasValue(1);
        assertThat(backend.closedTemplates).hasValue(1);
        assertClosed(FourAtOnce.SEEN, backend);
    }

    /** Each of {@code processes} was closed by the extension: stopped while running, and its backend runs none. */
    private static void assertClosed(Iterable<ArrowProcess> processes, FakeBackend backend) {
        Set<ArrowProcess> distinct = new HashSet<>();
        processes.forEach(distinct::add);
        assertThat(distinct).allSatisfy(p -> {
            assertThat(p.isAlive()).as("%s is alive", p).isFalse();
            assertThat(p.outcome().join()).isEqualTo(new ArrowOutcome.Destroyed());
        });
        assertThat(backend.running()).as("arrows still running").isZero();
    }

    private static Throwable onlyThrowable(Events events) {
        assertThat(events.count()).as("events %s", events.list()).isEqualTo(1);
        return throwable(events.list().get(0));
    }

    private static Throwable throwableOf(Events tests, String method) {
        return tests.finished().stream().filter(e -> e.getTestDescriptor().getDisplayName().startsWith(method + "("))
                .map(ArrowExtensionTest::throwable).findFirst().orElseThrow();
    }

    private static Throwable throwable(Event event) {
        return event.getPayload(TestExecutionResult.class).flatMap(TestExecutionResult::getThrowable).orElseThrow();
    }
}
