package dev.arrow.testing;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** The host check of {@link BootTest}: the host's KVM must boot a Linux guest to user space. */
public final class LinuxBootHostCondition implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        HostKvmStatus host = HostKvmStatus.detect();
        return host.canBootLinux()
                ? ConditionEvaluationResult.enabled("tier 4: " + host.description())
                : ConditionEvaluationResult.disabled(skipReason(host));
    }

    /** The one line a skipped tier-4 test reports. */
    static String skipReason(HostKvmStatus host) {
        return "tier 4 (@BootTest) needs a KVM that boots Linux: " + host.description()
                + "; run the boot tests in the lab (scripts/test.sh does)";
    }
}
