package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.sys.NativeMapping;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 1: reading which pages of a mapping are this process's own, from /proc/self/pagemap. */
class OwnPagesTest {
    private static final long PRESENT = 1L << 63;
    private static final long SWAPPED = 1L << 62;
    private static final long FILE = 1L << 61;

    @Test
    void presentPagesThatAreNotAFilesAndSwappedPagesAreOwnInRunsOfOneKind() {
        long[] entries = {
            PRESENT | FILE, // the file's page: read only
            PRESENT | 0x1234, PRESENT, // own, present (frame numbers do not matter)
            SWAPPED, SWAPPED | 7, // own, swapped out
            0, // never touched
            PRESENT, // own again, after a gap
            PRESENT | FILE,
        };
        assertThat(OwnPages.of(entries)).containsExactly(
                new OwnPages.Run(0x1000, 0x2000, false),
                new OwnPages.Run(0x3000, 0x2000, true),
                new OwnPages.Run(0x6000, 0x1000, false));
        assertThat(OwnPages.of(new long[] {0, PRESENT | FILE})).isEmpty();
    }

    @Test
    void anAnonymousMappingsWrittenPagesAreItsOwnAndUntouchedOnesAreNot() throws IOException {
        try (NativeMapping m = NativeMapping.anonymous(0x10_0000, "own pages test")) {
            m.window(0).put(0x3000, (byte) 1);
            m.window(0).put(0x4000, (byte) 1);
            m.window(0).put(0xF_F000, (byte) 1);
            assertThat(OwnPages.in(m.address(), m.length())).containsExactly(
                    new OwnPages.Run(0x3000, 0x2000, false),
                    new OwnPages.Run(0xF_F000, 0x1000, false));
        }
    }

    @Test
    void aRangeThatIsNotPageAlignedIsRefused() {
        assertThatThrownBy(() -> OwnPages.in(0x1001, 0x1000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OwnPages.in(0x1000, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
