package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class PasstCommandTest {
    static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    static final long JVM = 4711;
    /** setpriv's part and the shell that checks the parent, before passt's own command line. */
    static final String PARENT_CHECK = "-- /bin/sh -c [ \"$PPID\" = \"$1\" ] || exit 125; shift; exec \"$@\" arrow-passt 4711";

    static String command(List<PortMapping> forwards, boolean hostLoopback, OptionalInt runAs) {
        return String.join(" ", PasstCommand.build(SETPRIV, Path.of("passt"), Path.of("/s"), GuestNetwork.userMode(),
                forwards, hostLoopback, runAs, JVM));
    }

    @Test
    void commandNamesTheSocketTheAddressPlanAndEachForwardOnItsHostAddress() {
        List<String> cmd = PasstCommand.build(SETPRIV, Path.of("/usr/bin/passt"), Path.of("/tmp/d/sock/passt.sock"),
                GuestNetwork.userMode(), List.of(PortMapping.tcp(8080, 80), PortMapping.udp(5353, 53),
                        PortMapping.tcp(8443, 443).on(PortMapping.ANY)), false, OptionalInt.empty(), JVM);
        assertThat(String.join(" ", cmd)).isEqualTo("/usr/bin/setpriv --pdeathsig KILL " + PARENT_CHECK
                + " /usr/bin/passt --foreground --one-off --ipv4-only"
                + " --socket /tmp/d/sock/passt.sock --address 10.0.2.15 --netmask 24 --gateway 10.0.2.2"
                + " --dns-forward 10.0.2.3 --no-dhcp --no-map-gw"
                + " -t 127.0.0.1/8080:80 -t 0.0.0.0/8443:443 -u 127.0.0.1/5353:53");
    }

    @Test
    void byDefaultTheGatewayIsNotMappedToTheHostsLoopback() {
        assertThat(command(List.of(), false, OptionalInt.empty())).endsWith("--no-dhcp --no-map-gw -t none -u none");
    }

    @Test
    void withTheHostsLoopbackAllowedTheGatewayIsMappedToIt() {
        String cmd = command(List.of(PortMapping.tcp(8080, 80)), true, OptionalInt.empty());
        assertThat(cmd).doesNotContain("--no-map-gw").endsWith("--no-dhcp -t 127.0.0.1/8080:80 -u none");
    }

    @Test
    void aForwardOnAGivenAddressOfTheHostNamesIt() {
        PortMapping m = PortMapping.udp(5000, 53).on(GuestNetwork.ipv4("192.0.2.7"));
        assertThat(command(List.of(m), false, OptionalInt.empty())).endsWith("-t none -u 192.0.2.7/5000:53");
    }

    @Test
    void asRootSetprivBecomesNobodyBeforeSettingTheDeathSignalAndPasstIsNotToldToSwitch() {
        String cmd = command(List.of(PortMapping.udp(1000, 2000)), false, OptionalInt.of(PasstCommand.NOBODY));
        assertThat(cmd).startsWith("/usr/bin/setpriv --pdeathsig KILL --reuid 65534 --regid 65534 --clear-groups "
                + PARENT_CHECK + " passt ")
                .endsWith("-t none -u 127.0.0.1/1000:2000")
                .doesNotContain("--runas");
    }

    @Test
    void withoutRootSetprivOnlySetsTheDeathSignal() {
        assertThat(command(List.of(), true, OptionalInt.empty())).startsWith("/usr/bin/setpriv --pdeathsig KILL "
                + PARENT_CHECK + " passt ")
                .doesNotContain("--reuid");
    }

    /** The shell check runs for real: it becomes the program when its parent is the given pid, else exits 125. */
    @Test
    void theParentCheckBecomesTheProgramOnlyUnderTheGivenParent() throws Exception {
        long me = ProcessHandle.current().pid();
        Process ok = new ProcessBuilder(PasstCommand.SHELL, "-c", PasstCommand.PARENT_CHECK, "arrow-passt",
                Long.toString(me), "/bin/echo", "became", "the program").start();
        assertThat(new String(ok.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("became the program\n");
        assertThat(ok.waitFor()).isZero();
        Process orphan = new ProcessBuilder(PasstCommand.SHELL, "-c", PasstCommand.PARENT_CHECK, "arrow-passt",
                Long.toString(me + 1), "/bin/echo", "must not run").start();
        assertThat(orphan.getInputStream().readAllBytes()).isEmpty();
        assertThat(orphan.waitFor()).isEqualTo(PasstCommand.PARENT_GONE);
    }

    @Test
    void onlyADnsServerInsideTheGuestSubnetIsForwardedToTheHostResolver() {
        GuestNetwork realDns = GuestNetwork.userMode().withDns(List.of(GuestNetwork.ipv4("1.1.1.1")));
        assertThat(PasstCommand.build(SETPRIV, Path.of("passt"), Path.of("/s"), realDns, List.of(), false,
                OptionalInt.empty(), JVM)).doesNotContain("--dns-forward");
        GuestNetwork both = GuestNetwork.userMode().withDns(List.of(GuestNetwork.ipv4("1.1.1.1"), GuestNetwork.ipv4("10.0.2.3")));
        assertThat(String.join(" ", PasstCommand.build(SETPRIV, Path.of("passt"), Path.of("/s"), both, List.of(), false,
                OptionalInt.empty(), JVM))).contains("--dns-forward 10.0.2.3");
    }
}
