package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class PasstCommandTest {

    @Test
    void commandNamesTheSocketTheAddressPlanAndEachForward() {
        List<String> cmd = PasstCommand.build(Path.of("/usr/bin/passt"), Path.of("/tmp/d/sock/passt.sock"),
                GuestNetwork.userMode(), List.of(PortMapping.tcp(8080, 80), PortMapping.udp(5353, 53),
                        PortMapping.tcp(8443, 443)), OptionalInt.empty());
        assertThat(String.join(" ", cmd)).isEqualTo("/usr/bin/passt --foreground --one-off --ipv4-only"
                + " --socket /tmp/d/sock/passt.sock --address 10.0.2.15 --netmask 24 --gateway 10.0.2.2"
                + " --dns-forward 10.0.2.3 --no-dhcp -t 8080:80 -t 8443:443 -u 5353:53");
    }

    @Test
    void withoutForwardsNoPortIsForwardedEitherWay() {
        List<String> cmd = PasstCommand.build(Path.of("passt"), Path.of("/s"), GuestNetwork.userMode(), List.of(),
                OptionalInt.empty());
        assertThat(String.join(" ", cmd)).endsWith("--no-dhcp -t none -u none");
    }

    @Test
    void asRootPasstIsToldWhichUserToBecome() {
        List<String> cmd = PasstCommand.build(Path.of("passt"), Path.of("/s"), GuestNetwork.userMode(),
                List.of(PortMapping.udp(1000, 2000)), OptionalInt.of(PasstCommand.NOBODY));
        assertThat(String.join(" ", cmd)).endsWith("-t none -u 1000:2000 --runas 65534:65534");
    }

    @Test
    void onlyADnsServerInsideTheGuestSubnetIsForwardedToTheHostResolver() {
        GuestNetwork realDns = GuestNetwork.userMode().withDns(List.of(GuestNetwork.ipv4("1.1.1.1")));
        assertThat(PasstCommand.build(Path.of("passt"), Path.of("/s"), realDns, List.of(), OptionalInt.empty()))
                .doesNotContain("--dns-forward");
        GuestNetwork both = GuestNetwork.userMode().withDns(List.of(GuestNetwork.ipv4("1.1.1.1"), GuestNetwork.ipv4("10.0.2.3")));
        assertThat(String.join(" ", PasstCommand.build(Path.of("passt"), Path.of("/s"), both, List.of(), OptionalInt.empty())))
                .contains("--dns-forward 10.0.2.3");
    }
}
