package dev.arrow;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.Net;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.MicroVmTemplate;
import dev.arrow.spi.OutputSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ArrowTemplateTest {

    @TempDir
    Path dir;
    private Path binary;

    @BeforeEach
    void createBinary() throws IOException {
        binary = Files.write(dir.resolve("hello"), new byte[]{0x7f, 'E', 'L', 'F'});
    }

    /** A backend whose templates hand each clone's spec to a fake guest that prints its args and env. */
    static final class TemplateLauncher implements ArrowLauncher {
        final List<ArrowSpec> templateSpecs = new CopyOnWriteArrayList<>();
        final List<ArrowSpec> cloneSpecs = new CopyOnWriteArrayList<>();
        final AtomicInteger closed = new AtomicInteger();
        volatile TemplatePoint point;

        @Override
        public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
            throw new AssertionError("a clone must not boot");
        }

        @Override
        public MicroVmTemplate template(ArrowSpec spec, TemplatePoint point, OutputSink stdout, OutputSink stderr,
                BootEvents events) {
            templateSpecs.add(spec);
            this.point = point;
            return new MicroVmTemplate() {
                @Override
                public MicroVmSession startClone(ArrowSpec cloneSpec, OutputSink out, OutputSink err, BootEvents ev) {
                    cloneSpecs.add(cloneSpec);
                    ev.host(BootPhase.CLONED, System.nanoTime());
                    FakeSession session = new FakeSession(cloneSpec, out, err, g -> {
                        g.out(String.join(" ", g.spec().args()) + " " + g.spec().env() + "\n");
                        return new ArrowOutcome.Exited(0);
                    }, true);
                    session.start();
                    return session;
                }

                @Override
                public void close() {
                    closed.incrementAndGet();
                }
            };
        }
    }

    @Test
    void clonesRunWithTheirOwnArgsAndEnvOverTheTemplates() throws Exception {
        TemplateLauncher backend = new TemplateLauncher();
        try (ArrowTemplate template = Arrow.of(binary).args("base").env("A", "1").launcher(backend).template()) {
            assertThat(template.point().isAppPoint()).isFalse();
            try (ArrowProcess plain = template.start();
                 ArrowProcess custom = template.start(c -> c.args("x", "y").env("B", "2").env("A", "3"))) {
                assertThat(new String(plain.getInputStream().readAllBytes(), UTF_8)).isEqualTo("base {A=1}\n");
                assertThat(new String(custom.getInputStream().readAllBytes(), UTF_8)).isEqualTo("x y {A=3, B=2}\n");
                assertThat(custom.waitFor()).isZero();
                assertThat(custom.timeline().reached(BootPhase.CLONED)).isTrue();
                assertThat(custom.timeline().reached(BootPhase.VM_CREATED)).isFalse();
            }
        }
        assertThat(backend.templateSpecs).hasSize(1);
        assertThat(backend.cloneSpecs).hasSize(2);
        assertThat(backend.closed).hasValue(1);
    }

    @Test
    void aClosedTemplateRefusesClonesAndClosesOnce() {
        TemplateLauncher backend = new TemplateLauncher();
        ArrowTemplate template = Arrow.of(binary).launcher(backend).template();
        template.close();
        template.close();
        assertThat(backend.closed).hasValue(1);
        assertThatThrownBy(template::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void anAppPointCloneCannotChangeLaunchSettings() {
        TemplateLauncher backend = new TemplateLauncher();
        try (ArrowTemplate template = Arrow.of(binary).launcher(backend).template(TemplatePoint.whenOutput("ready"))) {
            assertThat(backend.point).isInstanceOf(TemplatePoint.OutputLine.class);
            assertThatThrownBy(() -> template.start(c -> c.args("x").env("K", "v").textFile("t", "/t").copyOutOnExit("/out")))
                    .isInstanceOf(InvalidSpecException.class)
                    .hasMessageContaining("$.args").hasMessageContaining("$.env").hasMessageContaining("$.files")
                    .hasMessageContaining("$.copyOutOnExit")
                    .hasMessageContaining("TemplatePoint.init()");
            assertThat(backend.cloneSpecs).isEmpty();
        }
    }

    @Test
    void aCloneKeepsItsTemplatesNetworkMode() {
        TemplateLauncher backend = new TemplateLauncher();
        try (ArrowTemplate template = Arrow.of(binary).launcher(backend).template()) {
            assertThatThrownBy(() -> template.start(c -> c.net(Net.user().forward(8080, 80))))
                    .isInstanceOf(InvalidSpecException.class).hasMessageContaining("none");
        }
    }

    @Test
    void aCloneTimeoutCountsFromTheClonesStart() throws Exception {
        TemplateLauncher backend = new TemplateLauncher();
        try (ArrowTemplate template = Arrow.of(binary).launcher(backend).template();
             ArrowProcess p = template.start(c -> c.timeout(Duration.ofSeconds(5)))) {
            assertThat(p.spec().timeout()).contains(Duration.ofSeconds(5));
            assertThat(template.spec().timeout()).isEmpty();
        }
    }

    @Test
    void aBackendWithoutTemplatesSaysSo() {
        FakeLauncher plain = new FakeLauncher(g -> new ArrowOutcome.Exited(0));
        assertThatThrownBy(() -> Arrow.of(binary).launcher(plain).template())
                .isInstanceOf(BackendUnavailableException.class).hasMessageContaining("cannot make templates");
    }

    @Test
    void templatePointsCheckTheirValues() {
        assertThatThrownBy(() -> TemplatePoint.whenListening(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TemplatePoint.whenOutput("(")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("regular expression");
        assertThatThrownBy(() -> TemplatePoint.init().within(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThat(TemplatePoint.whenListening(80).within(Duration.ofSeconds(3)).timeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(TemplatePoint.whenListening(80).isAppPoint()).isTrue();
    }
}
