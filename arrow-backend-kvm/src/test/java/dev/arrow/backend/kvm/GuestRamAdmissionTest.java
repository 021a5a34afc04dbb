package dev.arrow.backend.kvm;

import dev.arrow.HostMemoryException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tier 1: reading the host's memory (meminfo, cgroup v1 and v2) and admitting guests against it. */
class GuestRamAdmissionTest {
    private static final long MiB = 1 << 20;
    private static final long GiB = 1 << 30;

    private static Optional<HostMemory> host(Map<String, String> files) {
        return HostMemory.read(p -> files.get(p.toString()));
    }

    private static final String MEMINFO = "MemTotal:       24683748 kB\nMemFree:        20000000 kB\n"
            + "MemAvailable:   23109348 kB\n";

    @Test
    void withoutACgroupLimitTheRoomIsMemAvailable() {
        HostMemory h = host(Map.of("/proc/meminfo", MEMINFO, "/proc/self/cgroup", "0::/\n",
                "/sys/fs/cgroup/memory.max", "max\n", "/sys/fs/cgroup/memory.current", "123\n")).orElseThrow();
        assertThat(h.availableBytes()).isEqualTo(23109348L * 1024);
        assertThat(h.cgroupRoomBytes()).isEmpty();
        assertThat(h.roomBytes()).isEqualTo(23109348L * 1024);
    }

    @Test
    void aCgroupV2LimitLeavesItsRemainder() {
        HostMemory h = host(Map.of("/proc/meminfo", MEMINFO, "/proc/self/cgroup", "0::/user.slice/app\n",
                "/sys/fs/cgroup/user.slice/app/memory.max", "4294967296\n",
                "/sys/fs/cgroup/user.slice/app/memory.current", "1073741824\n")).orElseThrow();
        assertThat(h.cgroupRoomBytes()).hasValue(3 * GiB);
        assertThat(h.roomBytes()).isEqualTo(3 * GiB);
        assertThat(h.cgroupDescription()).isEqualTo("cgroup /user.slice/app");
    }

    @Test
    void aCgroupV1LimitIsFoundAtItsPathOrAtTheMountsRoot() {
        String cgroups = "9:systemd:/\n4:memory:/process_api/abc\n0::/\n";
        HostMemory atPath = host(Map.of("/proc/meminfo", MEMINFO, "/proc/self/cgroup", cgroups,
                "/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes", "2147483648\n",
                "/sys/fs/cgroup/memory/process_api/abc/memory.usage_in_bytes", "536870912\n")).orElseThrow();
        assertThat(atPath.cgroupRoomBytes()).hasValue(GiB + GiB / 2);
        HostMemory atRoot = host(Map.of("/proc/meminfo", MEMINFO, "/proc/self/cgroup", cgroups,
                "/sys/fs/cgroup/memory/memory.limit_in_bytes", "1073741824\n",
                "/sys/fs/cgroup/memory/memory.usage_in_bytes", "1073741824\n")).orElseThrow();
        assertThat(atRoot.roomBytes()).isZero();
        HostMemory unlimited = host(Map.of("/proc/meminfo", MEMINFO, "/proc/self/cgroup", cgroups,
                "/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n",
                "/sys/fs/cgroup/memory/memory.usage_in_bytes", "1691295744\n")).orElseThrow();
        assertThat(unlimited.cgroupRoomBytes()).isEmpty();
    }

    @Test
    void withoutMeminfoNothingCanBeChecked() {
        assertThat(host(Map.of())).isEmpty();
        assertThat(new GuestRamAdmission().admit(16 * GiB, Optional.empty(), 1)).isNotNull();
    }

    @Test
    void thisHostIsReadable() {
        assertThat(HostMemory.read()).hasValueSatisfying(h -> assertThat(h.roomBytes()).isPositive());
    }

    private static Optional<HostMemory> room(long bytes) {
        return Optional.of(new HostMemory(bytes, OptionalLong.empty(), "no memory cgroup limit"));
    }

