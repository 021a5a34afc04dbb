package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.spi.ArrowLauncher;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** The backend's jar registers its launcher, so that {@code Arrow.start()} finds it with no set-up. */
class KvmLauncherRegistrationTest {

    @Test
    void theKvmLauncherIsTheRegisteredArrowLauncher() {
        assertThat(ServiceLoader.load(ArrowLauncher.class).stream().map(ServiceLoader.Provider::type))
                .containsExactly(KvmLauncher.class);
    }
}
