package dev.arrow.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.BackendUnavailableException;
import java.net.URL;
import java.net.URLClassLoader;
import org.junit.jupiter.api.Test;

/** How {@link dev.arrow.Arrow#start()} finds its backend, and what it says when there is none. */
class LaunchersTest {

    @Test
    void withoutARegisteredBackendTheErrorSaysHowToGetOne() throws Exception {
        try (URLClassLoader empty = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader())) {
            assertThatThrownBy(() -> Launchers.discover(empty))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessage("no Arrow backend is available: no dev.arrow.spi.ArrowLauncher is registered on the class"
                            + " path; add the KVM backend (dev.arrow:arrow-backend-kvm) to the class path, or pass one with Arrow.launcher(...)");
        }
    }
}
