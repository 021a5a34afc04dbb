package dev.arrow.kvm.net;

import static dev.arrow.kvm.net.GuestNetwork.ipv4;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class GuestNetworkTest {

    @Test
    void theUserModePlanIsTheSlirpConvention() {
        GuestNetwork n = GuestNetwork.userMode();
        assertThat(n.cidr()).isEqualTo("10.0.2.15/24");
        assertThat(n.netmask()).isEqualTo("255.255.255.0");
        assertThat(n.gateway().getHostAddress()).isEqualTo("10.0.2.2");
        assertThat(n.dns()).extracting(a -> a.getHostAddress()).containsExactly("10.0.2.3");
        assertThat(n.mtu()).isEqualTo(1500);
        assertThat(n.mac()).hasToString("02:41:52:52:4f:57");
        assertThat(n.mac().isLocallyAdministered()).isTrue();
    }

    @Test
    void netmasksFollowThePrefix() {
        GuestNetwork n = GuestNetwork.userMode();
        assertThat(new GuestNetwork(n.mac(), ipv4("172.16.5.2"), 30, ipv4("172.16.5.1"), List.of(), 1500).netmask())
                .isEqualTo("255.255.255.252");
        assertThat(new GuestNetwork(n.mac(), ipv4("10.1.2.3"), 8, ipv4("10.0.0.1"), List.of(), 1500).netmask())
                .isEqualTo("255.0.0.0");
    }

    @Test
    void inconsistentPlansAreRefusedWithTheReason() {
        MacAddress mac = GuestNetwork.DEFAULT_MAC;
        assertThatThrownBy(() -> new GuestNetwork(mac, ipv4("10.0.2.15"), 24, ipv4("10.0.3.2"), List.of(), 1500))
                .hasMessageContaining("not in the guest's subnet");
        assertThatThrownBy(() -> new GuestNetwork(mac, ipv4("10.0.2.0"), 24, ipv4("10.0.2.2"), List.of(), 1500))
                .hasMessageContaining("network address");
        assertThatThrownBy(() -> new GuestNetwork(mac, ipv4("10.0.2.15"), 24, ipv4("10.0.2.255"), List.of(), 1500))
                .hasMessageContaining("broadcast address");
        assertThatThrownBy(() -> new GuestNetwork(mac, ipv4("10.0.2.15"), 24, ipv4("10.0.2.15"), List.of(), 1500))
                .hasMessageContaining("both 10.0.2.15");
        assertThatThrownBy(() -> new GuestNetwork(mac, ipv4("10.0.2.15"), 31, ipv4("10.0.2.14"), List.of(), 1500))
                .hasMessageContaining("outside 1..30");
        assertThatThrownBy(() -> new GuestNetwork(mac, ipv4("127.0.0.2"), 8, ipv4("127.0.0.1"), List.of(), 1500))
                .hasMessageContaining("reserved");
        assertThatThrownBy(() -> new GuestNetwork(mac, ipv4("10.0.2.15"), 24, ipv4("10.0.2.2"),
                List.of(ipv4("1.1.1.1"), ipv4("1.0.0.1"), ipv4("8.8.8.8"), ipv4("8.8.4.4")), 1500))
                .hasMessageContaining("at most 3");
        assertThatThrownBy(() -> GuestNetwork.userMode().withMtu(67)).hasMessageContaining("MTU 67");
        assertThatThrownBy(() -> GuestNetwork.userMode().withMac(MacAddress.parse("01:00:5e:00:00:01")))
                .hasMessageContaining("multicast");
    }

    @Test
    void ipv4LiteralsAreStrictAndNeverLookedUp() {
        assertThat(ipv4("192.168.1.254").getHostAddress()).isEqualTo("192.168.1.254");
        for (String bad : new String[] {"10.0.2", "10.0.2.256", "010.0.2.1", "10.0.2.x", "localhost", "10..2.1", "1.2.3.4.5"}) {
            assertThatThrownBy(() -> ipv4(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void subnetMembership() {
        GuestNetwork n = GuestNetwork.userMode();
        assertThat(n.inSubnet(ipv4("10.0.2.3"))).isTrue();
        assertThat(n.inSubnet(ipv4("10.0.3.3"))).isFalse();
    }

    @Test
    void macAddressesParsePrintAndRandomiseAsLocalUnicast() {
        MacAddress m = MacAddress.parse("02:AB:cd:00:11:ff");
        assertThat(m).hasToString("02:ab:cd:00:11:ff");
        assertThat(m.octets()).containsExactly(0x02, 0xab, 0xcd, 0x00, 0x11, 0xff);
        assertThat(MacAddress.of(m.octets(), 0)).isEqualTo(m);
        for (int i = 0; i < 100; i++) {
            MacAddress r = MacAddress.randomLocal();
            assertThat(r.isMulticast()).isFalse();
            assertThat(r.isLocallyAdministered()).isTrue();
        }
        for (String bad : new String[] {"02:ab:cd:00:11", "02:ab:cd:00:11:ff:00", "2:ab:cd:00:11:ff", "zz:ab:cd:00:11:ff"}) {
            assertThatThrownBy(() -> MacAddress.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
