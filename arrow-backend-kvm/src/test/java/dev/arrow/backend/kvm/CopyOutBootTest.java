package dev.arrow.backend.kvm;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import dev.arrow.ArrowTemplate;
import dev.arrow.GuestFileTooLargeException;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.arrow.backend.kvm.BootTestSupport.BUSYBOX;
import static dev.arrow.backend.kvm.BootTestSupport.assumeBusybox;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Tier 4: files back out of a real guest. A busybox script writes a tree (a binary blob, a generated text file, a
 * link, an empty directory); while it waits on stdin the tree is copied out, a missing path and a limit too small
 * fail cleanly; then it writes its results and exits, and the paths declared with {@code copyOutOnExit} are copied
 * after the guest is gone, byte-exact, the one past the declared bound failing. A template's clone does both too.
 */
@BootTest
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class CopyOutBootTest {

    @TempDir
    Path host;

    @BeforeAll
    static void prerequisites() {
        assumeBusybox();
    }

    @Test
    void aTreeWhileTheProgramRunsAndDeclaredPathsAfterItEndedAreCopiedByteExact() throws Exception {
        byte[] blob = new byte[1_500_000];
        new Random(24).nextBytes(blob);
        String numbers = IntStream.rangeClosed(1, 20_000).mapToObj(Integer::toString).collect(Collectors.joining("\n", "", "\n"));
        String script = "mkdir -p /work/tree/sub /work/tree/empty && cp /in/blob /work/tree/blob"
                + " && seq 1 20000 > /work/tree/sub/numbers && ln -s sub/numbers /work/tree/link && chmod 0750 /work/tree/sub"
                + " && echo ready && read line;"
                + " mkdir -p /out/d && cp /in/blob /out/d/blob && echo done > /out/result.txt"
                + " && cp /in/blob /big && exit 7";
        try (ArrowProcess p = Arrow.of(BUSYBOX).args("sh", "-c", script).memory(128, MiB).file(blob, "/in/blob")
                .copyOutOnExit("/out", "/big").copyOutOnExitLimit(2, MiB).start()) {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("ready");

            p.copyFileFromGuest("/work/tree", host.resolve("tree"));
            assertThat(host.resolve("tree/blob")).hasBinaryContent(blob);
            assertThat(Files.readString(host.resolve("tree/sub/numbers"))).isEqualTo(numbers);
            assertThat(Files.readSymbolicLink(host.resolve("tree/link"))).isEqualTo(Path.of("sub/numbers"));
            assertThat(host.resolve("tree/empty")).isEmptyDirectory();
            assertThat(Files.getPosixFilePermissions(host.resolve("tree/sub"))).hasSize(5); // rwxr-x---

            assertThatThrownBy(() -> p.copyFileFromGuest("/work/missing", host.resolve("missing")))
                    .isInstanceOf(NoSuchFileException.class).hasMessageContaining("/work/missing");
            assertThatThrownBy(() -> p.copyFileFromGuest("/work/tree", host.resolve("small"), 100_000))
                    .isInstanceOf(GuestFileTooLargeException.class).hasMessageContaining("/work/tree");
            assertThat(names(host)).containsExactly("tree");

            p.getOutputStream().close(); // the script goes on: its results, then exit 7
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the program ended").isTrue();
            assertThat(p.exitValue()).isEqualTo(7);

            p.copyFileFromGuest("/out", host.resolve("out"));
            p.copyFileFromGuest("/out/result.txt", host.resolve("result.txt"));
            assertThat(host.resolve("out/d/blob")).hasBinaryContent(blob);
            assertThat(host.resolve("result.txt")).hasContent("done");
            assertThatThrownBy(() -> p.copyFileFromGuest("/big", host.resolve("big")))
                    .isInstanceOf(GuestFileTooLargeException.class).hasMessageContaining("/big");
            assertThatThrownBy(() -> p.copyFileFromGuest("/work/tree", host.resolve("late")))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("copyOutOnExit(\"/work/tree\")");
            assertThat(names(host)).containsExactlyInAnyOrder("tree", "out", "result.txt");
        }
    }

    @Test
    void aCloneOfATemplateCopiesWhileRunningAndSendsItsDeclaredPathsWhenItEnds() throws Exception {
        String script = "mkdir -p /out && echo \"$1\" > /out/name && echo ready && read line; echo bye >> /out/name";
        try (ArrowTemplate template = Arrow.of(BUSYBOX).args("true").memory(64, MiB).template();
             ArrowProcess p = template.start(c -> c.args("sh", "-c", script, "sh", "clone-1").copyOutOnExit("/out"))) {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("ready");
            p.copyFileFromGuest("/out/name", host.resolve("running"));
            assertThat(host.resolve("running")).hasContent("clone-1");
            p.getOutputStream().close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the clone ended").isTrue();
            p.copyFileFromGuest("/out", host.resolve("ended"));
            assertThat(Files.readString(host.resolve("ended/name"))).isEqualTo("clone-1\nbye\n");
        }
    }

    private static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString()).toList();
        }
    }
}
