package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KvmFlavourTest {
    private static KvmFlavour of(String json) throws Exception {
        return KvmFlavour.of(Json.MAPPER.readTree(json));
    }

    @Test
    void theLabIsTheLabWhateverItsKvmModuleIs() throws Exception {
        KvmFlavour f = of("{\"where\":\"lab\",\"kvm\":\"HARDWARE_AMD\",\"kvmFlavour\":\"lab: nested KVM\"}");
        assertThat(f.kind()).isEqualTo(KvmFlavour.Kind.LAB);
        assertThat(f.tag()).isEqualTo("lab");
        assertThat(f.figures()).startsWith("Lab figures");
    }

    @Test
    void aHostIsWhatItsKvmIs() throws Exception {
        assertThat(of("{\"where\":\"host\",\"kvm\":\"HARDWARE_INTEL\",\"kvmFlavour\":\"hardware KVM (Intel VT-x, kvm_intel)\"}"))
                .isEqualTo(new KvmFlavour(KvmFlavour.Kind.HARDWARE, "hardware KVM (Intel VT-x, kvm_intel)"));
        assertThat(of("{\"where\":\"host\",\"kvm\":\"PVM\",\"kvmFlavour\":\"PVM (kvm_pvm)\"}").tag()).isEqualTo("PVM");
        assertThat(of("{\"where\":\"host\",\"kvm\":\"UNKNOWN\",\"kvmFlavour\":\"KVM of an unknown kind\"}").kind())
                .isEqualTo(KvmFlavour.Kind.OTHER);
    }

    @Test
    void noFileIsNotRecorded() {
        KvmFlavour f = KvmFlavour.of(null);
        assertThat(f.kind()).isEqualTo(KvmFlavour.Kind.UNRECORDED);
        assertThat(f.figures()).contains("not recorded");
    }
}
