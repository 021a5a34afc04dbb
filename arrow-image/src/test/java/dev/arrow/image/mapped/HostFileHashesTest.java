package dev.arrow.image.mapped;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.image.erofs.ContentId;
import dev.arrow.image.erofs.ImageFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: host file hashes remembered per file version, in memory and across instances (JVMs). */
class HostFileHashesTest {
    /** A clock an hour ahead: every file counts as settled, so every hash is remembered. */
    private static final Clock LATER = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));

    @TempDir
    Path tmp;

    private HostFileHashes hashes(Clock clock) {
        return new HostFileHashes(tmp.resolve(HostFileHashes.STORE), clock);
    }

    @Test
    void anUnchangedFileIsHashedOnceAndItsHashSurvivesTheInstance() throws IOException {
        Path app = Files.write(tmp.resolve("app"), ImageCacheTest.random(300_000, 1));
        HostFileHashes first = hashes(LATER);
        HostFileHashes.Hash hash = first.hash(app);
        assertThat(first.hash(app)).isEqualTo(hash);
        assertThat(first.filesHashed()).isEqualTo(1);
        first.save();

        HostFileHashes next = hashes(LATER);
        assertThat(next.hash(app)).isEqualTo(hash).isEqualTo(new HostFileHashes.Hash(300_000, sha256(Files.readAllBytes(app))));
        assertThat(next.filesHashed()).isZero();
    }

    @Test
    void aChangedFileIsHashedAgainAlsoByTheNextInstance() throws IOException {
        Path app = Files.write(tmp.resolve("app"), ImageCacheTest.random(300_000, 2));
        Files.setLastModifiedTime(app, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
        HostFileHashes first = hashes(LATER);
        HostFileHashes.Hash before = first.hash(app);
        first.save();

        byte[] changed = ImageCacheTest.random(300_000, 3);
        Files.write(app, changed);
        // another mtime: with a clock that settles every file, a change within one tick of the ctime would go unseen
        Files.setLastModifiedTime(app, FileTime.from(Instant.parse("2020-01-02T00:00:00Z")));
        assertThat(first.hash(app).sha256()).isNotEqualTo(before.sha256()).isEqualTo(sha256(changed));
        HostFileHashes next = hashes(LATER);
        assertThat(next.hash(app).sha256()).isEqualTo(sha256(changed));
        assertThat(next.filesHashed()).isEqualTo(1);
    }

    @Test
    void aFileWrittenJustNowIsNotRemembered() throws IOException {
        Path app = Files.write(tmp.resolve("app"), new byte[] {1, 2, 3});
        HostFileHashes hashes = hashes(Clock.systemUTC());
        hashes.hash(app);
        hashes.hash(app);
        assertThat(hashes.filesHashed()).as("its times might not change with its next write").isEqualTo(2);
        hashes.save();
        assertThat(tmp.resolve(HostFileHashes.STORE)).doesNotExist();
    }

    @Test
    void entriesOfFilesThatWentAwayAreDroppedAndABadStoreIsIgnored() throws IOException {
        Path gone = Files.write(tmp.resolve("gone"), new byte[] {1});
        Path kept = Files.write(tmp.resolve("kept with spaces"), new byte[] {2});
        HostFileHashes first = hashes(LATER);
        first.hash(gone);
        first.hash(kept);
        first.save();
        Files.delete(gone);
        Files.writeString(tmp.resolve(HostFileHashes.STORE), "junk line\n" + "0".repeat(64) + " 1 2 x 4 5 /p\n", java.nio.file.StandardOpenOption.APPEND);
        HostFileHashes second = hashes(LATER);
        second.hash(Files.write(tmp.resolve("new"), new byte[] {3}));
        second.save();

        String store = Files.readString(tmp.resolve(HostFileHashes.STORE));
        assertThat(store).startsWith("arrow host-file-hashes 1\n").contains(kept.toString(), tmp.resolve("new").toString())
                .doesNotContain(gone + "\n", "junk");
        assertThat(store.lines()).hasSize(3);

        Files.writeString(tmp.resolve(HostFileHashes.STORE), "not a store\n");
        HostFileHashes third = hashes(LATER);
        assertThat(third.hash(kept).sha256()).isEqualTo(sha256(new byte[] {2}));
        assertThat(third.filesHashed()).isEqualTo(1);
    }

    @Test
    void aMissingOrIrregularFileIsNamed() {
        HostFileHashes hashes = hashes(LATER);
        assertThatThrownBy(() -> hashes.hash(tmp.resolve("none"))).isInstanceOf(ImageFileException.class)
                .hasMessage("host file " + tmp.resolve("none") + " does not exist: fix the path or create the file");
        assertThatThrownBy(() -> hashes.hash(tmp)).isInstanceOf(ImageFileException.class).hasMessageContaining("is not a regular file");
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(ContentId.sha256().digest(bytes));
    }
}
