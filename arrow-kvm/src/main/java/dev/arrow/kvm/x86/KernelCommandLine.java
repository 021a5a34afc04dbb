package dev.arrow.kvm.x86;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Linux kernel command line of a guest, as the VMM's boot path passes it along (linux-loader's
 * {@code Cmdline}): built by appending entries, {@code key} or {@code key=value}, each checked when
 * appended, so a value of this type is always a line the kernel parses as meant. Immutable: every
 * {@code with} returns a new line.
 *
 * <ul>
 *   <li>Keys are printable ASCII without space, {@code =} or {@code "}, and not {@code --} (which
 *       ends the kernel's parameters and hands the rest to init); values are printable ASCII
 *       without {@code "}, quoted when they contain a space.</li>
 *   <li>An entry equal to one the line holds already is not added again: Linux would act on both
 *       (two {@code virtio_mmio.device} entries for one window register the device twice). A key
 *       may repeat with different values ({@code console=ttyS0 console=tty0}).</li>
 *   <li>The whole line, entries separated by one space, fits x86's {@code COMMAND_LINE_SIZE}
 *       ({@link Layout#CMDLINE_MAX_SIZE} bytes with the terminating NUL).</li>
 * </ul>
 * Violations are {@link IllegalArgumentException}s saying what to change.
 */
public final class KernelCommandLine {
    private static final KernelCommandLine EMPTY = new KernelCommandLine(List.of(), 0);

    private final List<String> entries;
    private final int length;

    private KernelCommandLine(List<String> entries, int length) {
        this.entries = entries;
        this.length = length;
    }

    /** A line without entries. */
    public static KernelCommandLine empty() {
        return EMPTY;
    }

    /** The line of {@code parameters} in order, each {@code key} or {@code key=value} (see {@link #with(String)}). */
    public static KernelCommandLine of(List<String> parameters) {
        KernelCommandLine line = EMPTY;
        for (String p : parameters) {
            line = line.with(p);
        }
        return line;
    }

    /** Like {@link #of(List)}. */
    public static KernelCommandLine of(String... parameters) {
        return of(Arrays.asList(parameters));
    }

    /**
     * This line plus {@code parameter}: {@code key} (a flag such as {@code quiet}) or
     * {@code key=value}, split at the first {@code =}; the value is written unquoted.
     */
    public KernelCommandLine with(String parameter) {
        if (parameter == null) {
            throw new IllegalArgumentException("kernel parameter is null");
        }
        int eq = parameter.indexOf('=');
        return eq < 0 ? withEntry(checkKey(parameter)) : with(parameter.substring(0, eq), parameter.substring(eq + 1));
    }

    /** This line plus {@code key=value}. */
    public KernelCommandLine with(String key, String value) {
        checkKey(key);
        checkValue(key, value);
        return withEntry(key + "=" + (value.indexOf(' ') >= 0 ? '"' + value + '"' : value));
    }

    private KernelCommandLine withEntry(String entry) {
        if (entries.contains(entry)) {
            return this;
        }
        int longer = entries.isEmpty() ? entry.length() : length + 1 + entry.length();
        if (longer > Layout.CMDLINE_MAX_SIZE - 1) {
            throw new IllegalArgumentException("kernel command line would be " + longer + " bytes with " + entry
                    + ", at most " + (Layout.CMDLINE_MAX_SIZE - 1) + " fit (x86 COMMAND_LINE_SIZE " + Layout.CMDLINE_MAX_SIZE
                    + " with the NUL): shorten it");
        }
        List<String> more = new ArrayList<>(entries.size() + 1);
        more.addAll(entries);
        more.add(entry);
        return new KernelCommandLine(List.copyOf(more), longer);
    }

    /** The entries as written on the line, in order. */
    public List<String> entries() {
        return entries;
    }

    /** True if {@code entry} ({@code key} or {@code key=value} as written on the line) is on it. */
    public boolean contains(String entry) {
        return entries.contains(entry);
    }

    /** Length in bytes without the NUL. */
    public int length() {
        return length;
    }

    /** The line in ASCII with the terminating NUL, ready to be copied into guest memory. */
    public byte[] toNulTerminatedBytes() {
        byte[] ascii = toString().getBytes(StandardCharsets.US_ASCII);
        return Arrays.copyOf(ascii, ascii.length + 1);
    }

    /** The line as the kernel sees it. */
    @Override
    public String toString() {
        return String.join(" ", entries);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KernelCommandLine other && entries.equals(other.entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    private static String checkKey(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("kernel parameter name is empty: pass a name such as 'console'");
        }
        if (key.equals("--")) {
            throw new IllegalArgumentException("'--' ends the kernel's parameters and passes the rest to init: "
                    + "it is not a kernel parameter");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c <= ' ' || c > '~' || c == '=' || c == '"') {
                throw new IllegalArgumentException("kernel parameter name '" + printable(key) + "' contains "
                        + describe(c) + ": names are printable ASCII without space, '=' or '\"'");
            }
        }
        return key;
    }

    private static void checkValue(String key, String value) {
        if (value == null) {
            throw new IllegalArgumentException("kernel parameter " + key + " has a null value: give the name alone for a flag");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < ' ' || c > '~' || c == '"') {
                throw new IllegalArgumentException("value of kernel parameter " + key + " ('" + printable(value)
                        + "') contains " + describe(c) + ": values are printable ASCII without '\"' (spaces are quoted)");
            }
        }
    }

    private static String describe(char c) {
        return switch (c) {
            case ' ' -> "a space";
            case '\n' -> "a newline";
            case '\0' -> "a NUL";
            case '"' -> "a double quote";
            case '=' -> "'='";
            default -> String.format("the character U+%04X", (int) c);
        };
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < 80; i++) {
            char c = s.charAt(i);
            sb.append(c >= ' ' && c <= '~' ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return sb.toString();
    }
}
