package dev.arrow.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Coverage-guided fuzzing (Jazzer) of the JSON spec reader on arbitrary bytes (decoded as UTF-8, as
 * {@link ArrowSpecJson#read(java.nio.file.Path)} does): the answer is an {@link ArrowSpec} or a
 * {@link SpecException} naming at least one problem, never another exception; a spec that was read
 * writes back to JSON that reads as the same spec.
 *
 * <p>A plain {@code mvn test} replays the corpus in
 * {@code src/test/resources/dev/arrow/config/SpecJsonGuidedFuzzTestInputs/}; {@code scripts/fuzz}
 * fuzzes it.
 */
class SpecJsonGuidedFuzzTest {

    @FuzzTest
    void anyBytesGiveASpecOrASpecError(byte[] bytes) {
        String json = new String(bytes, StandardCharsets.UTF_8);
        ArrowSpec spec;
        try {
            spec = ArrowSpecJson.read(json);
        } catch (SpecException expected) {
            assertThat(expected.problems()).isNotEmpty();
            return;
        }
        assertThat(ArrowSpecJson.read(ArrowSpecJson.write(spec))).isEqualTo(spec);
    }
}
