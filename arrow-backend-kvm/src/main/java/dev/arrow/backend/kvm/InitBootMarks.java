package dev.arrow.backend.kvm;

import dev.arrow.BootPhase;
import dev.arrow.image.init.InitProtocol;
import java.util.Map;
import java.util.Optional;

/**
 * Which {@link BootPhase} each of init's boot marks ({@link InitProtocol}'s {@code MARK_*}) reports. Marks
 * without a phase (such as {@link InitProtocol#MARK_NET_UP}) are telemetry of init's own.
 */
public final class InitBootMarks {
    private static final Map<String, BootPhase> PHASES = Map.of(
            InitProtocol.MARK_INIT_START, BootPhase.INIT_STARTED,
            InitProtocol.MARK_IMAGE_CHECKED, BootPhase.IMAGE_CHECKED,
            InitProtocol.MARK_APP_EXEC, BootPhase.APP_EXECUTED,
            InitProtocol.MARK_APP_EXIT, BootPhase.APP_EXITED,
            InitProtocol.MARK_HALT, BootPhase.GUEST_HALTING);

    private InitBootMarks() {
    }

    /** The guest phase init's mark {@code name} reports; empty for other marks. */
    public static Optional<BootPhase> phaseOf(String name) {
        return Optional.ofNullable(PHASES.get(name));
    }
}
