package dev.arrow.image.cmdline;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The Linux command line of an Arrow guest, checked so the kernel parses it as meant.
 *
 * <p>Defaults, each there for a reason:
 * <ul>
 *   <li>{@code console=ttyS0}: /dev/console becomes the 8250 UART at 0x3F8, init's own stdio and,
 *       with the spec's {@code stdio serial}, the app's too (with {@code stdio virtio} the app uses
 *       virtio console ports and the UART carries only the kernel's log); without it /dev/console
 *       would be the (absent) VGA console.</li>
 *   <li>{@code reboot=k}: init ends the VM with reboot(RB_AUTOBOOT); this makes the kernel reset
 *       through the i8042 (0xFE to port 0x64), which the VMM treats as the end of the guest.</li>
 *   <li>{@code panic=-1}: on a panic the kernel reboots at once instead of hanging, so a dying
 *       guest still ends the VM.</li>
 *   <li>{@code quiet loglevel=0}: no kernel messages on the console, whose bytes are the app's
 *       output.</li>
 * </ul>
 * No i8042, APIC or timer tunables: the guest kernel finds no i8042 controller instantly
 * ("No controller found") and needs nothing else. {@link Builder#debug(boolean)} swaps
 * {@code quiet loglevel=0} for {@code earlyprintk=serial,ttyS0 loglevel=8}: every kernel
 * message, from the first instructions on, goes to the serial console.
 *
 * <p>Keys are printable ASCII without space, {@code =} or {@code "}; values are printable ASCII
 * without {@code "} and are quoted when they contain a space. The whole line is at most
 * {@value #MAX_LENGTH} bytes (x86 COMMAND_LINE_SIZE is 2048 including the NUL).
 */
public final class KernelCommandLine {
    /** x86 COMMAND_LINE_SIZE (2048) minus the terminating NUL. */
    public static final int MAX_LENGTH = 2047;
    public static final String VIRTIO_MMIO_KEY = "virtio_mmio.device";

    private final String line;

    private KernelCommandLine(String line) {
        this.line = line;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The line as the kernel will see it. */
    @Override
    public String toString() {
        return line;
    }

    /** The line in ASCII with the terminating NUL, ready to be copied into guest memory. */
    public byte[] toNulTerminatedBytes() {
        byte[] ascii = line.getBytes(StandardCharsets.US_ASCII);
        byte[] result = new byte[ascii.length + 1];
        System.arraycopy(ascii, 0, result, 0, ascii.length);
        return result;
    }

    /** Length in bytes without the NUL. */
    public int length() {
        return line.length();
    }

    /** Reusable builder; {@link #build()} composes the defaults with what was set and checks the length. */
    public static final class Builder {
        private boolean debug;
        private final Map<String, Optional<String>> params = new LinkedHashMap<>();
        private final Set<String> removed = new LinkedHashSet<>();
        private final List<VirtioMmioDevice> devices = new ArrayList<>();

        private Builder() {
        }

        /** Serial console with early boot messages and loglevel 8 instead of quiet. */
        public Builder debug(boolean debug) {
            this.debug = debug;
            return this;
        }

        /** Sets {@code key=value}, replacing a default or an earlier value of the same key. */
        public Builder param(String key, String value) {
            checkKey(key);
            checkValue(key, value);
            removed.remove(key);
            params.put(key, Optional.of(value));
            return this;
        }

        /** Sets a parameter without a value (e.g. {@code nokaslr}), replacing any value the key had. */
        public Builder flag(String key) {
            checkKey(key);
            removed.remove(key);
            params.put(key, Optional.empty());
            return this;
        }

        /** Drops a parameter, default or set earlier. */
        public Builder remove(String key) {
            checkKey(key);
            params.remove(key);
            removed.add(key);
            return this;
        }

        /** Announces a virtio-mmio device; devices appear in the order added. */
        public Builder virtioMmio(VirtioMmioDevice device) {
            devices.add(Objects.requireNonNull(device, "device"));
            return this;
        }

        public KernelCommandLine build() {
            Map<String, Optional<String>> all = new LinkedHashMap<>();
            all.put("console", Optional.of("ttyS0"));
            if (debug) {
                all.put("earlyprintk", Optional.of("serial,ttyS0"));
                all.put("loglevel", Optional.of("8"));
            }
            all.put("reboot", Optional.of("k"));
            all.put("panic", Optional.of("-1"));
            if (!debug) {
                all.put("quiet", Optional.empty());
                all.put("loglevel", Optional.of("0"));
            }
            all.putAll(params);
            removed.forEach(all::remove);
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, Optional<String>> e : all.entrySet()) append(sb, e.getKey(), e.getValue());
            for (VirtioMmioDevice d : devices) {
                if (sb.length() > 0) sb.append(' ');
                sb.append(d.parameter());
            }
            if (sb.length() > MAX_LENGTH)
                throw new InvalidCommandLineException("the kernel command line is " + sb.length() + " bytes; x86 Linux keeps at most "
                        + MAX_LENGTH + " (COMMAND_LINE_SIZE 2048 with the NUL): drop parameters or virtio-mmio devices");
            return new KernelCommandLine(sb.toString());
        }

        private static void append(StringBuilder sb, String key, Optional<String> value) {
            if (sb.length() > 0) sb.append(' ');
            sb.append(key);
            value.ifPresent(v -> {
                sb.append('=');
                if (v.indexOf(' ') >= 0) sb.append('"').append(v).append('"');
                else sb.append(v);
            });
        }

        private static void checkKey(String key) {
            if (key == null || key.isEmpty())
                throw new InvalidCommandLineException("kernel parameter name is empty: pass a name such as 'console'");
            if (key.equals("--"))
                throw new InvalidCommandLineException("'--' ends the kernel's parameters and passes the rest to init; Arrow's init "
                        + "reads its arguments from the run spec: pass them there");
            for (int i = 0; i < key.length(); i++) {
                char c = key.charAt(i);
                if (c <= ' ' || c > '~' || c == '=' || c == '"')
                    throw new InvalidCommandLineException("kernel parameter name '" + printable(key) + "' contains "
                            + describe(c) + ": names are printable ASCII without space, '=' or '\"'");
            }
        }

        private static void checkValue(String key, String value) {
            if (value == null) throw new InvalidCommandLineException("kernel parameter " + key + " has a null value: use flag(\"" + key + "\")");
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c < ' ' || c > '~' || c == '"')
                    throw new InvalidCommandLineException("value of kernel parameter " + key + " ('" + printable(value) + "') contains "
                            + describe(c) + ": values are printable ASCII without '\"' (spaces are quoted)");
            }
        }

        private static String describe(char c) {
            switch (c) {
                case ' ': return "a space";
                case '\n': return "a newline";
                case '\0': return "a NUL";
                case '"': return "a double quote";
                case '=': return "'='";
                default: return String.format("the character U+%04X", (int) c);
            }
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
}
