package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/kvm-flavour (asked by the shell scripts, before anything is built, whether this host's KVM
 * boots Linux or the lab must) decides as {@link HostKvm#detect(Path)} does: both look at the same
 * host trees, one for each flavour and for each rule that picks between them, and name the same one.
 */
class KvmFlavourScriptTest {
    /** The script's word for each flavour. */
    private static final Map<String, HostKvm> WORDS = Map.of(
            "intel", HostKvm.HARDWARE_INTEL, "amd", HostKvm.HARDWARE_AMD, "pvm", HostKvm.PVM,
            "unknown", HostKvm.UNKNOWN, "no-access", HostKvm.NO_PERMISSION, "none", HostKvm.NONE);
    private static final String OPEN = "rw-rw-rw-";
    private static final String CLOSED = "---------";

    private static Path script;

    @TempDir
    Path work;

    /** A host tree: /dev/kvm with these permissions (or none), these kernel modules, this /proc/cpuinfo (or none). */
    private record Host(String name, String devKvm, List<String> modules, String cpuinfo) {
    }

    private static final List<Host> HOSTS = List.of(
            new Host("no /dev/kvm, whatever the modules say", null, List.of("kvm", "kvm_intel"), cpu("fpu vmx lm")),
            new Host("a /dev/kvm this user may not open", CLOSED, List.of("kvm", "kvm_intel"), cpu("fpu vmx lm")),
            new Host("kvm_pvm wins over kvm_intel and vmx", OPEN, List.of("kvm", "kvm_intel", "kvm_pvm"), cpu("fpu vmx lm")),
            new Host("kvm_intel wins over kvm_amd", OPEN, List.of("kvm", "kvm_amd", "kvm_intel"), cpu("fpu svm lm")),
            new Host("kvm_amd", OPEN, List.of("kvm", "kvm_amd"), cpu("fpu lm")),
            new Host("no module: vmx in the CPU flags", OPEN, List.of("kvm"), cpu("fpu vmx lm")),
            new Host("no module: svm in the CPU flags", OPEN, List.of("kvm"), cpu("fpu svm lm")),
            new Host("no module: only the first CPU's flags line counts, word by word", OPEN, List.of("kvm"),
                    "processor\t: 0\nflags\t\t: fpu svmx lm\nvmx flags\t: vnmi ept\n\nprocessor\t: 1\nflags\t\t: fpu vmx lm\n"),
            new Host("no module and no cpuinfo", OPEN, List.of(), null));

    private static String cpu(String flags) {
        return "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: " + flags + "\nbugs\t\t: spectre_v1\n";
    }

    @BeforeAll
    static void findScript() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("scripts/kvm-flavour"))) {
                script = dir.resolve("scripts/kvm-flavour");
                return;
            }
        }
        throw new AssertionError("scripts/kvm-flavour not found above " + Path.of("").toAbsolutePath());
    }

    @Test
    void theScriptNamesTheFlavourHostKvmDetectsOnEveryHostTree() throws Exception {
        // open to every user: for root, the closed /dev/kvm is only closed to the script run as nobody
        permit(work, "rwxr-xr-x");
        Path copy = work.resolve("kvm-flavour");
        permit(Files.copy(script, copy), "rwxr-xr-x");
        Set<HostKvm> seen = EnumSet.noneOf(HostKvm.class);
        for (int i = 0; i < HOSTS.size(); i++) {
            Host host = HOSTS.get(i);
            Path root = work.resolve("host" + i);
            build(root, host);
            // Root may open any file, so whether the device opens is given to HostKvm, as the script's user finds it.
            HostKvm java = HostKvm.detect(root, dev -> !CLOSED.equals(host.devKvm()));
            assertThat(scriptSays(copy, root)).as(host.name()).isEqualTo(java);
            seen.add(java);
        }
        assertThat(seen).as("flavours the host trees cover").isEqualTo(EnumSet.allOf(HostKvm.class));
    }

    /** Builds the host's tree under {@code root}, readable by every user whatever the umask. */
    private static void build(Path root, Host host) throws IOException {
        Files.createDirectories(root.resolve("dev"));
        if (host.devKvm() != null) {
            permit(Files.createFile(root.resolve("dev/kvm")), host.devKvm());
        }
        for (String module : host.modules()) {
            Files.createDirectories(root.resolve("sys/module").resolve(module));
        }
        if (host.cpuinfo() != null) {
            Files.createDirectories(root.resolve("proc"));
            permit(Files.writeString(root.resolve("proc/cpuinfo"), host.cpuinfo()), "rw-r--r--");
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path dir : (Iterable<Path>) all.filter(Files::isDirectory)::iterator) {
                permit(dir, "rwxr-xr-x");
            }
        }
    }

    private static void permit(Path path, String permissions) throws IOException {
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(permissions));
    }

    /** The script's answer for the tree under {@code root}, run as nobody when this process is root. */
    private static HostKvm scriptSays(Path copy, Path root) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        if (isRoot()) {
            command.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        }
        command.addAll(List.of(copy.toString(), root.toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor()).as("%s %s: %s", copy, root, out).isZero();
        assertThat(WORDS).as("%s printed", copy).containsKey(out);
        return WORDS.get(out);
    }

    private static boolean isRoot() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("id", "-u").start();
        String uid = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        return uid.equals("0");
    }
}
