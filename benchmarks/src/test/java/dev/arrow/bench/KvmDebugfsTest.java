package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvmDebugfsTest {
    @TempDir
    Path dir;

    @Test
    void readsPlainCountersAndSkipsEverythingElse() throws Exception {
        Files.writeString(dir.resolve("exits"), "6317\n");
        Files.writeString(dir.resolve("io_exits"), "453\n");
        Files.writeString(dir.resolve("halt_wait_hist"), "1 2 3\n");
        Files.createDirectory(dir.resolve("vcpu0"));
        assertThat(KvmDebugfs.read(dir)).containsOnlyKeys("exits", "io_exits").containsEntry("exits", 6317L);
    }
}
