package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class MappingKindsTest {
    private static final long KIB = 1024;

    /** One smaps entry: its header, then Private_Dirty and VmFlags (the fields the kinds read) among others. */
    private static String mapping(String range, String perms, String pathname, long privateDirtyKib, String flags) {
        return range + " " + perms + " 00000000 00:00 0" + (pathname.isEmpty() ? "" : "                          " + pathname)
                + "\nSize:               1024 kB\nRss:                 " + privateDirtyKib + " kB\nPrivate_Dirty:      "
                + privateDirtyKib + " kB\nAnonymous:          " + privateDirtyKib + " kB\nVmFlags: " + flags + "\n";
    }

    private static MappingKinds kinds(String smaps, Map<Long, String> stackPointers) {
        return MappingKinds.of(SmapsEntry.parse(smaps), stackPointers);
    }

    private static final String SMAPS = ""
            + mapping("555555554000-555555576000", "rw-p", "[heap]", 100, "rd wr mr mw me ac")
            + mapping("7efc00000000-7efc00021000", "rw-p", "", 132, "rd wr mr mw me nr")
            + mapping("7efc00021000-7efc04000000", "---p", "", 0, "mr mw me nr")
            + mapping("7f0000000000-7f0000800000", "rw-p", "", 3072, "rd wr mr mw me nr")
            + mapping("7f0000800000-7f0001000000", "rw-p", "/memfd:arrow-kernel:vmlinux (deleted)", 1024, "rd wr mr mw me")
            + mapping("7f0001000000-7f0004000000", "rw-p", "", 512, "rd wr mr mw me nr")
            + mapping("7f1000000000-7f1000003000", "rw-s", "anon_inode:kvm-vcpu:0", 4, "rd wr sh mr mw me ms")
            + mapping("7f2000000000-7f2000004000", "---p", "", 0, "mr mw me")
            + mapping("7f2000004000-7f2000100000", "rw-p", "", 88, "rd wr mr mw me ac")
            + mapping("7f2000200000-7f2000204000", "---p", "", 0, "mr mw me")
            + mapping("7f2000204000-7f2000300000", "rw-p", "", 92, "rd wr mr mw me ac")
            + mapping("7f3000000000-7f3000100000", "rwxp", "", 600, "rd wr ex mr mw me ac")
            + mapping("7f4000000000-7f4000100000", "rw-p", "", 50, "rd wr mr mw me ac")
            + mapping("7f5000000000-7f5000010000", "rw-p", "/usr/lib/jvm/lib/server/libjvm.so", 40, "rd wr mr mw me ac")
            + mapping("7ffd00000000-7ffd00021000", "rw-p", "[stack]", 20, "rd wr mr mw me gd ac");

    @Test
    void sumsPrivateDirtyByKindOfMappingAndFindsThreadStacksByStackPointer() {
        MappingKinds k = kinds(SMAPS, Map.of(0x7f20000ff000L, "arrow-vm3-vcpu0", 0x7f20002ffe00L,
                "arrow-vm12-vcpu"));
        assertThat(k.bytes(MappingKinds.MALLOC_MAIN)).isEqualTo(100 * KIB);
        assertThat(k.bytes(MappingKinds.MALLOC_ARENAS)).as("the 64 MiB aligned heap: usable part, then ---p").isEqualTo(132 * KIB);
        assertThat(k.bytes(MappingKinds.GUEST_RAM)).as("both pieces around the kernel image").isEqualTo(3584 * KIB);
        assertThat(k.bytes(MappingKinds.KERNEL_IMAGE)).isEqualTo(1024 * KIB);
        assertThat(k.bytes(MappingKinds.KVM_RUN)).isEqualTo(4 * KIB);
        assertThat(k.bytes(MappingKinds.STACK_PREFIX + "arrow-vmN-vcpu")).as("both names of the family, numbers as N")
                .isEqualTo(180 * KIB);
        assertThat(k.privateDirty().bytes()).doesNotContainKey(MappingKinds.STACK_PREFIX + "arrow-vmN-vcpuN");
        assertThat(k.bytes(MappingKinds.JIT_CODE)).isEqualTo(600 * KIB);
        assertThat(k.bytes(MappingKinds.OTHER_ANONYMOUS)).isEqualTo(50 * KIB);
        assertThat(k.bytes(MappingKinds.FILES)).isEqualTo(40 * KIB);
        assertThat(k.bytes(MappingKinds.OTHERS)).isEqualTo(20 * KIB);
        assertThat(k.besidesTheGuest()).isEqualTo((100 + 132 + 4 + 180 + 600 + 50 + 40 + 20) * KIB);
    }

    @Test
    void withoutStackPointersAThreadStackIsOtherAnonymousMemory() {
        MappingKinds k = kinds(SMAPS, Map.of());
        assertThat(k.bytes(MappingKinds.OTHER_ANONYMOUS)).isEqualTo((50 + 88 + 92) * KIB);
    }

    @Test
    void theDifferenceOfTwoReadingsDividesPerThing() {
        MappingKinds before = kinds(mapping("7f4000000000-7f4000100000", "rw-p", "", 50, "rd wr"), Map.of());
        MappingKinds per = kinds(SMAPS, Map.of()).minus(before).dividedBy(2);
        assertThat(per.bytes(MappingKinds.OTHER_ANONYMOUS)).isEqualTo((88 + 92) * KIB / 2);
        assertThat(per.bytes(MappingKinds.MALLOC_MAIN)).isEqualTo(50 * KIB);
    }

    @Test
    void readsTheStackPointerOfAWaitingThread() {
        assertThat(MappingKinds.stackPointer("202 0x7f1c 0x80 0x0 0x0 0x0 0x0 0x7f20000ff000 0x7f5d12a3\n"))
                .isEqualTo(0x7f20000ff000L);
        assertThat(MappingKinds.stackPointer("-1 0x7ffd1000 0x7f5d12a3\n")).isEqualTo(0x7ffd1000L);
        assertThat(MappingKinds.stackPointer("running\n")).isZero();
    }

    @Test
    void readsThisProcessAndFindsTheStackOfAWaitingThread() throws Exception {
        Object lock = new Object();
        Thread waiting = new Thread(() -> {
            synchronized (lock) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "kinds-test-7");
        waiting.setDaemon(true);
        waiting.start();
        try {
            while (waiting.getState() != Thread.State.WAITING) {
                Thread.sleep(10);
            }
            MappingKinds k = MemorySnapshot.read(MappingGroup.ARROW).kinds();
            assertThat(k.bytes(MappingKinds.STACK_PREFIX + "kinds-test-N")).as("a Java thread's stack has pages")
                    .isPositive();
            assertThat(k.bytes(MappingKinds.FILES)).isPositive();
        } finally {
            waiting.interrupt();
        }
    }
}
