package dev.arrow.backend.kvm;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.kvm.vmm.BlankVmPool;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Shared by the tier-4 boot tests: the guest programs built for them (and busybox, which they skip without), an
 * arrow run to its end, a stream read to its end as text, random host files and their digests, and HTTP to an arrow
 * that may still be starting.
 */
final class BootTestSupport {
    /** Debian's static busybox (scripts/setup.sh installs busybox-static). */
    static final Path BUSYBOX = Path.of("/bin/busybox");
    /** The size of {@link #bigBusybox}: a large FaaS binary's. */
    static final long BIG_BUSYBOX_BYTES = 95L << 20;

    private BootTestSupport() {
    }

    /** What an arrow gave by its end: its outcome and all of its stdout. */
    record Ended(ArrowOutcome outcome, String stdout) {
    }

    /** Skips the calling test (every test of the class, called from {@code @BeforeAll}) where {@link #BUSYBOX} is missing. */
    static void assumeBusybox() {
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
    }

    /** Skips the calling test (every test of the class, called from {@code @BeforeAll}) where passt is missing. */
    static void assumePasst() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/passt")), "no passt: install passt (scripts/setup.sh)");
    }

    /** Starts {@code arrow}, reads its stdout to the end and waits for it to end (within five minutes, asserted). */
    static Ended runToEnd(Arrow arrow) throws Exception {
        try (ArrowProcess p = arrow.start()) {
            String stdout = stdout(p);
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("the arrow ended").isTrue();
            return new Ended(p.outcome().join(), stdout);
        }
    }

    /**
     * Waits until every arrow closed so far is released ({@link Arrow#awaitReleased}: close leaves that to the
     * reaper), the JVM holds no blank VM made ahead for cold starts ({@link BlankVmPool}: each goes a few seconds
     * after it was made) and the pool's thread has ended, so that the fds, mappings and threads counted next are the
     * live arrows' and the JVM's own; fails if that takes over 20 s.
     */
    static void awaitNoBlankVms() throws InterruptedException {
        assertThat(Arrow.awaitReleased(Duration.ofSeconds(20))).as("the closed arrows released").isTrue();
        assertThat(BlankVmPool.awaitSharedIdle(Duration.ofSeconds(20))).as("the blank VM pool idle").isTrue();
    }

    /**
     * This JVM's live threads, once those that released arrows leave for a moment have ended: the output pumps' pooled
     * threads end {@link GuestOutputThreads#KEEP_ALIVE_SECONDS} after their last use. Waits (bounded by that and 5 s)
     * until there are at most {@code baseline}; returns the count then.
     */
    static int liveThreadsSettledTo(int baseline) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(GuestOutputThreads.KEEP_ALIVE_SECONDS + 5);
        int n = ManagementFactory.getThreadMXBean().getThreadCount();
        while (n > baseline && System.nanoTime() < until) {
            Thread.sleep(100);
            n = ManagementFactory.getThreadMXBean().getThreadCount();
        }
        return n;
    }

    /** This process's open fds now. */
    static long countFds() throws IOException {
        try (java.util.stream.Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    /** This process's mappings now (lines of /proc/self/maps). */
    static long countMappings() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).size();
    }

    /** The rest of {@code p}'s stdout, read to its end (the app's end), as UTF-8. */
    static String stdout(ArrowProcess p) throws IOException {
        return text(p.getInputStream());
    }

    /** Everything left on {@code in}, read to its end, as UTF-8. */
    static String text(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    /**
     * {@link #BUSYBOX} followed by random bytes (always the same ones), {@link #BIG_BUSYBOX_BYTES} in all, written as
     * {@code dir/busybox}: a real static program of 95 MiB, named busybox so that it runs its applets. The application
     * loader's tests map it (docs/loader.md). Skips the calling test where busybox is missing.
     */
    static Path bigBusybox(Path dir) throws IOException {
        assumeBusybox();
        Path program = Files.createDirectories(dir).resolve("busybox");
        Files.copy(BUSYBOX, program);
        appendRandom(program, BIG_BUSYBOX_BYTES - Files.size(BUSYBOX), 95);
        if (!program.toFile().setExecutable(true)) {
            throw new IOException("cannot make " + program + " executable");
        }
        return program;
    }

    /** Appends {@code bytes} random bytes to {@code file} (created if missing), the same ones for the same {@code seed}. */
    static void appendRandom(Path file, long bytes, long seed) throws IOException {
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(seed);
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            for (long left = bytes; left > 0; left -= chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, (int) Math.min(chunk.length, left));
            }
        }
    }

    /** The SHA-256 of {@code file}, in lower-case hex as {@code sha256sum} prints it. */
    static String sha256(Path file) throws IOException {
        return sha256(file, 0, Long.MAX_VALUE);
    }

    /** The SHA-256 of at most {@code length} bytes of {@code file} from {@code offset}, in lower-case hex. */
    static String sha256(Path file, long offset, long length) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(offset);
            for (long left = length; left > 0; ) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) break;
                digest.update(buffer, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The static test program built from src/test/c into target/guest-programs. */
    static Path guestApp() {
        try {
            Path testClasses = Path.of(BootTestSupport.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path app = testClasses.resolveSibling("guest-programs").resolve("guestapp");
            if (!Files.isExecutable(app)) {
                throw new IllegalStateException(app + " is missing: build arrow-core's tests with Maven (needs musl-tools)");
            }
            return app;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An arrow of {@link #guestApp()} with {@code args}, in 64 MiB of guest RAM. */
    static Arrow guestAppArrow(String... args) {
        return Arrow.of(guestApp()).args(args).memory(64, MiB);
    }

    /**
     * GETs {@code url} until it answers (the arrow behind it may still be starting), at most for {@code patience};
     * the body as UTF-8.
     */
    static String getWithRetry(URL url, Duration patience) throws InterruptedException {
        Instant deadline = Instant.now().plus(patience);
        IOException last = null;
        while (Instant.now().isBefore(deadline)) {
            try {
                HttpURLConnection c = (HttpURLConnection) url.openConnection();
                c.setConnectTimeout(2000);
                c.setReadTimeout(5000);
                try (InputStream in = c.getInputStream()) {
                    return text(in);
                }
            } catch (IOException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new AssertionError("no answer from " + url + " within " + patience, last);
    }
}
