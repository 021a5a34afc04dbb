package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The benchmark's operations do what they claim, for every parameter, many times over (queue indices wrap). */
class VirtqueueBenchmarkTest {
    private final VirtqueueBenchmark benchmark = new VirtqueueBenchmark();

    @Test
    void popAndReturnWalksEachChainShapeAndGetsItBack() {
        for (String shape : new String[] {"1x1514", "4x4096", "indirect-16x4096"}) {
            VirtqueueBenchmark.Queue q = new VirtqueueBenchmark.Queue();
            q.chain = shape;
            q.setUp();
            try {
                long expected = Report.payloadBytes(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                        .put("chain", shape));
                for (int i = 0; i < 100_000; i++) { // the 16-bit ring indices wrap
                    long result = benchmark.popAndReturn(q);
                    assertThat(result - expected).as("the used id").isBetween(0L, 255L);
                }
            } finally {
                q.tearDown();
            }
        }
    }

    @Test
    void netTransmitDeliversEveryFrameToTheBackend() {
        for (int bytes : new int[] {1514, 65520}) {
            VirtqueueBenchmark.Net n = new VirtqueueBenchmark.Net();
            n.frameBytes = bytes;
            n.setUp();
            for (int i = 0; i < 70_000; i++) {
                benchmark.netTransmit(n);
            }
            assertThat(n.net.txFrames()).isEqualTo(70_000);
            assertThat(n.backend.sentCount).isEqualTo(70_000);
            n.tearDown(); // checks that nothing was dropped
        }
    }
}
