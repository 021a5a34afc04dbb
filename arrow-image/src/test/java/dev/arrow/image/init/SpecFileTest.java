package dev.arrow.image.init;

import static dev.arrow.image.init.InitSpecCheck.raw;
import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.config.Rlimit;
import dev.arrow.config.RlimitResource;
import dev.arrow.image.HostCommand;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The spec file's encoding, checked against init's own parser (arrow-init --check-spec on the host). */
class SpecFileTest {
    @TempDir
    static Path tmp;
    static InitSpecCheck specCheck;

    @BeforeAll
    static void extractInit() throws IOException {
        specCheck = InitSpecCheck.extractTo(tmp);
    }

    private static LaunchSpec full() {
        return LaunchSpec.builder()
                .executable("/bin/tool")
                .argv0("tool")
                .args("--flag", "", "two words", "ünïcödé", "a\nb")
                .env("PATH", "/bin")
                .env("EMPTY", "")
                .env("EQ", "x=y")
                .workingDirectory("/tmp")
                .uid(1000)
                .gid(4294967294L)
                .limit(new Rlimit(RlimitResource.NOFILE, 64, 128))
                .limit(new Rlimit(RlimitResource.CORE, Rlimit.UNLIMITED, Rlimit.UNLIMITED))
                .limit(new Rlimit(RlimitResource.STACK, 8 << 20, Rlimit.UNLIMITED))
                .hostname("box-1.local")
                .killGrace(Duration.ofMillis(250))
                .build();
    }

    @Test
    void encodesRecordsInTheDocumentedOrder() {
        byte[] bytes = SpecFile.encode(full());
        assertThat(bytes).isEqualTo(raw("exec", "/bin/tool", "arg", "tool", "arg", "--flag", "arg", "", "arg", "two words",
                "arg", "ünïcödé", "arg", "a\nb", "env", "PATH=/bin", "env", "EMPTY=", "env", "EQ=x=y", "cwd", "/tmp",
                "uid", "1000", "gid", "4294967294", "rlimit", "core unlimited unlimited", "rlimit", "nofile 64 128",
                "rlimit", "stack 8388608 unlimited", "hostname", "box-1.local", "grace-ms", "250", "end", ""));
    }

    @Test
    void minimalSpecHasExecArgv0AndEnd() {
        assertThat(SpecFile.encode(LaunchSpec.builder().build())).isEqualTo(raw("exec", "/arrow/app", "arg", "/arrow/app", "end", ""));
    }

    @Test
    void initParsesWhatJavaWritesBackToTheSameBytes() throws IOException {
        for (LaunchSpec spec : List.of(full(), LaunchSpec.builder().build(),
                LaunchSpec.builder().args("x".repeat(100_000)).limit(new Rlimit(RlimitResource.AS, 0, 0)).build())) {
            byte[] bytes = SpecFile.encode(spec);
            HostCommand.Result r = specCheck.check(bytes);
            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).isEqualTo(bytes);
        }
    }

    @Test
    void truncatedSpecsAreRejectedAtEveryLength() throws IOException {
        byte[] bytes = SpecFile.encode(full());
        // every proper prefix must be rejected; checking all ~300 would be slow, so take a spread incl. record boundaries
        for (int len = 0; len < bytes.length; len += 7) {
            HostCommand.Result r = specCheck.check(Arrays.copyOf(bytes, len));
            assertThat(r.exitCode()).as("prefix of %d bytes", len).isEqualTo(1);
            assertThat(r.stderr()).contains("malformed spec");
        }
        HostCommand.Result r = specCheck.check(Arrays.copyOf(bytes, bytes.length - 5)); // cut right before "end"
        assertThat(r.stderr()).contains("no record 'end'");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "unknown key 'color'|exec|/a|arg|a|color|red|end|",
        "exec given twice|exec|/a|exec|/b|arg|a|end|",
        "is not absolute|exec|a|arg|a|end|",
        "no record 'arg'|exec|/a|end|",
        "no record 'exec'|arg|a|end|",
        "is not NAME=value|exec|/a|arg|a|env|NOEQUALS|end|",
        "is not NAME=value|exec|/a|arg|a|env|=v|end|",
        "is not a decimal id|exec|/a|arg|a|uid|-1|end|",
        "is not a decimal id|exec|/a|arg|a|uid|4294967295|end|",
        "is not a decimal id|exec|/a|arg|a|gid|012|end|",
        "unknown rlimit|exec|/a|arg|a|rlimit|files 1 2|end|",
        "soft limit above hard|exec|/a|arg|a|rlimit|nofile 10 5|end|",
        "rlimit nofile given twice|exec|/a|arg|a|rlimit|nofile 1 1|rlimit|nofile 2 2|end|",
        "is not '<name> <soft> <hard>'|exec|/a|arg|a|rlimit|nofile 1|end|",
        "hostname must be|exec|/a|arg|a|hostname||end|",
        "grace-ms '60001'|exec|/a|arg|a|grace-ms|60001|end|",
        "record 'end' has a value|exec|/a|arg|a|end|x|",
        "cwd 'tmp' is not absolute|exec|/a|arg|a|cwd|tmp|end|",
    })
    void malformedSpecsAreRejectedWithAReason(String caseText) throws IOException {
        String[] parts = caseText.split("\\|", -1);
        String expected = parts[0];
        String[] records = Arrays.copyOfRange(parts, 1, parts.length);
        HostCommand.Result r = specCheck.check(raw(records));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stderr()).contains("malformed spec").contains(expected);
    }

    @Test
    void bytesAfterEndAndAWrongHeaderAreRejected() throws IOException {
        byte[] good = raw("exec", "/a", "arg", "a", "end", "");
        byte[] trailing = Arrays.copyOf(good, good.length + 1);
        assertThat(specCheck.check(trailing).stderr()).contains("1 bytes after record 'end'");
        byte[] header = good.clone();
        header[11] = '2'; // "arrow-spec 2"
        assertThat(specCheck.check(header).stderr()).contains("missing header");
        byte[] endCut = Arrays.copyOf(good, good.length - 1);
        assertThat(specCheck.check(endCut).stderr()).contains("key 'end' has no value");
        byte[] valueCut = Arrays.copyOf(raw("exec", "/abc"), SpecFile.MAGIC.length() + "exec\0/abc".length());
        assertThat(specCheck.check(valueCut).stderr()).contains("value of 'exec' not terminated by NUL");
    }

    @Test
    void hugeSpecsAreRejectedInJava() {
        LaunchSpec.Builder b = LaunchSpec.builder();
        List<String> args = java.util.Collections.nCopies(140, "y".repeat(130_000));
        b.args(args);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SpecFile.encode(b.build()))
                .isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("init reads at most");
    }
}
