package dev.arrow.kvm.net.testing;

import dev.arrow.kvm.net.FrameCapture;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A capture of Ethernet frames in the classic pcap format (what {@link FrameCapture} writes),
 * turned into one line per frame, tcpdump style:
 * {@code +1.234567 10.0.2.15:40000 > 10.0.2.2:8080 TCP [S.] seq 0 ack 1 win 64240 len 0}, with
 * sequence and acknowledgement numbers relative to the first sequence number seen in each
 * direction of a connection (as tcpdump shows them); a frame other than ARP sent to the broadcast MAC says so.
 * For tests that explain a failed transfer from the capture; never used by the VMM. A truncated
 * last record (the writer was stopped mid-frame) ends the capture; anything else malformed is an
 * {@link IOException}.
 */
public final class PcapSummary {
    private static final int MAX_RECORD = 256 * 1024;

    private final List<String> lines;
    /** TCP payload bytes by the sending IPv4 address (dotted), retransmissions included. */
    private final Map<String, Long> tcpPayloadBySource;

    private PcapSummary(List<String> lines, Map<String, Long> tcpPayloadBySource) {
        this.lines = List.copyOf(lines);
        this.tcpPayloadBySource = Map.copyOf(tcpPayloadBySource);
    }

    /** Reads and summarizes {@code file}. */
    public static PcapSummary read(Path file) throws IOException {
        return of(Files.readAllBytes(file));
    }

    /** Summarizes a capture held in memory. */
    public static PcapSummary of(byte[] capture) throws IOException {
        List<String> lines = new ArrayList<>();
        Map<String, Long> firstSeq = new HashMap<>();
        Map<String, Long> payload = new HashMap<>();
        long firstMicros = -1;
        for (Record r : records(capture)) {
            if (firstMicros < 0) {
                firstMicros = r.micros();
            }
            long rel = r.micros() - firstMicros;
            lines.add(String.format(Locale.ROOT, "+%d.%06d %s%s", rel / 1_000_000, rel % 1_000_000,
                    describe(r.frame(), firstSeq), broadcastNote(r.frame())));
            countTcpPayload(r.frame(), payload);
        }
        return new PcapSummary(lines, payload);
    }

    /**
     * The TCP payload bytes the frames from {@code sourceAddress} (dotted IPv4) carried, every retransmission counted
     * again: set against the bytes the transfer needed, it says how often the data was sent.
     */
    public long tcpPayloadBytesFrom(String sourceAddress) {
        return tcpPayloadBySource.getOrDefault(sourceAddress, 0L);
    }

    private static void countTcpPayload(byte[] f, Map<String, Long> bySource) {
        int payload = tcpPayloadLength(f);
        if (payload > 0) {
            bySource.merge(ip(f, 26), (long) payload, Long::sum);
        }
    }

    /** The TCP payload bytes of an IPv4 frame (by its headers' lengths), or -1 for any other frame. */
    private static int tcpPayloadLength(byte[] f) {
        if (f.length < 34 || u16(f, 12) != 0x0800 || (f[23] & 0xff) != 6) {
            return -1;
        }
        int ihl = (f[14] & 0x0f) * 4;
        int l4 = 14 + ihl;
        if (f.length < l4 + 20) {
            return -1;
        }
        return u16(f, 16) - ihl - ((f[l4 + 12] & 0xff) >> 4) * 4;
    }

    /** One captured frame and when it was captured (microseconds since the epoch). */
    public record Record(long micros, byte[] frame) {
    }

    /** The frames of {@code file}, in capture order. */
    public static List<Record> records(Path file) throws IOException {
        return records(Files.readAllBytes(file));
    }

