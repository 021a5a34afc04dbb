package dev.arrow.junit;

import dev.arrow.Arrow;
import dev.arrow.HostSupport;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

import java.util.List;

/**
 * The condition of {@link EnabledIfArrowsRun}. Asks {@link Arrow#hostSupport()} once per test run (kept in the root
 * context's store, which computes it once even under parallel execution).
 */
final class ArrowsRunCondition implements ExecutionCondition {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(ArrowsRunCondition.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return AnnotationSupport.findAnnotation(context.getElement(), EnabledIfArrowsRun.class)
                .map(needs -> evaluate(hostSupport(context), needs.userNetwork()))
                .orElseGet(() -> ConditionEvaluationResult.enabled("@EnabledIfArrowsRun is not present"));
    }

    private static HostSupport hostSupport(ExtensionContext context) {
        return context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(HostSupport.class, key -> Arrow.hostSupport(), HostSupport.class);
    }

    /** Whether {@code host} runs arrows (with user-mode networking, if {@code userNetwork}); the reason says why not. */
    static ConditionEvaluationResult evaluate(HostSupport host, boolean userNetwork) {
        if (!host.isReady()) {
            return ConditionEvaluationResult.disabled("arrows cannot run on this host: "
                    + String.join("; ", host.problems()));
        }
        if (userNetwork && host.passt().isEmpty()) {
            List<String> why = host.limitations().isEmpty() ? List.of("passt was not found") : host.limitations();
            return ConditionEvaluationResult.disabled("arrows run on this host, but not with Net.user(): "
                    + String.join("; ", why));
        }
        return ConditionEvaluationResult.enabled("arrows run on this host: " + host.kvm().description()
                + (userNetwork ? ", with passt " + host.passt().get() : ""));
    }
}
