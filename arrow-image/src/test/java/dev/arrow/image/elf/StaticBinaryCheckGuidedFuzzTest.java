package dev.arrow.image.elf;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;

/**
 * Coverage-guided fuzzing (Jazzer) of the static-binary check on arbitrary file bytes (ELF
 * identification, header, program headers, interpreter strings, truncations): the answer is a
 * {@link StaticBinary} or an {@link BinaryCheckException} with a reason and a message, never
 * another exception.
 *
 * <p>A plain {@code mvn test} replays the corpus in
 * {@code src/test/resources/dev/arrow/image/elf/StaticBinaryCheckGuidedFuzzTestInputs/};
 * {@code scripts/fuzz} fuzzes it.
 */
class StaticBinaryCheckGuidedFuzzTest {
    /** One file rewritten for every input: the check reads a path. */
    static final Path FILE = createFile();

    @FuzzTest
    void anyFileBytesGiveAStaticBinaryOrAnInvalidBinaryError(byte[] bytes) throws IOException {
        Files.write(FILE, bytes);
        try {
            StaticBinary binary = StaticBinaryCheck.check(FILE);
            assertThat(binary).isNotNull();
        } catch (BinaryCheckException expected) {
            assertThat(expected.reason()).isNotNull();
            assertThat(expected.getMessage()).contains(FILE.toString());
        }
    }

    @AfterAll
    static void removeFile() throws IOException {
        Files.deleteIfExists(FILE);
    }

    private static Path createFile() {
        try {
            return Files.createTempFile("arrow-elf-fuzz", ".bin");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
