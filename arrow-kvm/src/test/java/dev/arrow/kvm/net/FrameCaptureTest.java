package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.net.NetworkBackendException.Reason;
import dev.arrow.kvm.net.testing.PcapSummary;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pcap file a guest NIC's traffic is captured to: its header, its records, its errors. */
class FrameCaptureTest {
    static final Instant AT = Instant.parse("2026-12-03T10:00:00.123456789Z");
    static final Clock CLOCK = Clock.fixed(AT, ZoneOffset.UTC);

    @Test
    void theFileStartsWithAClassicPcapHeaderForEthernetWithWholeFrames(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("guest.pcap");
        FrameCapture.open(file, CLOCK).close();
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(h.remaining()).isEqualTo(24);
        assertThat(h.getInt()).as("magic, microsecond timestamps").isEqualTo(0xa1b2c3d4);
        assertThat(h.getShort()).as("version major").isEqualTo((short) 2);
        assertThat(h.getShort()).as("version minor").isEqualTo((short) 4);
        assertThat(h.getInt()).as("time zone").isZero();
        assertThat(h.getInt()).as("accuracy").isZero();
        assertThat(h.getInt()).as("snapshot length").isEqualTo(NetworkBackend.MAX_FRAME_BYTES);
        assertThat(h.getInt()).as("link type Ethernet").isEqualTo(1);
    }

    @Test
    void eachFrameIsARecordWithItsTimeAndItsBytesInOrder(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("guest.pcap");
        byte[] arp = TestFrames.arpRequest(MacAddress.parse("02:41:52:52:4f:57"), ip("10.0.2.15"), ip("10.0.2.2"));
        byte[] big = new byte[NetworkBackend.MAX_FRAME_BYTES];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 7);
        }
        try (FrameCapture capture = FrameCapture.open(file, CLOCK)) {
            ByteBuffer frame = ByteBuffer.wrap(arp);
            capture.record(frame);
            assertThat(frame.position()).as("the frame's position is left alone").isZero();
            for (int i = 0; i < 10; i++) { // more than the buffer holds: it is written out between frames
                capture.record(big, 0, big.length);
            }
            capture.record(arp, 0, 14);
            assertThat(capture.frames()).isEqualTo(12);
        }
        List<PcapSummary.Record> records = PcapSummary.records(file);
        assertThat(records).hasSize(12);
        assertThat(records).allSatisfy(r -> assertThat(r.micros()).isEqualTo(AT.getEpochSecond() * 1_000_000 + 123_456));
        assertThat(records.get(0).frame()).isEqualTo(arp);
        assertThat(records.subList(1, 11)).allSatisfy(r -> assertThat(r.frame()).isEqualTo(big));
        assertThat(records.get(11).frame()).hasSize(14);
        assertThat(PcapSummary.of(Files.readAllBytes(file)).lines().get(0))
                .isEqualTo("+0.000000 ARP who-has 10.0.2.2 tell 10.0.2.15");
    }

    @Test
    void aFrameLargerThanTheSnapshotLengthIsACallerBug(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("guest.pcap");
        try (FrameCapture capture = FrameCapture.open(file, CLOCK)) {
            assertThatThrownBy(() -> capture.record(new byte[NetworkBackend.MAX_FRAME_BYTES + 1], 0,
                    NetworkBackend.MAX_FRAME_BYTES + 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("frame of 65554 bytes, more than the 65553 a capture holds");
            assertThat(capture.frames()).isZero();
        }
        assertThat(PcapSummary.records(file)).isEmpty();
    }

    @Test
    void anExistingFileIsReplaced(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("guest.pcap");
        Files.write(file, new byte[100_000]);
        FrameCapture.open(file, CLOCK).close();
        assertThat(Files.size(file)).isEqualTo(24);
    }

    @Test
    void aMissingDirectoryIsNamedWithTheFix(@TempDir Path tmp) {
        Path file = tmp.resolve("no/such/dir/guest.pcap");
        assertThatThrownBy(() -> FrameCapture.open(file))
                .isInstanceOfSatisfying(NetworkBackendException.class, e -> assertThat(e.reason()).isEqualTo(Reason.IO))
                .hasMessage("cannot capture the guest's traffic to " + file + ": directory " + tmp.resolve("no/such/dir")
                        + " does not exist; create it or name a file in an existing directory");
    }

    @Test
    void aDirectoryIsNotACaptureFile(@TempDir Path tmp) {
        assertThatThrownBy(() -> FrameCapture.open(tmp))
                .isInstanceOf(NetworkBackendException.class)
                .hasMessage("cannot capture the guest's traffic to " + tmp + ": it is a directory; name a file Arrow may create");
    }

    @Test
    void anInterruptedThreadStillWritesAndClosesTheWholeCapture(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("guest.pcap");
        FrameCapture capture = FrameCapture.open(file, CLOCK);
        Thread.currentThread().interrupt(); // as RunningVm's release leaves its thread before closing devices
        try {
            capture.record(new byte[60], 0, 60);
            capture.close();
        } finally {
            assertThat(Thread.interrupted()).as("the flag is left as it was").isTrue();
        }
        assertThat(PcapSummary.records(file)).hasSize(1);
    }

    @Test
    void aFileThatCannotTakeTheHeaderIsRefusedWithTheReason() {
        Assumptions.assumeTrue(Files.isWritable(Path.of("/dev")), "needs a writable /dev (root) to open /dev/full");
        // /dev/full opens, and refuses every write with ENOSPC
        assertThatThrownBy(() -> FrameCapture.open(Path.of("/dev/full")))
                .isInstanceOf(NetworkBackendException.class)
                .hasMessageStartingWith("cannot capture the guest's traffic to /dev/full: ")
                .hasMessageContaining("No space left on device")
                .hasMessageEndingWith("; name a file Arrow may create");
    }

    @Test
    void aDiscardedCaptureLeavesNoFile(@TempDir Path tmp) {
        Path file = tmp.resolve("guest.pcap");
        FrameCapture capture = FrameCapture.open(file, CLOCK);
        capture.discard();
        capture.record(new byte[60], 0, 60); // ignored
        capture.close();
        assertThat(file).doesNotExist();
    }

    static Inet4Address ip(String dotted) throws Exception {
        return (Inet4Address) InetAddress.getByName(dotted);
    }
}
