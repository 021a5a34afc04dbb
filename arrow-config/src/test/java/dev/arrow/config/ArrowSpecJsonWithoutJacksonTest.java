package dev.arrow.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import org.junit.jupiter.api.Test;

/**
 * Tier 1: Jackson is an optional dependency of arrow-config. Without it on the class path, the spec
 * still builds and the JSON form fails naming the dependency to add, instead of a NoClassDefFoundError.
 */
class ArrowSpecJsonWithoutJacksonTest {
    @Test
    void withoutJacksonTheJsonFormNamesTheDependencyToAdd() throws Exception {
        URL classes = ArrowSpecJson.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader alone = new URLClassLoader(new URL[] {classes}, ClassLoader.getPlatformClassLoader())) {
            assertThat(alone.getResource("com/fasterxml/jackson/databind/ObjectMapper.class")).isNull();
            Class<?> json = alone.loadClass(ArrowSpecJson.class.getName());
            assertThat(json.getClassLoader()).isSameAs(alone);
            Method read = json.getMethod("read", String.class);
            assertThatThrownBy(() -> read.invoke(null, "{\"binary\": \"/bin/true\"}"))
                    .isInstanceOf(InvocationTargetException.class)
                    .cause().isInstanceOf(IllegalStateException.class)
                    .hasMessage("the JSON form of an arrow spec needs Jackson, an optional dependency of arrow-config:"
                            + " add com.fasterxml.jackson.core:jackson-databind (2.x) to your project");
            // the rest of arrow-config needs no Jackson
            Object builder = alone.loadClass(ArrowSpec.class.getName()).getMethod("builder", java.nio.file.Path.class)
                    .invoke(null, java.nio.file.Path.of("/bin/true"));
            assertThat(builder.getClass().getMethod("build").invoke(builder)).isNotNull();
        }
    }
}
