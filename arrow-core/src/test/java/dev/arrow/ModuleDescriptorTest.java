package dev.arrow;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The API module's boundary as its users on the module path see it: only the API and the SPI are
 * exported, and it reads nothing of Arrow but the spec (no VMM, no JNA, no image code).
 */
class ModuleDescriptorTest {

    private static ModuleDescriptor arrowCore() throws Exception {
        Path classes = Path.of(Arrow.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return ModuleFinder.of(classes).find("dev.arrow").orElseThrow().descriptor();
    }

    @Test
    void onlyTheApiAndTheSpiAreExported() throws Exception {
        assertThat(arrowCore().exports()).allMatch(e -> !e.isQualified())
                .extracting(ModuleDescriptor.Exports::source).containsExactlyInAnyOrder("dev.arrow", "dev.arrow.spi");
    }

    @Test
    void itReadsTheSpecAndNoOtherArrowModule() throws Exception {
        assertThat(arrowCore().requires().stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder("java.base", "dev.arrow.config", "org.slf4j", "jdk.jfr");
        assertThat(arrowCore().uses()).containsExactly("dev.arrow.spi.ArrowLauncher");
    }
}
