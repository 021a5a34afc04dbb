package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemoryPerArrowTest {
    @Test
    void openFdsCountsAFileThisJvmOpens(@TempDir Path dir) throws Exception {
        Path file = Files.createFile(dir.resolve("f"));
        long before = MemoryPerArrow.openFds();
        try (FileChannel ch = FileChannel.open(file)) {
            assertThat(MemoryPerArrow.openFds()).isEqualTo(before + 1);
        }
        assertThat(MemoryPerArrow.openFds()).isEqualTo(before);
    }
}
