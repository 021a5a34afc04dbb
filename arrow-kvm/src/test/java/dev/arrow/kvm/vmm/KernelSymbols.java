package dev.arrow.kvm.vmm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The symbols of a guest kernel (from {@code nm -n}), to name the function a stalled vCPU is in.
 * Our guest kernel has no KASLR, so a guest rip is a vmlinux address. Test diagnostics only.
 */
final class KernelSymbols {
    private static final Pattern RIP = Pattern.compile("rip 0x([0-9a-f]+)");
    private final long[] addresses;
    private final String[] names;

    private KernelSymbols(List<Long> addresses, List<String> names) {
        this.addresses = addresses.stream().mapToLong(Long::longValue).toArray();
        this.names = names.toArray(String[]::new);
    }

    /** The symbols of {@code vmlinux}; none when nm is missing or fails. */
    static KernelSymbols of(Path vmlinux) {
        List<Long> addresses = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try {
            Process nm = new ProcessBuilder("nm", "-n", "--defined-only", vmlinux.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            for (String line : new String(nm.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 3 && (f[1].equalsIgnoreCase("t") || f[1].equalsIgnoreCase("w"))) {
                    addresses.add(Long.parseUnsignedLong(f[0], 16));
                    names.add(f[2]);
                }
            }
            nm.waitFor();
        } catch (IOException | NumberFormatException e) {
            return new KernelSymbols(List.of(), List.of());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new KernelSymbols(addresses, names);
    }

    /** {@code function+0xoffset} for a text address, or empty outside the symbols. */
    String name(long address) {
        int lo = 0;
        int hi = addresses.length - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(addresses[mid], address) <= 0) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found < 0 ? "" : names[found] + "+0x" + Long.toHexString(address - addresses[found]);
    }

    /** {@code report} with each "rip 0x..." followed by the function it lies in. */
    String annotate(String report) {
        Matcher m = RIP.matcher(report);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String name = name(Long.parseUnsignedLong(m.group(1), 16));
            m.appendReplacement(b, Matcher.quoteReplacement(m.group() + (name.isEmpty() ? "" : " <" + name + ">")));
        }
        m.appendTail(b);
        return b.toString();
    }
}
