package dev.arrow.kvm.loader;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.virtio.WatchedMemory;

/**
 * Coverage-guided fuzzing (Jazzer) of the kernel loader on arbitrary file bytes (ELF vmlinux and
 * bzImage headers, program headers, segment sizes and addresses, setup-header fields): the result
 * is a {@link LoadedKernel} whose range lies inside guest RAM, or a {@link KernelLoadException};
 * nothing else escapes, and no write leaves guest RAM.
 *
 * <p>A plain {@code mvn test} replays the corpus in
 * {@code src/test/resources/dev/arrow/kvm/loader/KernelLoaderGuidedFuzzTestInputs/}; {@code scripts/fuzz}
 * fuzzes it.
 */
class KernelLoaderGuidedFuzzTest {
    /** Guest RAM of 24 MiB: room for a kernel at the 16 MiB load address, not for much more. */
    static final HeapGuestMemory RAM = HeapGuestMemory.ofSize(24L << 20);

    @FuzzTest
    void anyFileBytesLoadInsideGuestRamOrFailWithAKernelLoadError(byte[] image) {
        WatchedMemory memory = new WatchedMemory(RAM);
        try {
            LoadedKernel kernel = KernelLoader.load("fuzzed", image, memory);
            assertThat(kernel.endAddress()).isGreaterThanOrEqualTo(kernel.startAddress());
            assertThat(memory.isValid(GuestAddress.of(kernel.startAddress()),
                    Math.max(1, kernel.endAddress() - kernel.startAddress())))
                    .as("loaded range %s inside guest RAM", kernel).isTrue();
        } catch (KernelLoadException expected) {
            assertThat(expected.getMessage()).startsWith("kernel image fuzzed");
        }
        assertThat(memory.violations()).as("accesses outside guest RAM").isEmpty();
    }
}
