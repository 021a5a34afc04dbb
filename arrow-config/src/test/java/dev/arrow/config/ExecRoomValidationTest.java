package dev.arrow.config;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 1: argv and environment that execve would refuse (E2BIG) are refused when the spec is built. */
class ExecRoomValidationTest {
    private static final String CHUNK = "a".repeat(100_000); // below MAX_ARG_STRLEN each

    private static ArrowSpec.Builder withArgs(int count) {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < count; i++) args.add(CHUNK);
        return ArrowSpec.builder(Path.of("/bin/app")).args(args);
    }

    @Test
    void argumentsAboveAQuarterOfTheDefaultStackLimitAreRefused() {
        assertThat(withArgs(20).build().args()).hasSize(20); // 2,000,000 bytes: fits 2 MiB
        assertThatThrownBy(() -> withArgs(21).build())
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("$.args: the arguments and environment take")
                .hasMessageContaining("more than the 2097152 Linux accepts (a quarter of the stack limit, 8388608 bytes)")
                .hasMessageContaining("pass large data in a file (file(...)) or raise rlimit stack");
    }

    @Test
    void theEnvironmentCountsToo() {
        ArrowSpec.Builder b = withArgs(15);
        for (int i = 0; i < 6; i++) b.env("V" + i, CHUNK);
        assertThatThrownBy(b::build).isInstanceOf(SpecException.class).hasMessageContaining("the arguments and environment take");
    }

    @Test
    void aLargerStackLimitGivesMoreRoomUpToSixMiB() {
        assertThat(withArgs(40).rlimit(RlimitResource.STACK, 32L << 20, Rlimit.UNLIMITED).build().args()).hasSize(40);
        assertThatThrownBy(() -> withArgs(63).rlimit(RlimitResource.STACK, Rlimit.UNLIMITED, Rlimit.UNLIMITED).build())
                .isInstanceOf(SpecException.class).hasMessageContaining("more than the 6291456 Linux accepts");
    }

    @Test
    void aSmallStackLimitStillLeavesLinuxsMinimum() {
        assertThat(ArrowSpec.builder(Path.of("/bin/app")).args(CHUNK).rlimit(RlimitResource.STACK, 64 * 1024, 64 * 1024)
                .memory(64, MiB).build().args()).hasSize(1);
        assertThatThrownBy(() -> ArrowSpec.builder(Path.of("/bin/app")).args(CHUNK, CHUNK)
                .rlimit(RlimitResource.STACK, 64 * 1024, 64 * 1024).build())
                .isInstanceOf(SpecException.class).hasMessageContaining("more than the 131072 Linux accepts");
    }
}
