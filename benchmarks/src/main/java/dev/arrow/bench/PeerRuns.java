package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.arrow.BootPhase;
import dev.arrow.backend.kvm.InitBootMarks;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/** Reading the runs of {@link PeerComparison}'s {@code peer.json}, for the sections of the report that show them. */
final class PeerRuns {
    private PeerRuns() {
    }

    /** The measured (not warm-up) runs of {@code peer}, in order. */
    static List<JsonNode> measured(JsonNode peer) {
        List<JsonNode> runs = new ArrayList<>();
        for (JsonNode r : peer.path("runs")) {
            if (!r.path("warmup").asBoolean()) {
                runs.add(r);
            }
        }
        return runs;
    }

    /** The guest uptime (ns) init reported with its start mark in the run's Arrow timeline. */
    static OptionalLong arrowGuestUptimeAtInit(JsonNode run) {
        for (JsonNode e : run.path("arrow").path("timeline")) {
            if (e.path("phase").asText().equals(BootPhase.INIT_STARTED.label()) && e.has("guestUptimeNanos")) {
                return OptionalLong.of(e.path("guestUptimeNanos").asLong());
            }
        }
        return OptionalLong.empty();
    }

    /**
     * What share of the run's QEMU boot (spawn → reset) Arrow's guest alone took: from Arrow's first KVM_RUN to the
     * guest's end. The ratio Arrow / QEMU cannot go below it while the guest's own run is that long.
     */
    static OptionalDouble arrowGuestShareOfQemu(JsonNode run) {
        long end = run.path("arrow").path("startToExitNanos").asLong();
        long qemu = run.path("qemu").path("spawnToResetNanos").asLong();
        for (JsonNode e : run.path("arrow").path("timeline")) {
            if (e.path("phase").asText().equals(BootPhase.FIRST_KVM_RUN.label()) && end > 0 && qemu > 0) {
                return OptionalDouble.of((double) (end - e.path("sinceStartNanos").asLong()) / qemu);
            }
        }
        return OptionalDouble.empty();
    }

    /** The guest uptime (ns) init reported with its start mark in the run's QEMU boot. */
    static OptionalLong qemuGuestUptimeAtInit(JsonNode run) {
        for (JsonNode m : run.path("qemu").path("marks")) {
            if (InitBootMarks.phaseOf(m.path("name").asText()).filter(BootPhase.INIT_STARTED::equals).isPresent()) {
                return OptionalLong.of(m.path("guestUptimeNanos").asLong());
            }
        }
        return OptionalLong.empty();
    }
}
