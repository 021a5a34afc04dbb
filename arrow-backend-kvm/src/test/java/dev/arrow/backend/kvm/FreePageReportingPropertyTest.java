package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.VmmException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Whether arrows get the free-page-reporting balloon, as the JVM's system property says (tier 1). */
class FreePageReportingPropertyTest {

    @AfterEach
    void clear() {
        System.clearProperty(KvmLauncher.FREE_PAGE_REPORTING_PROPERTY);
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
