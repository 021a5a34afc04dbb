package dev.arrow.image.cmdline;

import java.util.ArrayList;
import java.util.List;

/**
 * The kernel parameters an Arrow guest's init relies on, in command-line order, each {@code key} or
 * {@code key=value} without spaces. The KVM backend appends them to the VMM's typed kernel command
 * line (which checks them); a QEMU peer passes {@link #joined()} to {@code -append}.
 *
 * <p>The parameters of {@link #forInit(boolean)}, each there for a reason:
 * <ul>
 *   <li>{@code console=ttyS0}: /dev/console becomes the 8250 UART at 0x3F8, init's own stdio and,
 *       with the spec's {@code stdio serial}, the app's too (with {@code stdio virtio} the app uses
 *       virtio console ports and the UART carries only the kernel's log); without it /dev/console
 *       would be the (absent) VGA console.</li>
 *   <li>{@code reboot=k,f}: init ends the VM with reboot(RB_AUTOBOOT); {@code k} makes the kernel reset
 *       through the i8042 (0xFE to port 0x64), which the VMM treats as the end of the guest. {@code f}
 *       ("force") skips the machine shutdown that would come first ({@code native_machine_shutdown}: mask and
 *       clear all 24 IO-APIC pins, stop the other CPUs, shut the local APIC down), which a VM about to be
 *       torn down does not need: each IO-APIC access is an exit that KVM emulates, and the shutdown took
 *       ~330 of them plus ~40 x2APIC MSR exits at the end of every guest, cold boot or clone (a KVM trace in
 *       the lab, docs/templates.md "What a clone exits for"). The kernel's own shutdown of devices and its
 *       reboot notifiers still run before it.</li>
 *   <li>{@code panic=-1}: on a panic the kernel reboots at once instead of hanging, so a dying
 *       guest still ends the VM.</li>
 *   <li>{@code noreplace-smp}: the kernel keeps the LOCK prefixes of its text when it finds one CPU
 *       instead of patching them out ({@code alternatives_smp_unlock}); the patching writes ~300 pages of
 *       the kernel image, each a private copy in every arrow of a memory that could have stayed shared
 *       (issue 21), for atomics that an uncontended single vCPU runs nearly as fast locked.</li>
 *   <li>{@code tsc=reliable}: the TSC is not checked against another clock twice a second (the
 *       clocksource watchdog). KVM keeps a guest's TSC steady (on a host whose own TSC is not, KVM
 *       gives the guest no invariant TSC and the guest keeps kvm-clock), and the check was what woke an idle
 *       guest most: measured in the lab, an idle arrow went from 3.8 to 0.9 wake-ups (HLT exits) a
 *       second, and from 17 to 3.5 exits a second (issue 21, idle CPU per arrow).</li>
 *   <li>{@code quiet loglevel=1}: of the kernel's messages only emergencies reach the console, so
 *       a normal boot prints nothing there; a panic prints its message and stack (the backend names
 *       the panic in the outcome). At {@code loglevel=0} not even a panic is printed: the kernel keeps a
 *       console level of 0 when it panics.</li>
 * </ul>
 * No i8042, APIC or timer tunables: the guest kernel finds no i8042 controller instantly
 * ("No controller found") and needs nothing else. With a debug console, {@code quiet loglevel=1}
 * become {@code earlyprintk=serial,ttyS0 loglevel=8}: every kernel message, from the first
 * instructions on, goes to the serial console.
 *
 * @param entries the parameters in order
 */
public record KernelParameters(List<String> entries) {

    public KernelParameters {
        entries = List.copyOf(entries);
        for (String e : entries) {
            if (e.isEmpty() || e.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("kernel parameter '" + e + "' is empty or has white space");
            }
        }
    }

    /** What init needs; {@code debugConsole} lets every kernel message through to the serial console. */
    public static KernelParameters forInit(boolean debugConsole) {
        List<String> p = new ArrayList<>();
        p.add("console=ttyS0");
        if (debugConsole) {
            p.add("earlyprintk=serial,ttyS0");
            p.add("loglevel=8");
        }
        p.add("reboot=k,f");
        p.add("panic=-1");
        p.add("noreplace-smp");
        p.add("tsc=reliable");
        if (!debugConsole) {
            p.add("quiet");
            p.add("loglevel=1");
        }
        return new KernelParameters(p);
    }

    /** The parameters separated by single spaces, as a command line. */
    public String joined() {
        return String.join(" ", entries);
    }
}
