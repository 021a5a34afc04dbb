package dev.arrow.kvm.loader;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LoadedKernelTest {

    @Test
    void setupHeaderCannotBeChangedFromOutside() {
        byte[] header = {1, 2, 3};
        LoadedKernel k = new LoadedKernel(LoadedKernel.Kind.BZIMAGE, 0x100200, 0x100000, 0x200000, header);
        header[0] = 9;
        k.setupHeader()[1] = 9;
        assertThat(k.setupHeader()).containsExactly(1, 2, 3);
        assertThat(k.hasSetupHeader()).isTrue();
    }

    @Test
    void equalityComparesHeaderContents() {
        LoadedKernel a = new LoadedKernel(LoadedKernel.Kind.BZIMAGE, 1, 2, 3, new byte[] {4});
        LoadedKernel b = new LoadedKernel(LoadedKernel.Kind.BZIMAGE, 1, 2, 3, new byte[] {4});
        LoadedKernel c = new LoadedKernel(LoadedKernel.Kind.BZIMAGE, 1, 2, 3, new byte[] {5});
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotEqualTo(c);
        assertThat(new LoadedKernel(LoadedKernel.Kind.ELF_VMLINUX, 1, 1, 2, new byte[0]).hasSetupHeader()).isFalse();
    }
}
