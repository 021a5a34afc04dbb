package dev.arrow.junit;

import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/** Runs an {@link Example} class on the Jupiter engine, as a user's build would, for its results. */
final class ExampleRun {
    private ExampleRun() {
    }

    /** Runs {@code example}'s tests one after another. */
    static EngineExecutionResults run(Class<?> example) {
        return kit(example).execute();
    }

    /** Runs {@code example}'s tests in parallel, on {@code threads} threads. */
    static EngineExecutionResults inParallel(Class<?> example, int threads) {
        return kit(example)
                .configurationParameter("junit.jupiter.execution.parallel.enabled", "true")
                .configurationParameter("junit.jupiter.execution.parallel.mode.default", "concurrent")
                .configurationParameter("junit.jupiter.execution.parallel.config.strategy", "fixed")
                .configurationParameter("junit.jupiter.execution.parallel.config.fixed.parallelism", String.valueOf(threads))
                .execute();
    }

    private static EngineTestKit.Builder kit(Class<?> example) {
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(example))
                .configurationParameter(Example.PARAMETER, "true");
    }
}
