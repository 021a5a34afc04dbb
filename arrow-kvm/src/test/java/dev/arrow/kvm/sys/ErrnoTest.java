package dev.arrow.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.KvmApiException;
import org.junit.jupiter.api.Test;

class ErrnoTest {

    @Test
    void namesAndDescribesCommonErrors() {
        assertThat(Errno.name(13)).isEqualTo("EACCES");
        assertThat(Errno.description(13)).isEqualTo("permission denied");
        assertThat(Errno.describe(2)).isEqualTo("ENOENT (no such file or directory)");
        assertThat(Errno.name(4)).isEqualTo("EINTR");
        assertThat(Errno.name(25)).isEqualTo("ENOTTY");
        assertThat(Errno.name(17)).isEqualTo("EEXIST");
    }

    @Test
    void unknownErrnoStillNamesTheNumber() {
        assertThat(Errno.describe(4242)).isEqualTo("errno 4242 (unknown error)");
    }

    @Test
    void apiExceptionNamesCallErrnoAndFix() {
        KvmApiException e = KvmApiException.of("KVM_CREATE_VM", Errno.EACCES);
        assertThat(e.getMessage()).isEqualTo(
                "KVM_CREATE_VM failed: EACCES (permission denied): add your user to group kvm or run as root");
        assertThat(e.call()).isEqualTo("KVM_CREATE_VM");
        assertThat(e.errno()).isEqualTo(Errno.EACCES);
        assertThat(KvmApiException.of("KVM_RUN", Errno.EINVAL).getMessage())
                .isEqualTo("KVM_RUN failed: EINVAL (invalid argument)");
    }

    @Test
    void directMappedCallsReportErrno() {
        assertThat(LibC.open("/nonexistent/arrow-test", LibC.O_RDWR)).isEqualTo(-1);
        assertThat(com.sun.jna.Native.getLastError()).isEqualTo(Errno.ENOENT);
    }
}
