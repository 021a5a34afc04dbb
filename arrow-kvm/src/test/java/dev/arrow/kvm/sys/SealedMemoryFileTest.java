package dev.arrow.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@link SealedMemoryFile} on a real memfd (tier 1). */
class SealedMemoryFileTest {

    @Test
    void holdsWhatWasWrittenReadsZeroElsewhereAndRefusesWrites() throws IOException {
        try (OwnedFd file = SealedMemoryFile.make("sealed-test", 3 * 4096, "a test file", writer -> {
            writer.write(new byte[] {1, 2, 3}, 3, 4096);
            writer.write(new byte[4096], 4096, 8192); // zeros: not written
        })) {
            byte[] page = new byte[4096];
            assertThat(LibC.pread(file.fd(), page, 4096, 4096)).isEqualTo(4096);
            assertThat(page[0]).isEqualTo((byte) 1);
            assertThat(page[2]).isEqualTo((byte) 3);
            assertThat(page[3]).isZero();
            assertThat(LibC.fcntl(file.fd(), LibC.F_GET_SEALS, 0) & SealedMemoryFile.SEALS)
                    .isEqualTo(SealedMemoryFile.SEALS);
            assertThat(LibC.pwrite(file.fd(), new byte[] {9}, 1, 0)).as("a write to the sealed file").isNegative();
            assertThat(LibC.ftruncate(file.fd(), 4096)).as("a shrink").isNotZero();
            assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + file.fd())).toString())
                    .isEqualTo("/memfd:sealed-test (deleted)");
        }
    }

    @Test
    void aFailingWriterLeavesNothingOpen() throws IOException {
        long before;
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            before = fds.count();
        }
        assertThatThrownBy(() -> SealedMemoryFile.make("sealed-test", 4096, "a test file", writer -> {
            throw new IllegalStateException("no bytes");
        })).isInstanceOf(IllegalStateException.class);
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            assertThat(fds.count()).isEqualTo(before);
        }
    }
}
