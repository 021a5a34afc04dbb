package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The announcement frame: broadcast, from the guest's MAC, an ARP request for its own address. */
class GratuitousArpTest {

    @Test
    void aGratuitousArpNamesTheGuestAsSenderAndTarget() throws Exception {
        MacAddress mac = MacAddress.parse("02:41:52:52:4f:57");
        Inet4Address ip = (Inet4Address) InetAddress.getByName("10.0.2.15");
        ByteBuffer f = GratuitousArp.frame(mac, ip);
        assertThat(f.remaining()).isEqualTo(60);
        assertThat(MacAddress.of(f.array(), 0)).isEqualTo(MacAddress.BROADCAST);
        assertThat(MacAddress.of(f.array(), 6)).isEqualTo(mac);
        assertThat(f.getShort(12)).isEqualTo((short) 0x0806);
        assertThat(f.getShort(14)).as("Ethernet").isEqualTo((short) 1);
        assertThat(f.getShort(16)).as("IPv4").isEqualTo((short) 0x0800);
        assertThat(f.get(18)).isEqualTo((byte) 6);
        assertThat(f.get(19)).isEqualTo((byte) 4);
        assertThat(f.getShort(20)).as("request").isEqualTo((short) 1);
        assertThat(MacAddress.of(f.array(), 22)).isEqualTo(mac);
        assertThat(f.getInt(28)).isEqualTo(0x0a00020f);
        assertThat(MacAddress.of(f.array(), 32)).isEqualTo(new MacAddress(0));
        assertThat(f.getInt(38)).isEqualTo(0x0a00020f);
    }
}
