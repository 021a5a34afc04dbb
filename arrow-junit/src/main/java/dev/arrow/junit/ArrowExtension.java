package dev.arrow.junit;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.TestAbortedException;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The extension of {@link ArrowTest}: starts and closes the {@link RunArrow} fields' arrows, resolves
 * {@link ArrowProcess} parameters and attaches the arrows' output to failures.
 *
 * <p>Stateless: one instance serves every test of a class, concurrently under parallel execution. What it
 * started lives in the {@link StartedArrows} of the test's or the class's own extension context (keyed by the
 * context's unique id, so that a test's store, which falls back to its class's, never answers for its class),
 * and a test reads its class's only after the class's before-callback has finished.
 *
 * <p>Output is attached as a suppressed {@link ArrowOutput} on the failure, from the
 * {@link TestExecutionExceptionHandler} and {@link LifecycleMethodExecutionExceptionHandler} callbacks, which
 * JUnit calls with the exception before it is reported, while the arrows still run: it travels with the failure
 * to every report. A report entry ({@link ExtensionContext#publishReportEntry}) was the alternative, but entries
 * live apart from the failure and build tools show them differently or not at all (Gradle drops them), so a
 * reader of a failed test might never see them.
 */
final class ArrowExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback,
        ParameterResolver, TestExecutionExceptionHandler, LifecycleMethodExecutionExceptionHandler {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(ArrowExtension.class);

    /** Starts the class's static arrows and boots its templates; checks every {@link RunArrow} field of the class. */
    @Override
    public void beforeAll(ExtensionContext context) {
        List<DeclaredArrow> fields = DeclaredArrow.of(context.getRequiredTestClass());
        StartedArrows started = begin(context);
        for (DeclaredArrow field : fields) {
            if (field.isStatic()) {
                Arrow arrow = field.read(null);
                if (field.template()) {
                    started.add(field, arrow.template());
                } else {
                    started.add(field, arrow.start());
                }
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        end(context);
    }

    /**
     * Starts a clone of each template of the test's classes (its own and, for a {@code @Nested} test, the
     * enclosing ones), then the arrows of each test instance's instance fields (the enclosing instances' too).
     */
    @Override
    public void beforeEach(ExtensionContext context) {
        StartedArrows started = begin(context);
        for (StartedArrows classLevel : enclosing(context)) {
            for (StartedArrows.Template t : classLevel.templates()) {
                started.add(t.field(), t.template().start());
            }
        }
        for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
            for (DeclaredArrow field : DeclaredArrow.of(instance.getClass())) {
                if (!field.isStatic()) {
                    started.add(field, field.read(instance).start());
                }
            }
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        end(context);
    }

    /**
     * A new, empty record of what {@code context} starts, stored before anything starts, so that the after-callback
     * closes what did start.
     */
    private static StartedArrows begin(ExtensionContext context) {
        StartedArrows started = new StartedArrows();
        context.getStore(NAMESPACE).put(context.getUniqueId(), started);
        return started;
    }

    /** Closes what {@code context} started (nothing if its before-callback never ran). */
    private static void end(ExtensionContext context) {
        StartedArrows started = context.getStore(NAMESPACE).remove(context.getUniqueId(), StartedArrows.class);
        if (started != null) {
            started.close();
        }
    }

    /** What {@code context} and its ancestors started, the nearest first. */
    private static List<StartedArrows> enclosing(ExtensionContext context) {
        List<StartedArrows> found = new ArrayList<>();
        for (ExtensionContext c = context; c != null; c = c.getParent().orElse(null)) {
            StartedArrows started = c.getStore(NAMESPACE).get(c.getUniqueId(), StartedArrows.class);
            if (started != null) {
                found.add(started);
            }
        }
        return found;
    }

    /** The arrows running for {@code context}: its own, then its classes' (the nearest first). */
    private static List<StartedArrows.Running> visible(ExtensionContext context) {
        return enclosing(context).stream().flatMap(s -> s.running().stream()).toList();
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == ArrowProcess.class;
    }

    @Override
    public ArrowProcess resolveParameter(ParameterContext parameter, ExtensionContext context) {
        List<StartedArrows.Running> running = visible(context);
        Optional<ArrowField> qualifier = parameter.findAnnotation(ArrowField.class);
        String where = "ArrowProcess parameter " + (parameter.getIndex() + 1) + " of "
                + parameter.getDeclaringExecutable().getDeclaringClass().getSimpleName() + "."
                + parameter.getDeclaringExecutable().getName();
        if (qualifier.isPresent()) {
            String name = qualifier.get().value();
            List<StartedArrows.Running> named = running.stream().filter(r -> r.field().name().equals(name)).toList();
            if (named.isEmpty()) {
                throw new ParameterResolutionException(where + " asks for the arrow of @RunArrow field '" + name
                        + "', but " + seen(running) + " ('" + name + "' is misspelt, or its arrow belongs to each test"
                        + " and the method is a @BeforeAll/@AfterAll one)");
            }
            if (named.size() > 1) {
                throw new ParameterResolutionException(where + " asks for the arrow of @RunArrow field '" + name
                        + "', but " + seen(named) + ": rename one of the fields");
            }
            return named.get(0).process();
        }
        if (running.size() == 1) {
            return running.get(0).process();
        }
        throw new ParameterResolutionException(where + ": " + seen(running) + (running.isEmpty()
                ? "; declare one, e.g. @RunArrow Arrow app = Arrow.of(...) (@BeforeAll and @AfterAll methods see"
                        + " static, non-template ones only)"
                : "; say which with @ArrowField(\"name\")"));
    }

    private static String seen(List<StartedArrows.Running> running) {
        return running.isEmpty() ? "no @RunArrow arrow runs for it"
                : "the arrows running for it are those of " + running.stream().map(r -> r.field().describe()).toList();
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withOutput(context, failure);
    }

    @Override
    public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withOutput(context, failure);
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withOutput(context, failure);
    }

    @Override
    public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withOutput(context, failure);
    }

    @Override
    public void handleAfterAllMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withOutput(context, failure);
    }

    /** {@code failure} with the output of each arrow running for {@code context} suppressed in it (unless aborted). */
    private static Throwable withOutput(ExtensionContext context, Throwable failure) {
        if (!(failure instanceof TestAbortedException)) {
            visible(context).forEach(r -> failure.addSuppressed(ArrowOutput.of(r.field(), r.process())));
        }
        return failure;
    }
}
