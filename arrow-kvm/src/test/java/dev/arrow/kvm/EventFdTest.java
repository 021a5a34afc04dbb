package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** eventfd is plain Linux, no /dev/kvm needed. */
class EventFdTest {

    @Test
    void writesAddUpAndReadResets() {
        try (EventFd e = EventFd.create(true)) {
            assertThat(e.read()).isZero();
            e.write(2);
            e.write(3);
            assertThat(e.read()).isEqualTo(5);
            assertThat(e.read()).isZero();
        }
    }

    @Test
    void closedEventFdRefusesUse() {
        EventFd e = EventFd.create();
        e.close();
        e.close();
        assertThatThrownBy(() -> e.write(1)).isInstanceOf(KvmException.class).hasMessageContaining("closed");
    }
}
