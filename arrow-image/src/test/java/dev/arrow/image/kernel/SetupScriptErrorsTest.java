package dev.arrow.image.kernel;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The set-up scripts' answers to a wrong environment (issue: "not root for set-up, no /dev/kvm,
 * missing package, too little disk for the kernel build"): each fails, or warns, with a message
 * that names the problem and the fix.
 */
class SetupScriptErrorsTest {
    private static Path root;

    @BeforeAll
    static void findScripts() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("scripts/setup.sh"))) {
                root = dir;
                return;
            }
        }
        throw new AssertionError("scripts/setup.sh not found above " + Path.of("").toAbsolutePath());
    }

    private record Result(int status, String output) {
    }

    private static Result run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out);
    }

    private static boolean isRoot() throws IOException, InterruptedException {
        return run("id", "-u").output().trim().equals("0");
    }

    @Test
    void setUpAsAnOrdinaryUserSaysToRunItAsRoot() throws Exception {
        List<String> command = new ArrayList<>();
        Path scripts = root.resolve("scripts");
        Path copy = null;
        if (isRoot()) { // drop to nobody for this one run, on a copy nobody can read wherever the clone is
            copy = Files.createTempDirectory("arrow-setup", PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwxr-xr-x")));
            for (String f : new String[] {"setup.sh", "lib.sh"}) {
                Files.copy(root.resolve("scripts").resolve(f), copy.resolve(f));
                Files.setPosixFilePermissions(copy.resolve(f), PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            scripts = copy;
            command.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        }
        command.add(scripts.resolve("setup.sh").toString());
        try {
            Result r = run(command.toArray(String[]::new));
            assertThat(r.status()).as(r.output()).isEqualTo(1);
            assertThat(r.output()).contains("[setup] error: run as root (it installs Debian packages): sudo ");
        } finally {
            if (copy != null) {
                for (String f : new String[] {"setup.sh", "lib.sh"}) {
                    Files.deleteIfExists(copy.resolve(f));
                }
                Files.delete(copy);
            }
        }
    }

    @Test
    void aMissingCommandNamesTheDebianPackage() throws Exception {
        Result r = run("bash", "-c", "source scripts/lib.sh; ARROW_STEP=kernel; need_cmd arrow-no-such-tool some-package");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.output().trim()).isEqualTo("[kernel] error: 'arrow-no-such-tool' not found: install the Debian"
                + " package 'some-package' (run scripts/setup.sh as root)");
    }

    @Test
    void tooLittleDiskForTheKernelBuildSaysHowMuchAndWhatToDo() throws Exception {
        // more than any disk has: the check must refuse, naming what is free and the way out
        Result r = run("bash", "-c", "source scripts/lib.sh; ARROW_STEP=kernel; need_disk /tmp 1000000000");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.output()).matches("(?s)\\[kernel\\] error: only \\d+ MiB free under /tmp, need 1000000000 GiB:"
                + " free some disk or set ARROW_CACHE to a bigger file system\\s*");
        Result enough = run("bash", "-c", "source scripts/lib.sh; need_disk /tmp 0 && echo ok");
        assertThat(enough.output().trim()).isEqualTo("ok");
    }

    @Test
    void aHostWithoutDevKvmIsReportedAsHavingNone() throws Exception {
        assumeTrue(isRoot(), "needs root: hides /dev/kvm in a private mount namespace");
        assumeTrue(run("unshare", "-m", "true").status() == 0, "unshare -m is not allowed here");
        Result r = run("unshare", "-m", "bash", "-c",
                "mount -t tmpfs none /dev && scripts/kvm-flavour");
        assertThat(r.output().trim()).isEqualTo("none");
        Result here = run("scripts/kvm-flavour");
        assertThat(here.output().trim()).isIn("intel", "amd", "pvm", "none", "no-access", "unknown");
    }

    @Test
    void anUnknownKernelFlavourIsAUsageError() throws Exception {
        Result r = run("scripts/build-kernel.sh", "arm64");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.output()).contains("usage: ").contains("guest|lab");
    }
}
