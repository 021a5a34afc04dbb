package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

class ConsoleSectionTest {
    private static final KvmFlavour LAB = new KvmFlavour(KvmFlavour.Kind.LAB, "lab: nested KVM (kvm_amd) inside QEMU TCG");

    /** One run: 8 MiB over virtio in 1 s (64 KiB in the first read), 256 KiB over serial in 2 s. */
    static final String CONSOLE = """
            {"kernel":"/k/vmlinux","memoryMiB":64,"virtioBytes":8388608,"serialBytes":262144,"timeoutSeconds":180,
             "kvmDebugfs":true,
             "runs":[{"iteration":0,"virtioFirst":true,
               "virtio":{"requestedBytes":8388608,"bytes":8388608,"complete":true,"firstToLastNanos":1000000000,
                         "firstArrivalBytes":65536,"vmmExits":{"intr":8,"io-out":16,"mmio-write":0},
                         "kvmStats":{"exits":4000,"io_exits":16,"mmio_exits":0},"outcome":"Exited[code=0]","exitCode":0},
               "serial":{"requestedBytes":262144,"bytes":262144,"complete":true,"firstToLastNanos":2000000000,
                         "firstArrivalBytes":1,"vmmExits":{"io-in":30000,"io-out":300000},
                         "kvmStats":{"exits":340000,"io_exits":330000,"mmio_exits":0},
                         "outcome":"Exited[code=0], VM: reset","exitCode":0}}]}
            """;

    private static JsonNode json(String text) throws Exception {
        return Json.MAPPER.readTree(text);
    }

    @Test
    void rendersThroughputAndExitsPerMibOfBothPathsAndTheirRatio() throws Exception {
        String md = ConsoleSection.render("7", json(CONSOLE), LAB);
        assertThat(md).startsWith("## 7. Console throughput guest → host: virtio console vs serial port (lab)");
        // virtio: (8 MiB - 64 KiB) / 1 s = 7.94 MiB/s; 24 VMM exits / 8 MiB = 3; 4000 KVM exits / 8 MiB = 500
        assertThat(md).contains("| virtio console (`Arrow.start()`) | 8 MiB | 1 | 7.94 (7.94–7.94) | 3 | 500 | 2 |");
        // serial: (256 KiB - 1 byte) / 2 s = 0.12 MiB/s; 330000 / 0.25 MiB; 340000 / 0.25 MiB
        assertThat(md).contains("| 8250 serial port (`VmBuilder`, stdio serial) | 256 KiB | 1 | 0.125 (0.125–0.125) | 1320000 | 1360000 | 1320000 |");
        assertThat(md).contains("**virtio console / serial port: 63.5× the throughput, 2720× fewer KVM exits per MiB**");
        assertThat(md).contains("- VMM exits per MiB by kind, virtio: intr 1, io-out 2.",
                "- VMM exits per MiB by kind, serial: io-in 120000, io-out 1200000.");
        assertThat(md).contains("Lab figures").doesNotContain("did not end with exit code 0");
    }

    @Test
    void flagsIncompleteTransfersAndGuestsThatDidNotExitCleanly() throws Exception {
        String text = CONSOLE.replace("\"bytes\":262144,\"complete\":true", "\"bytes\":1000,\"complete\":false")
                .replace("\"outcome\":\"Exited[code=0], VM: reset\",\"exitCode\":0", "\"outcome\":\"null, VM: stopped\",\"exitCode\":null");
        String md = ConsoleSection.render("7", json(text), LAB);
        assertThat(md).contains("| 256 KiB | 1 (1 incomplete) |");
        assertThat(md).contains("**serial: the guest did not end with exit code 0** (null, VM: stopped)");
    }

    @Test
    void saysSoWhenNotMeasured() {
        assertThat(ConsoleSection.render("7", null, LAB)).contains("Not measured in this run", "`console.json`");
    }
}