    /** The frames of a capture held in memory, in capture order. */
    public static List<Record> records(byte[] capture) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(capture).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < FrameCapture.FILE_HEADER_BYTES) {
            throw new IOException("not a pcap capture: " + capture.length + " bytes, shorter than its header");
        }
        int magic = in.getInt(0);
        if (magic != FrameCapture.MAGIC_MICROSECONDS) {
            in.order(ByteOrder.BIG_ENDIAN);
            if (in.getInt(0) != FrameCapture.MAGIC_MICROSECONDS) {
                throw new IOException(String.format("not a pcap capture: magic 0x%08x", magic));
            }
        }
        int linktype = in.getInt(20);
        if (linktype != FrameCapture.LINKTYPE_ETHERNET) {
            throw new IOException("pcap link type " + linktype + ", not Ethernet (1)");
        }
        in.position(FrameCapture.FILE_HEADER_BYTES);
        List<Record> records = new ArrayList<>();
        while (in.remaining() >= FrameCapture.RECORD_HEADER_BYTES) {
            long micros = Integer.toUnsignedLong(in.getInt()) * 1_000_000L + Integer.toUnsignedLong(in.getInt());
            int captured = in.getInt();
            in.getInt(); // original length
            if (captured < 0 || captured > MAX_RECORD) {
                throw new IOException("record " + (records.size() + 1) + " claims " + Integer.toUnsignedString(captured)
                        + " bytes");
            }
            if (captured > in.remaining()) {
                break; // the writer stopped inside this record
            }
            byte[] frame = new byte[captured];
            in.get(frame);
            records.add(new Record(micros, frame));
        }
        return records;
    }

    /** One line per frame, in capture order. */
    public List<String> lines() {
        return lines;
    }

    /** The numbers (from 0) of the frames that are TCP resets. */
    public List<Integer> resets() {
        List<Integer> found = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(" TCP [R")) {
                found.add(i);
            }
        }
        return found;
    }

    /**
     * What a failure report needs: the frames around the first reset (or, without one, the last
     * {@code context} frames), each numbered.
     */
    public String around(int context) {
        List<Integer> resets = resets();
        int center = resets.isEmpty() ? lines.size() : resets.get(0);
        int from = Math.max(0, center - context);
        int to = Math.min(lines.size(), resets.isEmpty() ? lines.size() : center + 1 + context / 4);
        StringBuilder b = new StringBuilder();
        b.append(lines.size()).append(" frames, ").append(resets.size()).append(" TCP resets; frames ")
                .append(from).append("..").append(to - 1).append(':');
        for (int i = from; i < to; i++) {
            b.append("\n  #").append(i).append(' ').append(lines.get(i));
        }
        return b.toString();
    }

    /** One frame, tcpdump style; {@code firstSeq} holds each TCP direction's first sequence number. */
    static String describe(byte[] f, Map<String, Long> firstSeq) {
        if (f.length < 14) {
            return "runt frame of " + f.length + " bytes";
        }
        int etherType = u16(f, 12);
        if (etherType == 0x0806) {
            if (f.length < 42) {
                return "ARP, truncated";
            }
            return (u16(f, 20) == 1 ? "ARP who-has " + ip(f, 38) + " tell " + ip(f, 28)
                    : "ARP reply " + ip(f, 28) + " is-at " + mac(f, 22));
        }
        if (etherType != 0x0800) {
            return String.format("ethertype 0x%04x, %d bytes", etherType, f.length);
        }
        if (f.length < 34) {
            return "IPv4, truncated";
        }
        int ihl = (f[14] & 0x0f) * 4;
        int total = u16(f, 16);
        int proto = f[23] & 0xff;
        String src = ip(f, 26);
        String dst = ip(f, 30);
        int l4 = 14 + ihl;
        if (proto == 6 && f.length >= l4 + 20) {
            int payload = tcpPayloadLength(f);
            String from = src + ":" + u16(f, l4);
            String to = dst + ":" + u16(f, l4 + 2);
            long seq = u32(f, l4 + 4);
            long ack = u32(f, l4 + 8);
            long seqBase = firstSeq.computeIfAbsent(from + ">" + to, k -> seq);
            long ackBase = firstSeq.getOrDefault(to + ">" + from, 0L);
            return String.format(Locale.ROOT, "%s > %s TCP [%s] seq %d ack %d win %d len %d", from, to,
                    tcpFlags(f[l4 + 13] & 0xff), (seq - seqBase) & 0xffffffffL, (ack - ackBase) & 0xffffffffL,
                    u16(f, l4 + 14), payload);
        }
        if (proto == 17 && f.length >= l4 + 8) {
            return String.format(Locale.ROOT, "%s:%d > %s:%d UDP len %d", src, u16(f, l4), dst, u16(f, l4 + 2),
                    u16(f, l4 + 4) - 8);
        }
        return String.format(Locale.ROOT, "%s > %s IP proto %d, %d bytes", src, dst, proto, total);
    }

    /**
     * " (to the broadcast MAC)" for a frame other than ARP sent to ff:ff:ff:ff:ff:ff, else "": a guest's TCP drops
     * segments that are not addressed to its own MAC (passt sends to the broadcast MAC until it has heard from the guest).
     */
    static String broadcastNote(byte[] f) {
        if (f.length < 14 || u16(f, 12) == 0x0806) {
            return "";
        }
        for (int i = 0; i < 6; i++) {
            if (f[i] != (byte) 0xff) {
                return "";
            }
        }
        return " (to the broadcast MAC)";
    }

    /** tcpdump's notation: S F R P, then "." for ACK; "none" without flags. */
    private static String tcpFlags(int flags) {
        StringBuilder b = new StringBuilder();
        if ((flags & 0x02) != 0) {
            b.append('S');
        }
        if ((flags & 0x01) != 0) {
            b.append('F');
        }
        if ((flags & 0x04) != 0) {
            b.append('R');
        }
        if ((flags & 0x08) != 0) {
            b.append('P');
        }
        if ((flags & 0x10) != 0) {
            b.append('.');
        }
        return b.length() == 0 ? "none" : b.toString();
    }

    private static int u16(byte[] f, int at) {
        return ((f[at] & 0xff) << 8) | (f[at + 1] & 0xff);
    }

    private static long u32(byte[] f, int at) {
        return ((long) u16(f, at) << 16) | u16(f, at + 2);
    }

    private static String ip(byte[] f, int at) {
        return (f[at] & 0xff) + "." + (f[at + 1] & 0xff) + "." + (f[at + 2] & 0xff) + "." + (f[at + 3] & 0xff);
    }

    private static String mac(byte[] f, int at) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            b.append(i == 0 ? "" : ":").append(String.format("%02x", f[at + i] & 0xff));
        }
        return b.toString();
    }
}
