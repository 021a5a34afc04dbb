package dev.arrow.kvm.net;

import java.security.SecureRandom;
import java.util.Locale;
import java.util.Objects;

/**
 * A 48-bit Ethernet (MAC) address, held in the low 48 bits of {@link #value()}; the first
 * octet on the wire is the most significant.
 */
public record MacAddress(long value) {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long MASK = 0xFFFF_FFFF_FFFFL;
    /** ff:ff:ff:ff:ff:ff, every station of the link. */
    public static final MacAddress BROADCAST = new MacAddress(MASK);

    public MacAddress {
        if ((value & ~MASK) != 0) {
            throw new IllegalArgumentException("a MAC address has 48 bits, got 0x" + Long.toHexString(value));
        }
    }

    /** Parses {@code 02:41:52:52:4f:57} (six hexadecimal octets separated by colons). */
    public static MacAddress parse(String text) {
        Objects.requireNonNull(text, "MAC address");
        String[] parts = text.split(":", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("MAC address '" + text + "' is not six octets like 02:41:52:52:4f:57");
        }
        long v = 0;
        for (String p : parts) {
            if (p.length() != 2 || Character.digit(p.charAt(0), 16) < 0 || Character.digit(p.charAt(1), 16) < 0) {
                throw new IllegalArgumentException("MAC address '" + text + "' is not six octets like 02:41:52:52:4f:57");
            }
            v = (v << 8) | Integer.parseInt(p, 16);
        }
        return new MacAddress(v);
    }

    /** The address from its six octets, {@code bytes[offset]} first. */
    public static MacAddress of(byte[] bytes, int offset) {
        Objects.checkFromIndexSize(offset, 6, bytes.length);
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = (v << 8) | (bytes[offset + i] & 0xff);
        }
        return new MacAddress(v);
    }

    /** A random locally administered unicast address (first octet {@code x2}, {@code x6}, {@code xA} or {@code xE}). */
    public static MacAddress randomLocal() {
        long v = RANDOM.nextLong() & MASK;
        v = (v & ~(0x03L << 40)) | (0x02L << 40); // clear multicast bit, set locally administered bit
        return new MacAddress(v);
    }

    /** The six octets, first on the wire first. */
    public byte[] octets() {
        byte[] b = new byte[6];
        copyTo(b, 0);
        return b;
    }

    /** Writes the six octets to {@code dst[offset..offset+6)}. */
    public void copyTo(byte[] dst, int offset) {
        Objects.checkFromIndexSize(offset, 6, dst.length);
        for (int i = 0; i < 6; i++) {
            dst[offset + i] = (byte) (value >>> (8 * (5 - i)));
        }
    }

    public boolean isMulticast() {
        return ((value >>> 40) & 1) != 0;
    }

    public boolean isLocallyAdministered() {
        return ((value >>> 40) & 2) != 0;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(17);
        for (int i = 5; i >= 0; i--) {
            sb.append(String.format(Locale.ROOT, "%02x", (value >>> (8 * i)) & 0xff));
            if (i > 0) {
                sb.append(':');
            }
        }
        return sb.toString();
    }
}
