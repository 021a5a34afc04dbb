package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.testing.HostKvmStatus;
import org.junit.jupiter.api.Test;

/**
 * The tier conditions of arrow-test-support read {@link HostKvm} by name (that module cannot depend
 * on arrow-kvm): this keeps them in step with HostKvm's names and answers.
 */
class HostKvmStatusTest {
    @Test
    void theTierConditionsSeeWhatHostKvmSees() {
        HostKvm host = HostKvm.detect();
        assertThat(HostKvmStatus.detect()).isEqualTo(new HostKvmStatus(host.usable(), host.canBootLinux(), host.description()));
    }
}
