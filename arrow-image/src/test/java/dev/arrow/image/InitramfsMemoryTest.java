package dev.arrow.image;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.image.cpio.Initramfs;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: the rule that says how much guest RAM an initramfs needs to arrive whole. */
class InitramfsMemoryTest {
    private static final long MiB = 1 << 20;

    @TempDir
    Path tmp;

    /** A sparse host file of {@code bytes}: its size is what the rule looks at. */
    private Path sized(String name, long bytes) throws IOException {
        Path p = tmp.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    private static InitramfsMemory needs(Initramfs.Builder b) {
        return InitramfsMemory.of(b.build());
    }

    @Test
    void theRequiredRamLeavesTheRootFileSystemRoomForTheUnpackedFilesWhileTheArchiveIsReserved() throws IOException {
        InitramfsMemory m = needs(Initramfs.builder().file("/data", sized("data", 64 * MiB), 0644));
        long ram = m.requiredRamBytes();
        assertThat(m.rootFileSystemBytes(ram)).isGreaterThanOrEqualTo(m.unpackedBytes() + InitramfsMemory.MARGIN_MIB * MiB);
        // and it is the least such size, to the page
        assertThat(m.rootFileSystemBytes(ram - 2 * 4096)).isLessThan(m.unpackedBytes() + InitramfsMemory.MARGIN_MIB * MiB);
        // about kernel + archive + twice the files
        assertThat(ram).isBetween(16 * MiB + 3 * 64 * MiB, 16 * MiB + 3 * 64 * MiB + 16 * MiB);
    }

    @Test
    void aFileJustBelowTheLimitFitsAndOnePageMoreDoesNot() throws IOException {
        long ram = 128 * MiB;
        long lo = 0;
        long hi = 128 * MiB;
        while (hi - lo > 1) { // the largest file that fits 128 MiB
            long mid = (lo + hi) / 2;
            if (needs(Initramfs.builder().file("/f", sized("f" + mid, mid), 0644)).fits(ram)) lo = mid;
            else hi = mid;
        }
        assertThat(lo).as("largest file in 128 MiB").isBetween(30 * MiB, 40 * MiB);
        assertThat(needs(Initramfs.builder().file("/f", sized("a", lo), 0644)).fits(ram)).isTrue();
        assertThat(needs(Initramfs.builder().file("/f", sized("b", lo + 4096), 0644)).fits(ram)).isFalse();
    }

    @Test
    void aBinaryCountsLikeAnyOtherFile() throws IOException {
        InitramfsMemory asApp = needs(Initramfs.builder().file("/arrow/app", sized("app", 95 * MiB), 0755));
        InitramfsMemory asData = needs(Initramfs.builder().file("/arrow/app", sized("data", 95 * MiB), 0644));
        assertThat(asApp.requiredRamBytes()).isEqualTo(asData.requiredRamBytes());
        assertThat(asApp.fits(128 * MiB)).isFalse();
        // (16 + 95 + 2 * (95 + 2)) * 64 / 63 = 310 MiB, rounded up to 16 MiB steps
        assertThat(asApp.suggestedRamBytes(0)).isEqualTo(320 * MiB);
    }

    @Test
    void aBinaryAndFilesAreSummedAndEachIsRoundedToWholePages() throws IOException {
        Initramfs.Builder both = Initramfs.builder()
                .file("/arrow/app", sized("app", 20 * MiB), 0755)
                .file("/data/one", sized("one", 10 * MiB), 0644);
        for (int i = 0; i < 256; i++) both.file("/data/small" + i, new byte[1], 0644); // 256 pages for 256 bytes
        InitramfsMemory m = needs(both);
        assertThat(m.unpackedBytes()).isEqualTo(30 * MiB + 256 * 4096L);
        InitramfsMemory appOnly = needs(Initramfs.builder().file("/arrow/app", sized("app2", 30 * MiB), 0755));
        assertThat(m.requiredRamBytes()).isGreaterThan(appOnly.requiredRamBytes() + 2 * MiB);
    }

    @Test
    void suggestionsAreWhole16MiBStepsAndNeverBelowTheFloor() throws IOException {
        InitramfsMemory m = needs(Initramfs.builder().file("/f", sized("f", 50 * MiB), 0644));
        assertThat(m.suggestedRamBytes(0) % (16 * MiB)).isZero();
        assertThat(m.suggestedRamBytes(0)).isGreaterThanOrEqualTo(m.requiredRamBytes()).isLessThan(m.requiredRamBytes() + 16 * MiB);
        assertThat(m.suggestedRamBytes(1024 * MiB)).isEqualTo(1024 * MiB);
        InitramfsMemory tiny = needs(Initramfs.builder().file("/f", "x", 0644));
        assertThat(tiny.fits(32 * MiB)).isTrue();
    }

    @Test
    void theShortfallNamesWhatIsNeededWhatWasGivenAndWhatToAskFor() throws IOException {
        InitramfsMemory m = needs(Initramfs.builder().file("/f", sized("f", 64 * MiB), 0644));
        assertThat(m.shortfall(128 * MiB))
                .startsWith("guest RAM too small for the files given: " + (m.requiredRamBytes() + MiB - 1) / MiB + " MiB needed")
                .contains("64 MiB of files unpacked", "128 MiB given", "ask for memory(" + m.suggestedRamBytes(0) / MiB + ", MiB)");
    }
}