    @Test
    void twoGuestsThatMayEachFillTheirRamDoNotFitWhereOnlyOneDoes() {
        GuestRamAdmission admission = new GuestRamAdmission();
        GuestRamAdmission.Reservation first = admission.admit(16 * GiB, room(23 * GiB), 1);
        assertThatThrownBy(() -> admission.admit(16 * GiB, room(23 * GiB), 1))
                .isInstanceOf(HostMemoryException.class)
                .hasMessageStartingWith("guest RAM of 16384 MiB does not fit what this host can give: 23552 MiB available")
                .hasMessageContaining("of which 16384 MiB may still be taken by the 1 running arrow(s) of this JVM")
                .hasMessageContaining("-Darrow.memoryOvercommit=<factor>");
        first.close();
        assertThat(admission.admit(16 * GiB, room(23 * GiB), 1)).isNotNull();
    }

    @Test
    void whatARunningGuestTouchedIsAlreadyPaidFor() {
        GuestRamAdmission admission = new GuestRamAdmission();
        GuestRamAdmission.Reservation first = admission.admit(1 * GiB, room(2 * GiB), 1);
        // MemAvailable already dropped by what it touched: 900 MiB of its 1 GiB
        first.residentFrom(() -> 900 * MiB);
        assertThat(admission.admit(1 * GiB, room(2 * GiB - 900 * MiB), 1)).isNotNull();
        assertThat(admission.liveCount()).isEqualTo(2);
    }

    @Test
    void runningGuestsResidencyIsReadOnlyWhenTheirWholeRamWouldNotFit() {
        GuestRamAdmission admission = new GuestRamAdmission();
        AtomicInteger reads = new AtomicInteger();
        GuestRamAdmission.Reservation first = admission.admit(1 * GiB, room(4 * GiB), 1);
        first.residentFrom(() -> {
            reads.incrementAndGet();
            return 900 * MiB;
        });
        admission.admit(1 * GiB, room(4 * GiB), 1).close();
        assertThat(reads).as("2 GiB fit 4 GiB without asking how much of the first is touched").hasValue(0);
        admission.admit(1 * GiB, room(2 * GiB - 900 * MiB), 1);
        assertThat(reads).as("2 GiB do not fit 1.1 GiB: the first guest's touched RAM counts").hasValue(1);
    }

    @Test
    void anOvercommitFactorMultipliesTheRoom() {
        GuestRamAdmission admission = new GuestRamAdmission();
        for (int i = 0; i < 10; i++) admission.admit(128 * MiB, room(256 * MiB), 5);
        assertThatThrownBy(() -> admission.admit(128 * MiB, room(256 * MiB), 5))
                .isInstanceOf(HostMemoryException.class).hasMessageContaining("x 5.0 (arrow.memoryOvercommit)");
    }

    @Test
    void theOvercommitPropertyMustBeANumberOfAtLeastOne() {
        String before = System.getProperty(GuestRamAdmission.OVERCOMMIT_PROPERTY);
        try {
            System.clearProperty(GuestRamAdmission.OVERCOMMIT_PROPERTY);
            assertThat(GuestRamAdmission.overcommitFromSystemProperty()).isEqualTo(1);
            System.setProperty(GuestRamAdmission.OVERCOMMIT_PROPERTY, "8");
            assertThat(GuestRamAdmission.overcommitFromSystemProperty()).isEqualTo(8);
            System.setProperty(GuestRamAdmission.OVERCOMMIT_PROPERTY, "0.5");
            assertThatThrownBy(GuestRamAdmission::overcommitFromSystemProperty)
                    .isInstanceOf(HostMemoryException.class).hasMessageContaining("is not a number of at least 1");
        } finally {
            if (before == null) System.clearProperty(GuestRamAdmission.OVERCOMMIT_PROPERTY);
            else System.setProperty(GuestRamAdmission.OVERCOMMIT_PROPERTY, before);
        }
    }
}
