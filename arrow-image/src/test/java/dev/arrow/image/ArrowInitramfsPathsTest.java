package dev.arrow.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Tier 1: the guest paths a user file may not take, and init's mounts as init.c makes them. */
class ArrowInitramfsPathsTest {

    @Test
    void theMountPointsAreThoseInitMounts() throws IOException {
        String init = Files.readString(Path.of("src/main/c/init.c"));
        String mountAll = init.substring(init.indexOf("static void mount_all(void)"));
        mountAll = mountAll.substring(0, mountAll.indexOf("\n}\n"));
        List<String> targets = new ArrayList<>();
        Matcher m = Pattern.compile("must_mount\\(\"\\w+\", \"([^\"]+)\"|mount\\(\"devpts\", \"([^\"]+)\"").matcher(mountAll);
        while (m.find()) targets.add(m.group(1) != null ? m.group(1) : m.group(2));
        assertThat(targets).containsExactlyInAnyOrderElementsOf(ArrowInitramfs.INIT_MOUNT_POINTS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/init", "/arrow", "/arrow/app", "/arrow/manifest", "/arrow/extra/file"})
    void arrowsOwnPathsAreRefusedNamingAnotherPlace(String path) {
        assertThat(ArrowInitramfs.userFileProblem(path)).hasValueSatisfying(p -> assertThat(p)
                .startsWith("guest path \"" + path + "\" is Arrow's own").contains("put the file elsewhere, e.g. \"/data/"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/tmp/input", "/run/x", "/dev/sda", "/dev/shm/seg", "/proc/cpuinfo", "/sys", "/tmp"})
    void pathsUnderInitsMountsAreRefusedAsHidden(String path) {
        assertThat(ArrowInitramfs.userFileProblem(path)).hasValueSatisfying(p -> assertThat(p)
                .startsWith("guest path \"" + path + "\" would be hidden: init mounts a file system on"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/data/file", "/etc/app.conf", "/arrowhead", "/initrd", "/tmpdata/x", "/usr/dev/x"})
    void otherPathsAreFine(String path) {
        assertThat(ArrowInitramfs.userFileProblem(path)).isEmpty();
    }
}
