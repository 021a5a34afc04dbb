package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.virtio.rng.VirtioRng;
import java.io.OutputStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The host side a clone is given (tier 1). */
class VmCloneHostSideTest {
    @Test
    void everyHostCollaboratorIsRequired() {
        assertThatThrownBy(() -> VmClone.of(null, line -> { })).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("serial output");
        assertThatThrownBy(() -> VmClone.of(OutputStream.nullOutputStream(), null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("status listener");
        assertThatThrownBy(() -> new VmClone(OutputStream.nullOutputStream(), line -> { }, null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("VirtioRestorer.NONE");
    }

    @Test
    void aCloneWithoutARestorerRefusesTheTemplatesVirtioDevicesNamingTheSlot() {
        VmClone clone = VmClone.of(OutputStream.nullOutputStream(), line -> { });
        assertThatThrownBy(() -> clone.virtioDevices().restore(VirtioSlot.of(2), new VirtioRng.State(VirtioRng.State.NONE)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("slot 2");
    }

    @Test
    void configsAreNotTemplateableUnlessAskedFor() {
        VmConfig.Builder builder = VmConfig.builder().kernel(Path.of("vmlinux"));
        assertThat(builder.build().templateable()).isFalse();
        assertThat(builder.templateable(true).build().templateable()).isTrue();
    }
}
