package dev.arrow.image.init;

import static dev.arrow.image.init.InitSpecCheck.raw;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.image.HostCommand;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The stdio and stderr records of the spec file: Java's encoding, checked against init's own parser (--check-spec). */
class StdioSpecTest {
    @TempDir
    static Path tmp;
    static InitSpecCheck specCheck;

    @BeforeAll
    static void extractInit() throws IOException {
        specCheck = InitSpecCheck.extractTo(tmp);
    }

    @Test
    void theSerialConsoleIsTheDefaultAndIsNotWritten() {
        LaunchSpec spec = LaunchSpec.builder().build();
        assertThat(spec.stdio()).isEqualTo(Stdio.SERIAL);
        assertThat(SpecFile.encode(spec)).isEqualTo(raw("exec", "/arrow/app", "arg", "/arrow/app", "end", ""));
        assertThat(SpecFile.encode(LaunchSpec.builder().stdio(Stdio.SERIAL).build())).isEqualTo(SpecFile.encode(spec));
    }

    @Test
    void virtioStdioIsTheLastRecordBeforeEnd() {
        LaunchSpec spec = LaunchSpec.builder().hostname("box").stdio(Stdio.VIRTIO)
                .network(NetworkSettings.of("10.0.2.15", 24, "10.0.2.2")).build();
        assertThat(SpecFile.encode(spec)).isEqualTo(raw("exec", "/arrow/app", "arg", "/arrow/app", "hostname", "box",
                "net-ipv4", "10.0.2.15/24", "net-gateway", "10.0.2.2", "stdio", "virtio", "end", ""));
        assertThat(Stdio.VIRTIO.specName()).isEqualTo("virtio");
        assertThatThrownBy(() -> LaunchSpec.builder().stdio(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void initParsesWhatJavaWritesBackToTheSameBytes() throws IOException {
        byte[] bytes = SpecFile.encode(LaunchSpec.builder().args("x").stdio(Stdio.VIRTIO).build());
        HostCommand.Result r = specCheck.check(bytes);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo(bytes);
    }

    @Test
    void stderrIntoStdoutIsOneRecordAfterStdioThatInitKeeps() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().stdio(Stdio.VIRTIO).stderrToStdout(true).build();
        assertThat(spec.stderrToStdout()).isTrue();
        assertThat(LaunchSpec.builder().build().stderrToStdout()).as("default").isFalse();
        byte[] bytes = SpecFile.encode(spec);
        assertThat(bytes).isEqualTo(raw("exec", "/arrow/app", "arg", "/arrow/app", "stdio", "virtio", "stderr", "stdout",
                "end", ""));
        HostCommand.Result r = specCheck.check(bytes);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo(bytes);
    }

    @Test
    void anExplicitSerialRecordIsAcceptedAndKept() throws IOException {
        byte[] bytes = raw("exec", "/a", "arg", "a", "stdio", "serial", "end", "");
        HostCommand.Result r = specCheck.check(bytes);
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "stdio given twice|stdio|virtio|stdio|virtio",
        "stdio 'hvc' is not 'serial' or 'virtio'|stdio|hvc",
        "stdio '' is not 'serial' or 'virtio'|stdio|",
        "stdio 'VIRTIO' is not 'serial' or 'virtio'|stdio|VIRTIO",
        "stderr given twice|stderr|stdout|stderr|stdout",
        "stderr 'stderr' is not 'stdout'|stderr|stderr",
        "stderr '' is not 'stdout'|stderr|",
    })
    void malformedStdioRecordsAreRejectedWithAReason(String caseText) throws IOException {
        String[] parts = caseText.split("\\|", -1);
        String[] records = new String[parts.length - 1 + 6];
        records[0] = "exec";
        records[1] = "/a";
        records[2] = "arg";
        records[3] = "a";
        System.arraycopy(parts, 1, records, 4, parts.length - 1);
        records[records.length - 2] = "end";
        records[records.length - 1] = "";
        HostCommand.Result r = specCheck.check(raw(records));
        assertThat(r.exitCode()).as(r.stderr()).isEqualTo(1);
        assertThat(r.stderr()).contains("malformed spec").contains(parts[0]);
    }
}
