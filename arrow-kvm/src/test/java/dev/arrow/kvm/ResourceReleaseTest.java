package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.testing.KvmTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Tier 2: close() gives back every fd and mapping, counted in /proc/self. */
@KvmTest
class ResourceReleaseTest {
    static final int CYCLES = 100;

    private static void cycle() throws IOException {
        byte[] code = Asm.real().movAl(1).outAl(0x10).hlt().bytes();
        try (TinyGuest g = new TinyGuest(2L << 20, true).realMode(code, 0x1000);
             EventFd e = EventFd.create(true)) {
            Vcpu second = g.vm.createVcpu(1);
            g.vm.registerIoEvent(e, Vm.AddressSpace.PIO, 0x50, 1, null);
            g.vm.registerIrqfd(e, 5);
            g.expectOut(0x10, 1, 1);
            assertThat(second.getRegs()).isNotNull();
            // the counters below can see what a leak would leave: two kvm_run mappings now
            assertThat(kvmMappings()).isEqualTo(2);
        }
    }

    private static long count(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            try (Stream<Path> s = Files.list(p)) {
                return s.count();
            }
        }
        try (Stream<String> s = Files.lines(p)) {
            return s.count();
        }
    }

    private static long kvmMappings() throws IOException {
        try (Stream<String> s = Files.lines(Path.of("/proc/self/maps"))) {
            return s.filter(l -> l.contains("kvm")).count();
        }
    }

    @Test
    void hundredCreateCloseCyclesLeakNoFdOrMapping() throws IOException {
        cycle(); // warm up: classes, the kick signal, JNA
        System.gc();
        long fdsBefore = count(Path.of("/proc/self/fd"));
        long mapsBefore = count(Path.of("/proc/self/maps"));
        for (int i = 0; i < CYCLES; i++) {
            cycle();
        }
        long fdsAfter = count(Path.of("/proc/self/fd"));
        long mapsAfter = count(Path.of("/proc/self/maps"));
        // each cycle opens 5 fds and maps 3 ranges; a leak would show as hundreds
        assertThat(fdsAfter).as("open fds after %d cycles", CYCLES).isLessThanOrEqualTo(fdsBefore + 2);
        assertThat(mapsAfter).as("mappings after %d cycles (JVM may add a few)", CYCLES).isLessThan(mapsBefore + 20);
        assertThat(kvmMappings()).as("kvm_run mappings left").isZero();
    }
}
