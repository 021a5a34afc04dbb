package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Tier 1: the host's memory read at each start, the cgroup's files located at most once a second. */
class HostMemoryReaderTest {
    private static final long GiB = 1 << 30;
    private static final String MEMINFO = "MemTotal:       24683748 kB\nMemAvailable:   23109348 kB\n";
    private static final String V1_LIMIT = "/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes";
    private static final String V1_USAGE = "/sys/fs/cgroup/memory/process_api/abc/memory.usage_in_bytes";

    final Map<String, String> files = new HashMap<>(Map.of("/proc/meminfo", MEMINFO,
            "/proc/self/cgroup", "9:systemd:/\n4:memory:/process_api/abc\n0::/\n",
            V1_LIMIT, "4294967296\n", V1_USAGE, "1073741824\n"));
    final List<String> asked = new ArrayList<>();
    final AtomicLong now = new AtomicLong(5_000_000_000L);
    final HostMemory.Reader reader = new HostMemory.Reader(p -> {
        asked.add(p.toString());
        return files.get(p.toString());
    }, now::get);

    @Test
    void aSecondReadWithinASecondReadsOnlyMeminfoAndTheLocatedLimitAndUsage() {
        assertThat(reader.read()).hasValueSatisfying(h -> assertThat(h.cgroupRoomBytes()).hasValue(3 * GiB));
        assertThat(asked).contains("/proc/self/cgroup", "/sys/fs/cgroup/memory.max");
        asked.clear();
        files.put(V1_USAGE, "2147483648\n");
        now.addAndGet(HostMemory.Reader.RELOCATE_NANOS - 1);

        assertThat(reader.read()).as("the usage is read again").hasValueSatisfying(h -> {
            assertThat(h.cgroupRoomBytes()).hasValue(2 * GiB);
            assertThat(h.cgroupDescription()).isEqualTo("memory cgroup /process_api/abc");
        });
        assertThat(asked).containsExactly("/proc/meminfo", V1_LIMIT, V1_USAGE);
    }

    @Test
    void afterASecondTheCgroupIsLocatedAgain() {
        reader.read();
        files.put("/proc/self/cgroup", "0::/user.slice/app\n");
        files.put("/sys/fs/cgroup/user.slice/app/memory.max", "2147483648\n");
        files.put("/sys/fs/cgroup/user.slice/app/memory.current", "1073741824\n");
        assertThat(reader.read()).as("still the located v1 files").hasValueSatisfying(h ->
                assertThat(h.cgroupRoomBytes()).hasValue(3 * GiB));

        now.addAndGet(HostMemory.Reader.RELOCATE_NANOS);
        assertThat(reader.read()).hasValueSatisfying(h -> {
            assertThat(h.cgroupRoomBytes()).hasValue(GiB);
            assertThat(h.cgroupDescription()).isEqualTo("cgroup /user.slice/app");
        });
    }

    @Test
    void aLocatedFileThatWentAwayIsLocatedAgainAtOnce() {
        reader.read();
        files.remove(V1_LIMIT);
        files.remove(V1_USAGE);
        files.put("/sys/fs/cgroup/memory/memory.limit_in_bytes", "1073741824\n");
        files.put("/sys/fs/cgroup/memory/memory.usage_in_bytes", "536870912\n");

        assertThat(reader.read()).hasValueSatisfying(h -> assertThat(h.cgroupRoomBytes()).hasValue(GiB / 2));
        asked.clear();
        assertThat(reader.read()).hasValueSatisfying(h -> assertThat(h.cgroupRoomBytes()).hasValue(GiB / 2));
        assertThat(asked).as("the new place is kept").doesNotContain("/proc/self/cgroup");
    }

    @Test
    void meminfoFieldsAreFoundWholeWhereverTheyStand() {
        String meminfo = "MemTotal:       24683748 kB\nMemFree:\t20000000 kB\nXMemAvailable: 1 kB\n"
                + "MemAvailable:   23109348 kB\nBroken:   12x kB\nLast: 7";
        assertThat(HostMemory.meminfoBytes(meminfo, "MemTotal")).hasValue(24683748L * 1024);
        assertThat(HostMemory.meminfoBytes(meminfo, "MemFree")).hasValue(20000000L * 1024);
        assertThat(HostMemory.meminfoBytes(meminfo, "MemAvailable")).as("not XMemAvailable").hasValue(23109348L * 1024);
        assertThat(HostMemory.meminfoBytes(meminfo, "Last")).hasValue(7 * 1024);
        assertThat(HostMemory.meminfoBytes(meminfo, "Broken")).isEmpty();
        assertThat(HostMemory.meminfoBytes(meminfo, "Mem")).isEmpty();
        assertThat(HostMemory.meminfoBytes("MemAvailable:\n", "MemAvailable")).isEmpty();
    }

    @Test
    void aMissingFileIsNoneAndAPresentOneIsRead() {
        assertThat(HostMemory.readIfPresent(Path.of("/proc/self/no-such-file"))).isNull();
        assertThat(HostMemory.readIfPresent(Path.of("/proc/meminfo"))).contains("MemAvailable:");
    }
}
