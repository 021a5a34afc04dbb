package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Tier 1: the names the VMM gives virtio devices in its logs. */
class VirtioDevicesNamesTest {
    @Test
    void theClonesStepNameOfEachTypeIsVirtioAndItsTypeName() {
        for (int type = 0; type <= 64; type++) {
            assertThat(VirtioDevices.stepName(type)).as("type %d", type).isEqualTo("virtio " + VirtioDevices.typeName(type));
        }
        assertThat(VirtioDevices.stepName(3)).isEqualTo("virtio console");
        assertThat(VirtioDevices.stepName(99)).isEqualTo("virtio type-99");
    }
}
