package dev.arrow.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** mmap, mprotect and madvise need no /dev/kvm: tier 1. */
class NativeMappingTest {
    static final long LENGTH = 4L << 20;

    private static void touchEveryPage(NativeMapping m) {
        assertThat(m.guard().enter()).isTrue();
        try {
            for (long off = 0; off < m.length(); off += 4096) {
                m.window(0).put((int) off, (byte) 1);
            }
        } finally {
            m.guard().exit();
        }
    }

    @Test
    void retireKeepsTheRangeTakenButInaccessibleAndFreesItsPages() {
        NativeMapping m = NativeMapping.anonymous(LENGTH, "test memory");
        long from = m.address();
        long to = from + LENGTH;
        try {
            touchEveryPage(m);
            assertThat(m.residentBytes()).isEqualTo(LENGTH);
            assertThat(ProcMaps.read().coveredWith(from, to, "rw-p")).isTrue();

            m.retire();

            assertThat(m.isRetired()).isTrue();
            assertThat(m.isClosed()).as("no Java access any more").isTrue();
            assertThat(m.guard().enter()).isFalse();
            assertThat(m.residentBytes()).isZero();
            assertThat(ProcMaps.read().coveredWith(from, to, "---p")).as("a PROT_NONE reservation of the same range")
                    .isTrue();
            // the kernel does not hand the range out again, even when asked for exactly that address
            long other = LibC.mmap(from, LENGTH, LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
            assertThat(other).isNotEqualTo(LibC.MAP_FAILED);
            try {
                assertThat(other + LENGTH <= from || other >= to).as("new mapping at 0x%x", other).isTrue();
            } finally {
                LibC.munmap(other, LENGTH);
            }
            m.retire(); // idempotent
            assertThat(m.isRetired()).isTrue();
        } finally {
            m.close();
        }
        assertThat(m.isRetired()).isFalse();
        assertThat(ProcMaps.read().overlapping(from, to)).as("unmapped by close")
                .noneMatch(x -> x.start() == from && x.end() == to && x.permissions().equals("---p"));
    }

    @Test
    void retireWaitsForAnAccessInFlight() throws Exception {
        NativeMapping m = NativeMapping.anonymous(LENGTH, "test memory");
        try {
            assertThat(m.guard().enter()).isTrue();
            CountDownLatch retired = new CountDownLatch(1);
            Thread retirer = new Thread(() -> {
                m.retire();
                retired.countDown();
            });
            retirer.start();
            Thread.sleep(100);
            assertThat(retired.getCount()).as("retire waits for the user").isEqualTo(1);
            // still readable and writable: retire has not touched the range (else this would crash the JVM)
            m.window(0).put(0, (byte) 7);
            assertThat(m.window(0).get(0)).isEqualTo((byte) 7);
            m.guard().exit();
            assertThat(retired.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(m.isRetired()).isTrue();
        } finally {
            m.close();
        }
    }

    @Test
    void retireAfterCloseDoesNothing() {
        NativeMapping m = NativeMapping.anonymous(LENGTH, "test memory");
        long from = m.address();
        m.close();
        m.retire();
        assertThat(m.isRetired()).isFalse();
        assertThat(ProcMaps.read().overlapping(from, from + LENGTH))
                .noneMatch(x -> x.start() == from && x.end() == from + LENGTH && x.permissions().equals("---p"));
    }

    @Test
    void aRetiredCopyOnWriteOverlayIsInaccessibleToo() throws Exception {
        NativeMapping m = NativeMapping.anonymous(LENGTH, "test memory");
        int fd = LibC.memfd_create("retire-test", LibC.MFD_CLOEXEC);
        assertThat(fd).isNotNegative();
        try {
            assertThat(LibC.ftruncate(fd, 1L << 20)).isZero();
            m.overlayCopyOnWrite(1L << 20, 1L << 20, fd, 0);
            touchEveryPage(m);
            m.retire();
            assertThat(ProcMaps.read().coveredWith(m.address(), m.address() + LENGTH, "---p")).isTrue();
        } finally {
            LibC.close(fd);
            m.close();
        }
    }
}
