package dev.arrow.junit;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a JUnit 5 test class whose {@link RunArrow} fields Arrow's extension runs: an instance field's arrow is
 * started before each test and closed after it, a static field's once for the class; {@code start()} returns
 * once the arrow is ready by its builder's {@link dev.arrow.Arrow#waitingFor waitingFor}. Test and lifecycle
 * methods get the started arrows as {@link dev.arrow.ArrowProcess} parameters (see {@link ArrowField}), and a
 * failing test carries each arrow's last lines of output as a suppressed {@link ArrowOutput}.
 *
 * <pre>{@code
 * @ArrowTest
 * class HttpdTest {
 *     @RunArrow
 *     Arrow httpd = Arrow.of(Path.of("/bin/busybox")).args("httpd", "-f", "-p", "80", "-h", "/www")
 *             .textFile("hi\n", "/www/index.html").net(Net.user().forward(0, 80)).waitingFor(Wait.forHttp("/"));
 *
 *     @Test
 *     void servesThePage(ArrowProcess httpd) throws Exception {
 *         URI page = URI.create("http://127.0.0.1:" + httpd.hostPort(80) + "/");
 *         assertEquals("hi\n", HttpClient.newHttpClient().send(HttpRequest.newBuilder(page).build(),
 *                 BodyHandlers.ofString()).body());
 *     }
 * }
 * }</pre>
 *
 * <p>Parallel execution ({@code junit.jupiter.execution.parallel.enabled}) is supported: the extension keeps
 * what it started in each test's and each class's own {@link org.junit.jupiter.api.extension.ExtensionContext}
 * store, never in fields of its own, so concurrent tests each start, use and close their own arrows, and share
 * only their class's (a per-class arrow, or the template they clone). Combine with {@link EnabledIfArrowsRun} to
 * skip, with the host's reason, where arrows cannot run.
 */
@Target({ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(ArrowExtension.class)
public @interface ArrowTest {
}
