package dev.arrow.junit;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs the annotated test class or method only where this host can run arrows, as {@link dev.arrow.Arrow#hostSupport()}
 * (what {@code arrow doctor} prints) says for the backend on the class path; elsewhere it is skipped, reported with
 * the host's problems and their fixes as the reason (e.g. "no /dev/kvm: ..."), never silently passed. Without it,
 * a test on such a host fails at {@code start()} with the same sentence. The host is probed once per test run.
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(ArrowsRunCondition.class)
public @interface EnabledIfArrowsRun {

    /**
     * Whether the test also needs user-mode networking ({@code Net.user()}, which starts {@code passt}): then a
     * host without passt skips it too, with the reason the backend gives.
     */
    boolean userNetwork() default false;
}
