package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.VmmException;
import dev.arrow.kvm.virtio.balloon.VirtioBalloon;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Whether arrows get the free-page-reporting balloon, and at which order, as the JVM's system properties say (tier 1). */
class FreePageReportingPropertyTest {

    @AfterEach
    void clear() {
        System.clearProperty(KvmLauncher.FREE_PAGE_REPORTING_PROPERTY);
        System.clearProperty(KvmLauncher.REPORTING_ORDER_PROPERTY);
        System.clearProperty(KvmLauncher.DIAGNOSTIC_KERNEL_PARAMETERS_PROPERTY);
    }

    @Test
    void theReportingOrderIsTheBalloonsUnlessTheSystemPropertyGivesOne() {
        assertThat(KvmLauncher.reportingOrderFromSystemProperty()).isEqualTo(VirtioBalloon.REPORTING_ORDER);
        System.setProperty(KvmLauncher.REPORTING_ORDER_PROPERTY, " 0 ");
        assertThat(KvmLauncher.reportingOrderFromSystemProperty()).isZero();
        System.setProperty(KvmLauncher.REPORTING_ORDER_PROPERTY, "11");
        assertThatThrownBy(KvmLauncher::reportingOrderFromSystemProperty).isInstanceOf(VmmException.class)
                .hasMessageStartingWith("system property arrow.freePageReportingOrder=11 is not an order from 0 to 10");
        System.setProperty(KvmLauncher.REPORTING_ORDER_PROPERTY, "five");
        assertThatThrownBy(KvmLauncher::reportingOrderFromSystemProperty).isInstanceOf(VmmException.class);
    }

    @Test
    void diagnosticKernelParametersFollowInitsOwn() {
        assertThat(KvmLauncher.withDiagnosticParameters(List.of("quiet"))).containsExactly("quiet");
        System.setProperty(KvmLauncher.DIAGNOSTIC_KERNEL_PARAMETERS_PROPERTY, " nr_cpus=1   dhash_entries=512 ");
        assertThat(KvmLauncher.withDiagnosticParameters(List.of("quiet")))
                .containsExactly("quiet", "nr_cpus=1", "dhash_entries=512");
    }

    @Test
    void onByDefaultAndOffOnlyWhenSetToFalse() {
        assertThat(KvmLauncher.freePageReportingFromSystemProperty()).isTrue();
        System.setProperty(KvmLauncher.FREE_PAGE_REPORTING_PROPERTY, " FALSE ");
        assertThat(KvmLauncher.freePageReportingFromSystemProperty()).isFalse();
        System.setProperty(KvmLauncher.FREE_PAGE_REPORTING_PROPERTY, "true");
        assertThat(KvmLauncher.freePageReportingFromSystemProperty()).isTrue();
    }

    @Test
    void anythingElseIsRefusedNamingTheFix() {
        System.setProperty(KvmLauncher.FREE_PAGE_REPORTING_PROPERTY, "off");
        assertThatThrownBy(KvmLauncher::freePageReportingFromSystemProperty).isInstanceOf(VmmException.class)
                .hasMessage("system property arrow.freePageReporting=off is neither true nor false: give "
                        + "-Darrow.freePageReporting=false to leave free page reporting out, or leave it unset");
    }
}
