package dev.arrow.testing;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Tier 3: the test boots a guest under plain QEMU TCG (no KVM). Tagged {@code tcg} (the tag that
 * scripts/test.sh selects by); skipped where qemu-system-x86_64 is not installed.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("tcg")
@ExtendWith(QemuCondition.class)
public @interface TcgTest {
}
