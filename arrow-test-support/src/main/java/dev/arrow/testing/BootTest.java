package dev.arrow.testing;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Tier 4: the test boots Linux through Arrow's own VMM. Tagged {@code boot} (the tag that
 * scripts/test.sh and scripts/lab select by); skipped, with the host's reason, where the host's KVM
 * cannot boot a Linux guest (run it in the lab). To run it anyway, e.g. to see how far a PVM host
 * gets, deactivate the condition:
 * {@code -Djunit.jupiter.conditions.deactivate=dev.arrow.testing.LinuxBootHostCondition}.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("boot")
@ExtendWith(LinuxBootHostCondition.class)
public @interface BootTest {
}
