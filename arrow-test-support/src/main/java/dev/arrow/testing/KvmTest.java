package dev.arrow.testing;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Tier 2: the test runs tiny guests on the host's /dev/kvm. Tagged {@code kvm} (the tag that
 * scripts/test.sh and scripts/lab select by); skipped, with the host's reason, where /dev/kvm cannot
 * be used.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("kvm")
@ExtendWith(KvmHostCondition.class)
public @interface KvmTest {
}
