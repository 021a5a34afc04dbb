package dev.arrow.cli;

import dev.arrow.ArrowException;
import dev.arrow.BackendUnavailableException;
import dev.arrow.InvalidBinaryException;
import dev.arrow.InvalidSpecException;
import dev.arrow.KernelNotFoundException;
import dev.arrow.UnsupportedHostException;
import dev.arrow.config.ArrowSpec;

import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code arrow} command's exit statuses: the program's own exit value when it ran, else one status per
 * class of error, following docker run's 125/126/127; {@link #runHelp()} is the table {@code --help} prints.
 */
final class ExitCodes {
    /** The command line or the spec file is wrong: an unknown option, a bad value, an invalid spec. */
    static final int USAGE = 2;
    /** This host cannot run arrows (what {@code arrow doctor} reports): no usable KVM, no kernel, no backend. */
    static final int HOST_NOT_READY = 69;
    /** Arrow could not start the arrow for another reason (VMM, network, host memory, kernel image, guest). */
    static final int ARROW_FAILED = 125;
    /** The binary cannot be run: not a static x86-64 Linux executable. */
    static final int CANNOT_RUN = 126;
    /** The binary was not found on the host (the guest reports its own not-found as 127 too). */
    static final int NOT_FOUND = 127;

    /** The exit status section of {@code arrow run --help}: status (or range), what it means. */
    static Map<String, String> runHelp() {
        Map<String, String> help = new LinkedHashMap<>();
        help.put("0-255", "the program's exit value: 124 when --timeout stopped it, 128+N when signal N ended it"
                + " (143: SIGTERM, e.g. after Ctrl-C), 137 when the VM was stopped (grace period over, second Ctrl-C)");
        help.put(Integer.toString(USAGE), "the command line or the spec file is wrong (unknown option, bad value,"
                + " invalid spec, a file it names is missing)");
        help.put(Integer.toString(HOST_NOT_READY), "this host cannot run arrows: no usable KVM, no guest kernel, no"
                + " backend (arrow doctor says which)");
        help.put(Integer.toString(ARROW_FAILED), "Arrow could not start the arrow (VMM, network set-up, host memory,"
                + " kernel image) or the guest failed");
        help.put(Integer.toString(CANNOT_RUN), "BINARY cannot be run: not a static x86-64 Linux executable");
        help.put(Integer.toString(NOT_FOUND), "BINARY was not found (on the host, or by the guest's exec)");
        return help;
    }

    /** The exit status section of {@code arrow doctor --help}. */
    static Map<String, String> doctorHelp() {
        Map<String, String> help = new LinkedHashMap<>();
        help.put("0", "this host can run arrows");
        help.put(Integer.toString(HOST_NOT_READY), "it cannot: the problems printed say what to fix");
        return help;
    }

    private ExitCodes() {
    }

    /** The status for {@code e}, thrown while starting {@code spec} (null when the spec itself was invalid). */
    static int of(ArrowException e, ArrowSpec spec) {
        if (e instanceof InvalidSpecException) {
            return USAGE;
        }
        if (e instanceof InvalidBinaryException) {
            return spec != null && !Files.exists(spec.binary()) ? NOT_FOUND : CANNOT_RUN;
        }
        if (e instanceof UnsupportedHostException || e instanceof BackendUnavailableException) {
            return HOST_NOT_READY;
        }
        if (e instanceof KernelNotFoundException) {
            // a kernel named on the command line is the command line's error; the default one is the host's
            return spec != null && spec.kernel().isPresent() ? USAGE : HOST_NOT_READY;
        }
        return ARROW_FAILED;
    }
}
