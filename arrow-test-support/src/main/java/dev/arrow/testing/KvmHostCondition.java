package dev.arrow.testing;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** The host check of {@link KvmTest}: /dev/kvm must be usable for tiny guests. */
public final class KvmHostCondition implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        HostKvmStatus host = HostKvmStatus.detect();
        return host.usable()
                ? ConditionEvaluationResult.enabled("tier 2: " + host.description())
                : ConditionEvaluationResult.disabled(skipReason(host));
    }

    /** The one line a skipped tier-2 test reports. */
    static String skipReason(HostKvmStatus host) {
        return "tier 2 (@KvmTest) needs a usable /dev/kvm: " + host.description();
    }
}
