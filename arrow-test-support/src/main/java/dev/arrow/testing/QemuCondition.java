package dev.arrow.testing;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** The host check of {@link TcgTest}: QEMU for x86-64 must be on the PATH. */
public final class QemuCondition implements ExecutionCondition {
    /** The QEMU that tier-3 tests run. */
    public static final String QEMU = "qemu-system-x86_64";

    /** The one line a skipped tier-3 test reports. */
    static final String SKIP_REASON = "tier 3 (@TcgTest) needs " + QEMU + " on the PATH (Debian package qemu-system-x86)";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return HostPrograms.onPath(QEMU)
                ? ConditionEvaluationResult.enabled("tier 3: " + QEMU + " is installed")
                : ConditionEvaluationResult.disabled(SKIP_REASON);
    }
}
