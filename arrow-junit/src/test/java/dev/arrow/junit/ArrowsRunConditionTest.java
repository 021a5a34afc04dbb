package dev.arrow.junit;

import dev.arrow.Arrow;
import dev.arrow.HostSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.Event;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Tier 1: {@link EnabledIfArrowsRun} skips with the host's reason where arrows cannot run. */
class ArrowsRunConditionTest {

    private static final String NO_KVM = "no /dev/kvm: this host offers no KVM; run on a machine with hardware"
            + " virtualization (Intel VT-x or AMD-V) and kvm_intel or kvm_amd loaded";
    private static final String NO_PASST = "passt is not installed: install the package passt for Net.user()";

    private static HostSupport host(HostSupport.Kvm kvm, Optional<Path> passt, List<String> problems,
            List<String> limitations) {
        return new HostSupport(Optional.of("FakeBackend"), kvm, kvm.canBootLinux(), Optional.of(Path.of("/boot/vmlinux")),
                passt, problems, limitations);
    }

    @Test
    void aHostWithProblemsDisablesWithEveryProblemAsTheReason() {
        ConditionEvaluationResult result = ArrowsRunCondition.evaluate(
                host(HostSupport.Kvm.NONE, Optional.empty(), List.of(NO_KVM, "no kernel: run scripts/setup.sh"), List.of()),
                false);

        assertThat(result.isDisabled()).isTrue();
        assertThat(result.getReason().orElseThrow())
                .isEqualTo("arrows cannot run on this host: " + NO_KVM + "; no kernel: run scripts/setup.sh");
    }

    @Test
    void aReadyHostEnablesNamingItsKvm() {
        ConditionEvaluationResult result = ArrowsRunCondition.evaluate(
                host(HostSupport.Kvm.HARDWARE_AMD, Optional.empty(), List.of(), List.of(NO_PASST)), false);

        assertThat(result.isDisabled()).isFalse();
        assertThat(result.getReason().orElseThrow()).contains("arrows run on this host: hardware KVM (AMD-V, kvm_amd)");
    }

    @Test
    void userNetworkingAlsoNeedsPasst() {
        HostSupport withoutPasst = host(HostSupport.Kvm.HARDWARE_INTEL, Optional.empty(), List.of(), List.of(NO_PASST));
        HostSupport withPasst = host(HostSupport.Kvm.HARDWARE_INTEL, Optional.of(Path.of("/usr/bin/passt")),
                List.of(), List.of());

        ConditionEvaluationResult without = ArrowsRunCondition.evaluate(withoutPasst, true);
        ConditionEvaluationResult with = ArrowsRunCondition.evaluate(withPasst, true);

        assertThat(without.isDisabled()).isTrue();
        assertThat(without.getReason().orElseThrow())
                .isEqualTo("arrows run on this host, but not with Net.user(): " + NO_PASST);
        assertThat(with.isDisabled()).isFalse();
        assertThat(with.getReason().orElseThrow()).contains("with passt /usr/bin/passt");
    }

    @Example
    @EnabledIfArrowsRun
    static class NeedsArrows {
        @Test
        void test() {
        }
    }

    /** The example runs where this host runs arrows, and is skipped with the host's problems elsewhere. */
    @Test
    void anAnnotatedClassRunsOrIsSkippedAsThisHostsSupportSays() {
        HostSupport here = Arrow.hostSupport();

        EngineExecutionResults results = ExampleRun.run(NeedsArrows.class);

        if (here.isReady()) {
            results.testEvents().assertStatistics(s -> s.started(1).succeeded(1));
        } else {
            results.testEvents().assertStatistics(s -> s.started(0).skipped(0));
            assertThat(results.containerEvents().skipped().list()).singleElement()
                    .extracting(ArrowsRunConditionTest::reason).asString()
                    .isEqualTo("arrows cannot run on this host: " + String.join("; ", here.problems()));
        }
    }

    private static String reason(Event event) {
        return event.getPayload(String.class).orElseThrow();
    }
}
