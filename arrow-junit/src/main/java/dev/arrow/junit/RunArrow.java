package dev.arrow.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * An {@link dev.arrow.Arrow} field of an {@link ArrowTest} class that the extension starts: declare it with the
 * builder, e.g. {@code @RunArrow Arrow db = Arrow.of(path).waitingFor(Wait.forPort(5432));}. Outside an
 * {@link ArrowTest} class the annotation does nothing.
 * <ul>
 *   <li>An instance field is started before each test (before its {@code @BeforeEach} methods) and closed after
 *       it (after its {@code @AfterEach} methods): each test gets a fresh arrow.</li>
 *   <li>A static field is started once for its class (before its {@code @BeforeAll} methods) and closed after
 *       the class (after its {@code @AfterAll} methods): its tests share one arrow.</li>
 *   <li>A static field with {@link #template() template = true} is booted once for its class as an
 *       {@link dev.arrow.ArrowTemplate}, and each test gets a clone of it, started before and closed after the
 *       test as an instance field's arrow is: one boot for the class, a fresh arrow per test.</li>
 * </ul>
 * Closing stops a running arrow at once ({@link dev.arrow.ArrowProcess#close()}), and the test (or class) ends once
 * its arrows are released (their VMs, passt processes and fds gone; at most 30 s). A test's clones are started
 * before its own arrows; several fields of one kind one after another, in no promised order. If one fails to start,
 * the test (or class) fails with its exception and those started before are closed.
 * The builder is only read, so one builder may be started by concurrent tests.
 *
 * <p>Output: the extension reads none of the arrow's streams. A program that prints more than a pipe holds
 * ({@value dev.arrow.internal.GuestOutput#PIPE_CAPACITY} bytes) to a stream nobody reads stalls, so send output
 * the test does not read elsewhere ({@code .stdout(Output.discard())}, a log consumer); the last lines stay in
 * {@link dev.arrow.ArrowProcess#logs()} either way, and are what a failing test gets attached.
 */
@Target(ElementType.FIELD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface RunArrow {

    /**
     * Whether the class boots the arrow once as a template and starts a clone of it for each test (static
     * fields only). Clones take the builder's settings: its {@code waitingFor} applies to each, and its forwards
     * too, so forward from host port 0 ({@code Net.user().forward(0, 80)}) for each clone to get a free one.
     */
    boolean template() default false;
}
