package dev.arrow.image;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.image.init.Stdio;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link GuestImage#assemble} puts into the initramfs (tier 1: the archive is parsed back). */
class GuestImageTest {

    @TempDir
    Path dir;

    /** Regular-file and directory permission bits of each archive entry, by name; read independently of the writer. */
    private static Map<String, Integer> permissions(byte[] archive) {
        Map<String, Integer> result = new LinkedHashMap<>();
        int pos = 0;
        while (true) {
            String header = new String(archive, pos, 110, StandardCharsets.US_ASCII);
            assertThat(header).startsWith("070701");
            int mode = Integer.parseInt(header.substring(14, 22), 16);
            long size = Long.parseLong(header.substring(54, 62), 16);
            int nameSize = Integer.parseInt(header.substring(94, 102), 16);
            String name = new String(archive, pos + 110, nameSize - 1, StandardCharsets.UTF_8);
            if (name.equals("TRAILER!!!")) return result;
            result.put(name, mode & 07777);
            int data = align4(pos + 110 + nameSize);
            pos = align4(data + (int) size);
        }
    }

    private static int align4(int n) {
        return (n + 3) & ~3;
    }

    private Path hostFile(String name, String permissions) throws IOException {
        Path p = Files.writeString(dir.resolve(name), "#!/bin/true\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(permissions));
        return p;
    }

    private Path app() throws IOException {
        return Files.write(dir.resolve("app"), new byte[]{0x7f, 'E', 'L', 'F'});
    }

    private Map<String, Integer> assembled(ArrowSpec spec) {
        return permissions(GuestImage.assemble(spec, dir.resolve("vmlinux"), Stdio.SERIAL).initramfsBytes());
    }

    private Map<String, Integer> assembled(GuestFile... files) throws IOException {
        ArrowSpec.Builder spec = ArrowSpec.builder(app());
        for (GuestFile f : files) spec.file(f);
        return assembled(spec.build());
    }

    @Test
    void aHostFileKeepsItsPermissionBits() throws IOException {
        ArrowSpec spec = ArrowSpec.builder(app())
                .file(GuestFile.fromHost(hostFile("tool", "rwxr-xr-x"), "/bin/tool"))
                .file(GuestFile.fromHost(hostFile("secret", "rw-------"), "/etc/secret"))
                .build();
        assertThat(assembled(spec)).containsEntry("bin/tool", 0755).containsEntry("etc/secret", 0600);
    }

    @Test
    void anExplicitModeWinsOverTheHostFilesBits() throws IOException {
        Map<String, Integer> modes = assembled(
                GuestFile.fromHost(hostFile("tool", "rwxr-xr-x"), "/bin/tool").withMode(0600),
                GuestFile.fromHost(hostFile("data", "rw-r--r--"), "/bin/data").withMode(0711));
        assertThat(modes).containsEntry("bin/tool", 0600).containsEntry("bin/data", 0711);
    }

    @Test
    void contentIs0644UnlessAModeIsGiven() throws IOException {
        Map<String, Integer> modes = assembled(
                GuestFile.ofText("hi\n", "/etc/motd"),
                GuestFile.ofText("#!/bin/true\n", "/bin/script").withMode(0755));
        assertThat(modes).containsEntry("etc/motd", 0644).containsEntry("bin/script", 0755);
    }
}
