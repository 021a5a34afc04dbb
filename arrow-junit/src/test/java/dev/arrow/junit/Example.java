package dev.arrow.junit;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks an example test class, a user's test class that a test of the extension runs through {@link ExampleRun}
 * and checks the results of (some of its tests fail on purpose). Anywhere else (an IDE running every class, a class
 * path scan) it is skipped.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(Example.OnlyInAnExampleRun.class)
@interface Example {

    /** The configuration parameter an {@link ExampleRun} sets. */
    String PARAMETER = "dev.arrow.junit.exampleRun";

    /** Enables an {@link Example} class only in an {@link ExampleRun}. */
    final class OnlyInAnExampleRun implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(PARAMETER, Boolean::parseBoolean).orElse(false)
                    ? ConditionEvaluationResult.enabled("run as an example")
                    : ConditionEvaluationResult.disabled("an example class, run by the test of the extension that uses it");
        }
    }
}
