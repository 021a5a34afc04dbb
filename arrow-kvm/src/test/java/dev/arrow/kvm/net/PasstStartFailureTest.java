package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.net.NetworkBackendException.Reason;
import org.junit.jupiter.api.Test;

/** What a user reads when passt gives up while starting, from what passt printed. */
class PasstStartFailureTest {

    @Test
    void aTakenPortNamesThePortAndTheFix() {
        NetworkBackendException e = PasstProcess.startFailure(1,
                "Failed to bind any port for '-t 8080:80', exiting", "; passt said: ...");
        assertThat(e.reason()).isEqualTo(Reason.PORT_IN_USE);
        assertThat(e.getMessage()).isEqualTo(
                "host port 8080 is already in use (tcp): stop what listens there or forward another host port");
    }

    @Test
    void aTakenPortOnAnAddressNamesTheAddressToo() {
        NetworkBackendException e = PasstProcess.startFailure(1,
                "Failed to bind any port for '-u 127.0.0.1/5353:53', exiting", "");
        assertThat(e.reason()).isEqualTo(Reason.PORT_IN_USE);
        assertThat(e.getMessage()).isEqualTo("host port 5353 is already in use (udp on 127.0.0.1): stop what listens"
                + " there or forward another host port");
    }

    @Test
    void aProgramThatCouldNotRunAndAJvmGoneBeforePasstStartedAreExplained() {
        assertThat(PasstProcess.describeExit(126)).isEqualTo("passt exited with code 126 (passt could not be"
                + " executed: as root, Arrow starts it as nobody, who must be able to reach and execute it)");
        assertThat(PasstProcess.describeExit(127)).isEqualTo("passt exited with code 127 (no such program)");
        assertThat(PasstProcess.describeExit(125)).isEqualTo("passt exited with code 125 (the process that started"
                + " it was gone before passt could start)");
    }

    @Test
    void aHostWithoutADefaultRouteIsToldToConnectOrToRunWithoutNetwork() {
        String said = "No external routable interface for IPv4\nExternal interface not usable";
        NetworkBackendException e = PasstProcess.startFailure(1, said, "; passt said:\n  " + said.replace("\n", "\n  "));
        assertThat(e.reason()).isEqualTo(Reason.NO_HOST_ROUTE);
        assertThat(e.getMessage())
                .startsWith("user-mode networking needs a host network interface with a default route, and this host has none")
                .contains("Net.none()")
                .endsWith("passt said:\n  No external routable interface for IPv4\n  External interface not usable");
    }

    @Test
    void aHostWithoutUserNamespacesIsToldHowToEnableThem() {
        NetworkBackendException e = PasstProcess.startFailure(1, "Couldn't create user namespace: Operation not permitted",
                "; passt said:\n  Couldn't create user namespace: Operation not permitted");
        assertThat(e.reason()).isEqualTo(Reason.PASST_FAILED_TO_START);
        assertThat(e.getMessage()).startsWith("passt could not create the user namespace it isolates itself in:")
                .contains("CONFIG_USER_NS=y", "user.max_user_namespaces");
    }

    @Test
    void anythingElseKeepsTheExitCodeAndWhatPasstSaid() {
        NetworkBackendException e = PasstProcess.startFailure(2, "Invalid option", "; passt said:\n  Invalid option");
        assertThat(e.reason()).isEqualTo(Reason.PASST_FAILED_TO_START);
        assertThat(e.getMessage()).isEqualTo("passt exited with code 2 while starting; passt said:\n  Invalid option");
    }

    @Test
    void anExitBySignalNamesTheSignalAndWhatItMeansForPasst() {
        assertThat(PasstProcess.describeExit(159)).isEqualTo("passt exited with code 159 (SIGSYS: passt's seccomp"
                + " filter refused a system call; the host's kernel log names it in an 'audit: type=1326' line, syscall=N)");
        assertThat(PasstProcess.describeExit(139)).isEqualTo("passt exited with code 139 (SIGSEGV: passt crashed)");
        assertThat(PasstProcess.describeExit(1)).isEqualTo("passt exited with code 1");
        assertThat(PasstProcess.startFailure(134, "", "").getMessage())
                .isEqualTo("passt exited with code 134 (SIGABRT: passt aborted) while starting");
    }
}
