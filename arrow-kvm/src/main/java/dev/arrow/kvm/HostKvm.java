package dev.arrow.kvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * What kind of KVM this host offers, detected from {@code /dev/kvm}, {@code /sys/module/kvm_*}
 * and the CPU flags in {@code /proc/cpuinfo}. Tests and error messages use {@link #description()}
 * to say why something cannot run here. The shell scripts ask {@code scripts/kvm-flavour}, which
 * decides the same way (KvmFlavourScriptTest checks both on the same host trees).
 */
public enum HostKvm {
    /** Intel VT-x (kvm_intel). */
    HARDWARE_INTEL(true, "hardware KVM (Intel VT-x, kvm_intel)"),
    /** AMD-V (kvm_amd). */
    HARDWARE_AMD(true, "hardware KVM (AMD-V, kvm_amd)"),
    /**
     * PVM (kvm_pvm): runs guest kernel code through an interpreter; tiny guests work, a Linux
     * guest cannot reach user space.
     */
    PVM(false, "PVM, no hardware virtualization"),
    /** /dev/kvm exists and is usable, but no known KVM module was found. */
    UNKNOWN(true, "KVM of an unknown kind"),
    /** /dev/kvm exists but this process may not open it. */
    NO_PERMISSION(false, "no permission to open /dev/kvm"),
    /** No /dev/kvm. */
    NONE(false, "no /dev/kvm");

    private static final Pattern CPU_FLAGS = Pattern.compile("(?m)^flags\\s*:(.*)$");
    /** This host's answer, kept once usable: {@link #detect()} is on every start's path, twice. */
    private static final HostKvmMemo THIS_HOST = new HostKvmMemo(() -> detect(Path.of("/")));

    private final boolean canBootLinux;
    private final String kind;

    HostKvm(boolean canBootLinux, String kind) {
        this.canBootLinux = canBootLinux;
        this.kind = kind;
    }

    /**
     * This host's KVM: detected at the first call, and again at later calls until the answer is usable, which is then
     * kept for the JVM's life ({@link HostKvmMemo}; {@link #detect(Path)} always looks).
     */
    public static HostKvm detect() {
        return THIS_HOST.get();
    }

    /** Detects the KVM of the file system tree rooted at {@code root} (for tests). */
    public static HostKvm detect(Path root) {
        return detect(root, dev -> Files.isReadable(dev) && Files.isWritable(dev));
    }

    /**
     * The kind of this host's KVM as if this process could open {@code /dev/kvm}: what {@link #detect()}
     * finds, but never {@link #NO_PERMISSION} (for saying what a user who may not open it would get).
     */
    public static HostKvm detectKind() {
        return detect(Path.of("/"), dev -> true);
    }

    /** As {@link #detect(Path)}, with {@code openable} deciding whether this process may open the device read-write. */
    static HostKvm detect(Path root, Predicate<Path> openable) {
        Path dev = root.resolve("dev/kvm");
        if (!Files.exists(dev)) {
            return NONE;
        }
        if (!openable.test(dev)) {
            return NO_PERMISSION;
        }
        Path modules = root.resolve("sys/module");
        if (Files.isDirectory(modules.resolve("kvm_pvm"))) {
            return PVM;
        }
        if (Files.isDirectory(modules.resolve("kvm_intel"))) {
            return HARDWARE_INTEL;
        }
        if (Files.isDirectory(modules.resolve("kvm_amd"))) {
            return HARDWARE_AMD;
        }
        String flags = cpuFlags(root.resolve("proc/cpuinfo"));
        if (flags.contains(" vmx ")) {
            return HARDWARE_INTEL;
        }
        if (flags.contains(" svm ")) {
            return HARDWARE_AMD;
        }
        return UNKNOWN;
    }

    private static String cpuFlags(Path cpuinfo) {
        try {
            var m = CPU_FLAGS.matcher(Files.readString(cpuinfo));
            return m.find() ? " " + m.group(1).trim() + " " : " ";
        } catch (IOException | RuntimeException e) {
            return " ";
        }
    }

    /** True when /dev/kvm can be opened and used for tiny guests. */
    public boolean usable() {
        return this != NONE && this != NO_PERMISSION;
    }

    /** True when a Linux guest can be expected to boot to user space. */
    public boolean canBootLinux() {
        return canBootLinux;
    }

    /** The kind of KVM, e.g. {@code PVM, no hardware virtualization}. */
    public String kind() {
        return kind;
    }

    /**
     * One line for skipped tests and errors, e.g. {@code this host's KVM (PVM, no hardware
     * virtualization) cannot boot a Linux guest}.
     */
    public String description() {
        return switch (this) {
            case NONE -> "this host has no /dev/kvm: load kvm_intel or kvm_amd, or run inside a VM with nested virtualization";
            case NO_PERMISSION -> "this process may not open /dev/kvm: add your user to group kvm or run as root";
            default -> canBootLinux ? "this host's KVM (" + kind + ") can boot a Linux guest"
                    : "this host's KVM (" + kind + ") cannot boot a Linux guest";
        };
    }
}
