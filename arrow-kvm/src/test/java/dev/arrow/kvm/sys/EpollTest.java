package dev.arrow.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.EventFd;
import dev.arrow.kvm.KvmException;
import org.junit.jupiter.api.Test;

/** epoll over eventfds (tier 1: no KVM needed). */
class EpollTest {

    @Test
    void reportsTheTokensOfReadableFdsAndTimesOutOtherwise() {
        try (Epoll epoll = Epoll.create(4); EventFd a = EventFd.create(true); EventFd b = EventFd.create(true)) {
            epoll.add(a.fd(), 7);
            epoll.add(b.fd(), 1L << 40);
            long[] tokens = new long[4];
            assertThat(epoll.await(tokens, 0)).isZero();
            b.write(1);
            assertThat(epoll.await(tokens, 1000)).isEqualTo(1);
            assertThat(tokens[0]).isEqualTo(1L << 40);
            a.write(1);
            assertThat(epoll.await(tokens, 1000)).isEqualTo(2);
            assertThat(new long[] {tokens[0], tokens[1]}).containsExactlyInAnyOrder(7, 1L << 40);
            b.read();
            epoll.remove(a.fd());
            assertThat(epoll.await(tokens, 0)).as("a removed, b drained").isZero();
        }
    }

    @Test
    void aClosedInstanceRefusesCalls() {
        Epoll epoll = Epoll.create(1);
        epoll.close();
        assertThatThrownBy(() -> epoll.await(new long[1], 0)).isInstanceOf(KvmException.class);
        assertThatThrownBy(() -> Epoll.create(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
