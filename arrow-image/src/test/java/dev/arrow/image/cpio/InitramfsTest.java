package dev.arrow.image.cpio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.image.GuestPath;
import dev.arrow.image.HostCommand;
import dev.arrow.image.InvalidGuestPathException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitramfsTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void needsCpio() {
        assumeTrue(HostCommand.available("cpio"), "the cpio tool is not installed (Debian package cpio): cannot check archives with it");
    }

    private static byte[] bytes(Initramfs fs) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        fs.writeTo(out);
        return out.toByteArray();
    }

    private Initramfs sample() throws IOException {
        Path host = tmp.resolve("host-tool");
        Files.write(host, "#!/bin/false\nhost bytes\n".getBytes(StandardCharsets.UTF_8));
        Files.setPosixFilePermissions(host, PosixFilePermissions.fromString("rwxr-x---"));
        return Initramfs.builder()
                .file("/arrow/app", host)
                .file("/etc/hostname", "guest\n", 0644)
                .file("/arrow/data/blob", new byte[] {0, 1, 2, 3, 4, 5, 6}, 0600)
                .directory("/var/empty", 0700)
                .symlink("/bin/app", "/arrow/app")
                .blockDevice("/dev/vda", 0660, 254, 0)
                .build();
    }

    @Test
    void realCpioExtractsPathsContentsAndModes() throws IOException {
        Path archive = tmp.resolve("initrd.cpio");
        sample().writeTo(archive);
        Path out = Files.createDirectory(tmp.resolve("out"));
        // Device nodes need root to extract, so they are left out here and checked in the listing test.
        HostCommand.Result r = HostCommand.run(List.of("cpio", "-idm", "--no-absolute-filenames", "-F", archive.toString(),
                "-f", "dev/console", "dev/vda"), out, null, Duration.ofSeconds(30));
        assertThat(r.exitCode()).as(r.stderr()).isZero();

        assertThat(out.resolve("arrow/app")).hasContent("#!/bin/false\nhost bytes");
        assertThat(Files.getPosixFilePermissions(out.resolve("arrow/app"))).isEqualTo(PosixFilePermissions.fromString("rwxr-x---"));
        assertThat(out.resolve("etc/hostname")).hasContent("guest");
        assertThat(Files.readAllBytes(out.resolve("arrow/data/blob"))).containsExactly(0, 1, 2, 3, 4, 5, 6);
        assertThat(Files.getPosixFilePermissions(out.resolve("arrow/data/blob"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.getPosixFilePermissions(out.resolve("var/empty"))).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(Files.getPosixFilePermissions(out.resolve("arrow/data"))).isEqualTo(PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(Files.readSymbolicLink(out.resolve("bin/app"))).isEqualTo(Path.of("/arrow/app"));
        assertThat(Files.getLastModifiedTime(out.resolve("etc/hostname")).toMillis()).isZero();
    }

    @Test
    void listingShowsDeviceNodesParentsFirstAndTheTrailerIsAccepted() throws IOException {
        Path archive = tmp.resolve("initrd.cpio");
        sample().writeTo(archive);
        HostCommand.Result r = HostCommand.run(List.of("cpio", "-itv", "-F", archive.toString()), tmp, null, Duration.ofSeconds(30));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        // GNU cpio complains on stderr about a missing trailer or junk; a clean archive gives only the block count.
        assertThat(r.stderr().trim()).matches("\\d+ blocks?");
        List<String> lines = r.stdoutText().lines().toList();
        assertThat(lines).anySatisfy(l -> assertThat(l).matches("crw-------\\s+1\\s+root\\s+root\\s+5,\\s+1 .* dev/console"));
        assertThat(lines).anySatisfy(l -> assertThat(l).matches("brw-rw----\\s+1\\s+root\\s+root\\s+254,\\s+0 .* dev/vda"));
        List<String> names = lines.stream().map(l -> l.substring(l.lastIndexOf(' ') + 1)).toList();
        assertThat(names).startsWith("dev", "dev/console", "arrow", "arrow/app");
        assertThat(names.indexOf("arrow/data")).isLessThan(names.indexOf("arrow/data/blob"));
        assertThat(lines).anySatisfy(l -> assertThat(l).matches("lrwxrwxrwx .* bin/app -> /arrow/app"));
    }

    @Test
    void sizeIsExactAndOutputIsReproducible() throws IOException {
        Initramfs a = sample();
        byte[] first = bytes(a);
        assertThat(a.size()).isEqualTo(first.length);
        assertThat(first.length % 4).isZero();
        assertThat(bytes(sample())).isEqualTo(first);
        List<CpioWriterTest.Header> headers = CpioWriterTest.parse(first);
        assertThat(headers.get(headers.size() - 1).name()).isEqualTo("TRAILER!!!");
    }

    @Test
    void everyArchiveHasTheConsoleDevice() throws IOException {
        Initramfs empty = Initramfs.builder().build();
        assertThat(empty.paths()).containsExactly(GuestPath.of("/dev"), GuestPath.of("/dev/console"));
        CpioWriterTest.Header console = CpioWriterTest.parse(bytes(empty)).get(1);
        assertThat(console.mode()).isEqualTo(0020600);
        assertThat(console.rdevMajor()).isEqualTo(5);
        assertThat(console.rdevMinor()).isEqualTo(1);
    }

    @Test
    void duplicatePathsAreRejected() {
        Initramfs.Builder b = Initramfs.builder().file("/a", "x", 0644);
        assertThatThrownBy(() -> b.file("/a", "y", 0644))
                .isInstanceOf(InitramfsException.class).hasMessageContaining("/a is added twice");
        assertThatThrownBy(() -> b.characterDevice("/dev/console", 0600, 5, 1)).hasMessageContaining("added twice");
        assertThatThrownBy(() -> b.directory("/a", 0755)).hasMessageContaining("added twice");
    }

    @Test
    void automaticParentMayBeGivenAModeOnceButNotTwice() throws IOException {
        Initramfs.Builder b = Initramfs.builder().file("/opt/tool/bin", "x", 0755).directory("/opt", 0711);
        assertThatThrownBy(() -> b.directory("/opt", 0700)).hasMessageContaining("added twice");
        CpioWriterTest.Header opt = CpioWriterTest.parse(bytes(b.build())).stream()
                .filter(h -> h.name().equals("opt")).findFirst().orElseThrow();
        assertThat(opt.mode()).isEqualTo(0040711);
    }

    @Test
    void childOfAFileIsRejected() {
        Initramfs.Builder b = Initramfs.builder().file("/a", "x", 0644);
        assertThatThrownBy(() -> b.file("/a/b", "y", 0644)).hasMessageContaining("parent /a is a file");
    }

    @Test
    void invalidGuestPathsAndModesAreRejected() {
        Initramfs.Builder b = Initramfs.builder();
        assertThatThrownBy(() -> b.file("relative", "x", 0644)).isInstanceOf(InvalidGuestPathException.class);
        assertThatThrownBy(() -> b.file("/a/../b", "x", 0644)).isInstanceOf(InvalidGuestPathException.class);
        assertThatThrownBy(() -> b.file("/a\0b", "x", 0644)).isInstanceOf(InvalidGuestPathException.class);
        assertThatThrownBy(() -> b.file("/x", "x", 0100644)).hasMessageContaining("outside 07777");
        assertThatThrownBy(() -> b.directory("/", 0755)).hasMessageContaining("root");
    }

    @Test
    void missingHostFileIsNamed() {
        Path missing = tmp.resolve("nope");
        assertThatThrownBy(() -> Initramfs.builder().file("/x", missing, 0644))
                .isInstanceOf(InitramfsException.class).hasMessageContaining(missing.toString()).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> Initramfs.builder().file("/x", tmp, 0644)).hasMessageContaining("not a regular file");
    }

    @Test
    void hostFileChangedAfterBuildFailsTheWrite() throws IOException {
        Path host = tmp.resolve("growing");
        Files.writeString(host, "1234");
        Initramfs fs = Initramfs.builder().file("/g", host, 0644).build();
        Files.writeString(host, "123456789");
        assertThatThrownBy(() -> fs.writeTo(OutputStream.nullOutputStream()))
                .isInstanceOf(IOException.class).hasMessageContaining(host.toString()).hasMessageContaining("changed");
    }

    @Test
    void builderIsReusableAndBuildSnapshots() throws IOException {
        Initramfs.Builder b = Initramfs.builder().file("/one", "1", 0644);
        Initramfs first = b.build();
        b.file("/two", "2", 0644);
        assertThat(first.paths()).doesNotContain(GuestPath.of("/two"));
        assertThat(b.build().paths()).contains(GuestPath.of("/two"));
    }

    @Test
    void mtimeIsConfigurable() throws IOException {
        byte[] archive = bytes(Initramfs.builder().mtime(86400).build());
        Matcher m = Pattern.compile("070701.{8}.{8}.{8}.{8}.{8}(.{8})").matcher(new String(archive, StandardCharsets.US_ASCII));
        assertThat(m.find()).isTrue();
        assertThat(Long.parseLong(m.group(1), 16)).isEqualTo(86400);
    }

    @Test
    void theManifestIsTheLastEntryAndListsEveryOtherWithItsChecksum() throws IOException {
        Initramfs fs = Initramfs.builder().manifest("/arrow/manifest")
                .file("/etc/hostname", "guest\n", 0644)
                .symlink("/bin/sh", "/arrow/app")
                .build();
        assertThat(fs.paths()).last().isEqualTo(GuestPath.of("/arrow/manifest"));
        assertThat(fs.entryCount()).isEqualTo(fs.paths().size());
        byte[] archive = bytes(fs);
        assertThat((long) archive.length).isEqualTo(fs.size());
        String text = new String(archive, StandardCharsets.UTF_8);
        int start = text.indexOf("arrow-manifest 1\0");
        String manifest = text.substring(start, text.indexOf('\0', text.indexOf("\0end ", start) + 1) + 1);
        int hostnameCrc = InitramfsManifest.crc32c("guest\n".getBytes(StandardCharsets.UTF_8), 0, 6);
        int linkCrc = InitramfsManifest.crc32c("/arrow/app".getBytes(StandardCharsets.UTF_8), 0, 10);
        assertThat(manifest).contains(
                "d 0755 0 0 0 00000000 0 0 /dev\0",
                "c 0600 0 0 0 00000000 5 1 /dev/console\0",
                String.format("f 0644 0 0 6 %08x 0 0 /etc/hostname\0", hostnameCrc),
                String.format("l 0777 0 0 10 %08x 0 0 /bin/sh\0", linkCrc),
                "d 0755 0 0 0 00000000 0 0 /arrow\0");
        String body = manifest.substring(0, manifest.indexOf("end "));
        int bodyCrc = InitramfsManifest.crc32c(body.getBytes(StandardCharsets.UTF_8), 0, body.getBytes(StandardCharsets.UTF_8).length);
        // /dev, /dev/console, /arrow, /etc, /etc/hostname, /bin, /bin/sh
        assertThat(manifest).endsWith(String.format("end 7 %08x\0", bodyCrc));
    }

    @Test
    void theManifestsLengthDoesNotDependOnTheContent() throws IOException {
        Path a = tmp.resolve("a");
        Files.writeString(a, "first content");
        Initramfs fs = Initramfs.builder().manifest("/m").file("/a", a, 0644).build();
        long planned = fs.size();
        Files.writeString(a, "other content");
        assertThat((long) bytes(fs).length).isEqualTo(planned);
    }

    @Test
    void theManifestsPathIsItsOwn() {
        assertThatThrownBy(() -> Initramfs.builder().manifest("/arrow/manifest").file("/arrow/manifest", "x", 0644))
                .isInstanceOf(InitramfsException.class).hasMessageContaining("reserved for the image's manifest");
        assertThatThrownBy(() -> Initramfs.builder().file("/m", "x", 0644).manifest("/m"))
                .isInstanceOf(InitramfsException.class).hasMessageContaining("the manifest needs a path of its own");
        assertThatThrownBy(() -> Initramfs.builder().manifest("/m").file("/m/x", "x", 0644))
                .isInstanceOf(InitramfsException.class).hasMessageContaining("is the image's manifest");
    }

    @Test
    void unpackedPagesCountWholePagesOfFilesAndOfLongLinksOnly() {
        Initramfs fs = Initramfs.builder()
                .file("/one-byte", new byte[1], 0644)
                .file("/page-and-a-byte", new byte[4097], 0644)
                .file("/empty", new byte[0], 0644)
                .symlink("/short", "x".repeat(100))
                .symlink("/long", "/" + "y".repeat(200))
                .build();
        assertThat(fs.unpackedPageBytes(128)).isEqualTo(4 * 4096L);
        assertThat(fs.unpackedPageBytes(1000)).isEqualTo(3 * 4096L);
    }
}
