package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.config.LinuxLimits;
import dev.arrow.config.Rlimit;
import dev.arrow.config.RlimitResource;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LaunchSpecTest {
    @Test
    void defaultsRunTheAppAsRootWithArgv0ItsPath() {
        LaunchSpec s = LaunchSpec.builder().args("a", "b").build();
        assertThat(s.executable().value()).isEqualTo("/arrow/app");
        assertThat(s.argv()).containsExactly("/arrow/app", "a", "b");
        assertThat(s.environment()).isEmpty();
        assertThat(s.uid()).isEmpty();
        assertThat(s.workingDirectory()).isEmpty();
        assertThat(s.killGrace()).isEmpty();
    }

    @Test
    void environmentKeepsOrderAndReplacesByName() {
        LaunchSpec s = LaunchSpec.builder().env("B", "1").env("A", "2").env("B", "3").build();
        assertThat(s.environment()).containsExactly(java.util.Map.entry("B", "3"), java.util.Map.entry("A", "2"));
    }

    @Test
    void stringsExecveCannotPassAreRejected() {
        LaunchSpec.Builder b = LaunchSpec.builder();
        assertThatThrownBy(() -> b.args("ok", "bad\0")).isInstanceOf(InvalidLaunchSpecException.class)
                .hasMessageContaining("argument 2").hasMessageContaining("NUL");
        assertThatThrownBy(() -> b.env("A=B", "x")).hasMessageContaining("contains '='");
        assertThatThrownBy(() -> b.env("", "x")).hasMessageContaining("empty");
        assertThatThrownBy(() -> b.env("V", "\0")).hasMessageContaining("NUL");
        assertThatThrownBy(() -> b.args("z".repeat(LinuxLimits.MAX_ARG_BYTES + 1))).hasMessageContaining("MAX_ARG_STRLEN");
        assertThat(b.args("z".repeat(LinuxLimits.MAX_ARG_BYTES)).build().argv()).hasSize(2);
    }

    @Test
    void pathsIdsHostnameAndGraceAreChecked() {
        LaunchSpec.Builder b = LaunchSpec.builder();
        assertThatThrownBy(() -> b.executable("app")).isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("executable");
        assertThatThrownBy(() -> b.workingDirectory("/a/../b")).hasMessageContaining("working directory");
        assertThatThrownBy(() -> b.uid(-1)).hasMessageContaining("uid -1");
        assertThatThrownBy(() -> b.gid(4294967295L)).hasMessageContaining("gid 4294967295");
        assertThatThrownBy(() -> b.hostname("-x")).hasMessageContaining("hostname");
        assertThatThrownBy(() -> b.hostname("a".repeat(65))).hasMessageContaining("hostname");
        assertThatThrownBy(() -> b.hostname("a b")).hasMessageContaining("hostname");
        assertThatThrownBy(() -> b.killGrace(Duration.ofSeconds(61))).hasMessageContaining("60 s");
        assertThatThrownBy(() -> b.killGrace(Duration.ofMillis(-1))).hasMessageContaining("60 s");
    }

    @Test
    void resourceLimitsNeedSoftAtMostHard() {
        LaunchSpec.Builder b = LaunchSpec.builder();
        assertThatThrownBy(() -> b.limit(new Rlimit(RlimitResource.NOFILE, 10, 5)))
                .isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("above");
        assertThatThrownBy(() -> b.limit(new Rlimit(RlimitResource.NOFILE, Rlimit.UNLIMITED, 5)))
                .hasMessageContaining("unlimited");
        assertThatThrownBy(() -> b.limit(new Rlimit(RlimitResource.NOFILE, -2, 5))).hasMessageContaining("negative");
        assertThat(b.limit(new Rlimit(RlimitResource.NOFILE, 5, Rlimit.UNLIMITED)).build().limits())
                .containsExactly(new Rlimit(RlimitResource.NOFILE, 5, Rlimit.UNLIMITED));
    }

    @Test
    void builderIsReusable() {
        LaunchSpec.Builder b = LaunchSpec.builder().args("one");
        LaunchSpec first = b.build();
        b.args("two").env("X", "1");
        assertThat(first.argv()).containsExactly("/arrow/app", "one");
        assertThat(first.environment()).isEmpty();
        assertThat(b.build().argv()).containsExactly("/arrow/app", "two");
    }
}
