package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The kind of KVM a set of figures was measured on, as the report speaks of it, read from the
 * environment file {@link HostInfo} wrote next to them: the lab (nested KVM inside QEMU TCG with
 * emulated AMD-V), hardware KVM (VT-x or AMD-V), PVM (tiny guests only, no Linux), something
 * else, or not recorded.
 *
 * @param kind        the kind
 * @param description the environment file's own words ({@code kvmFlavour})
 */
record KvmFlavour(Kind kind, String description) {
    /**
     * How many times slower the lab is than hardware KVM, at least and at most: "one to two orders of
     * magnitude" (the report's opening notice). Only for estimates a report calls estimates.
     */
    static final int LAB_SLOWDOWN_LOW = 10;
    static final int LAB_SLOWDOWN_HIGH = 100;

    /** What the report distinguishes. */
    enum Kind {
        LAB, HARDWARE, PVM, OTHER, UNRECORDED
    }

    /** The flavour of {@code env} (null: not recorded). */
    static KvmFlavour of(JsonNode env) {
        if (env == null) {
            return new KvmFlavour(Kind.UNRECORDED, "not recorded");
        }
        String description = env.path("kvmFlavour").asText("");
        if (description.isEmpty()) {
            description = env.path("kvm").asText("unknown");
        }
        if ("lab".equals(env.path("where").asText())) {
            return new KvmFlavour(Kind.LAB, description);
        }
        Kind kind = switch (env.path("kvm").asText()) {
            case "HARDWARE_INTEL", "HARDWARE_AMD" -> Kind.HARDWARE;
            case "PVM" -> Kind.PVM;
            default -> Kind.OTHER;
        };
        return new KvmFlavour(kind, description);
    }

    /** A few words for section titles: "lab", "hardware KVM", "PVM". */
    String tag() {
        return switch (kind) {
            case LAB -> "lab";
            case HARDWARE -> "hardware KVM";
            case PVM -> "PVM";
            case OTHER -> description;
            case UNRECORDED -> "KVM not recorded";
        };
    }

    /** A parenthesis-sized description: "lab: nested, TCG-emulated AMD-V", "hardware KVM (AMD-V, kvm_amd)". */
    String label() {
        return switch (kind) {
            case LAB -> "lab: nested, TCG-emulated AMD-V";
            case HARDWARE, PVM, OTHER -> description;
            case UNRECORDED -> "KVM flavour not recorded";
        };
    }

    /** One sentence on what absolute figures measured here are worth. */
    String figures() {
        return switch (kind) {
            case LAB -> "Lab figures (nested KVM inside QEMU TCG with emulated AMD-V): compare them with each other"
                    + " and with other lab figures of the same run, not with hardware figures.";
            case HARDWARE, OTHER -> "Figures on " + description + ".";
            case PVM -> "PVM figures (" + description + ").";
            case UNRECORDED -> "Where these figures were measured was not recorded (no environment file).";
        };
    }

    boolean isLab() {
        return kind == Kind.LAB;
    }

    boolean isHardware() {
        return kind == Kind.HARDWARE;
    }
}
