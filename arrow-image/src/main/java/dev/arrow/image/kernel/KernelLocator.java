package dev.arrow.image.kernel;

import dev.arrow.image.ArrowCache;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the guest kernel to boot when the caller names none. In order: the system property
 * {@value #PROPERTY}, the environment variable {@value #ENV}, the kernel packaged in the
 * {@code dev.arrow:arrow-kernel} jar on the class path ({@link KernelArtifact}, extracted once per content
 * hash by a {@link KernelExtractor}), then the cache that {@code scripts/setup.sh} fills
 * ({@code <cache>/kernel/guest-*}{@code /vmlinux}, the newest by the {@code date=} line of its
 * {@code build-info}, else by file time). The cache directory is
 * {@link ArrowCache#root}. A path that is
 * configured but unusable, and a packaged kernel that is corrupt, are errors, not reasons to fall
 * through to the next source.
 */
public final class KernelLocator {
    public static final String PROPERTY = "arrow.kernel";
    public static final String ENV = "ARROW_KERNEL";
    static final String NOT_FOUND = "no Arrow guest kernel found: add the dependency dev.arrow:arrow-kernel (arrow-backend-kvm "
            + "brings it), run scripts/setup.sh (builds it into ~/.cache/arrow/kernel) or pass .kernel(path)";
    private static final Logger LOG = LoggerFactory.getLogger(KernelLocator.class);

    private final Function<String, String> properties;
    private final Function<String, String> environment;
    private final Path cacheDirectory;
    private final Supplier<Optional<KernelArtifact>> packaged;
    private final KernelExtractor extractor;

    /**
     * A locator reading from the given sources (tests pass maps' {@code get}); {@code cacheDirectory}
     * is the Arrow cache root, the one holding {@code kernel/}; {@code packaged} finds the packaged kernel,
     * which {@code extractor} extracts.
     */
    public KernelLocator(Function<String, String> properties, Function<String, String> environment, Path cacheDirectory,
            Supplier<Optional<KernelArtifact>> packaged, KernelExtractor extractor) {
        this.properties = Objects.requireNonNull(properties, "properties");
        this.environment = Objects.requireNonNull(environment, "environment");
        this.cacheDirectory = Objects.requireNonNull(cacheDirectory, "cacheDirectory");
        this.packaged = Objects.requireNonNull(packaged, "packaged");
        this.extractor = Objects.requireNonNull(extractor, "extractor");
    }

    /** A locator over this JVM's system properties, environment and class path. */
    public static KernelLocator fromEnvironment() {
        return new KernelLocator(System::getProperty, System::getenv, ArrowCache.root(),
                () -> KernelArtifact.find(KernelLocator.class.getClassLoader()),
                new KernelExtractor(KernelExtractor.defaultDirectories(System::getenv, home(),
                        Paths.get(System.getProperty("java.io.tmpdir")), System.getProperty("user.name"))));
    }

    private static Path home() {
        return Paths.get(System.getProperty("user.home"));
    }

    /**
     * What decides, besides files, which kernel {@link #locate()} finds: the property's and the variable's values now
     * (blank counts as unset) and the cache root. Two locators of one JVM with the same choice find the same kernel
     * as long as the files they look at are unchanged ({@link CheckedKernelCache} relies on it).
     */
    public record Choice(String property, String environment, Path cacheDirectory) {
    }

    /** This locator's {@link Choice}, read now. */
    public Choice choice() {
        return new Choice(setOrEmpty(properties.apply(PROPERTY)), setOrEmpty(environment.apply(ENV)), cacheDirectory);
    }

    private static String setOrEmpty(String value) {
        return value == null || value.isBlank() ? "" : value;
    }

    /** Checks a kernel the caller chose: it must be a readable regular file. */
    public static GuestKernel userSupplied(Path kernel) {
        Objects.requireNonNull(kernel, "kernel");
        return new GuestKernel(checked(kernel, "the kernel passed with .kernel(path)", "pass an existing kernel image (vmlinux)"),
                GuestKernel.Source.USER);
    }

    /** The default kernel, or {@link KernelLookupException} saying how to get one. */
    public GuestKernel locate() {
        String prop = properties.apply(PROPERTY);
        if (prop != null && !prop.isBlank()) {
            Path p = checked(Paths.get(prop), "system property " + PROPERTY, "fix the path or remove the property to use the default kernel");
            LOG.debug("guest kernel {} (system property {})", p, PROPERTY);
            return new GuestKernel(p, GuestKernel.Source.SYSTEM_PROPERTY);
        }
        String env = environment.apply(ENV);
        if (env != null && !env.isBlank()) {
            Path p = checked(Paths.get(env), "environment variable " + ENV, "fix the path or unset it to use the default kernel");
            LOG.debug("guest kernel {} (environment variable {})", p, ENV);
            return new GuestKernel(p, GuestKernel.Source.ENVIRONMENT);
        }
        Optional<KernelArtifact> artifact = packaged.get();
        if (artifact.isPresent()) {
            Path p = extractor.extract(artifact.get());
            LOG.debug("guest kernel {} (packaged: {}, {})", p, artifact.get().index(), artifact.get().source());
            return new GuestKernel(p, GuestKernel.Source.PACKAGED);
        }
        Path kernels = cacheDirectory.resolve("kernel");
        Optional<Path> newest = newestCached(kernels);
        if (newest.isEmpty()) throw new KernelLookupException(NOT_FOUND + " (looked in " + kernels + "/guest-*/vmlinux)");
        LOG.debug("guest kernel {} (cache)", newest.get());
        return new GuestKernel(newest.get(), GuestKernel.Source.CACHE);
    }

    private static Optional<Path> newestCached(Path kernels) {
        if (!Files.isDirectory(kernels)) return Optional.empty();
        record Candidate(Path vmlinux, Instant built) {
        }
        List<Candidate> candidates = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(kernels, "guest-*")) {
            for (Path dir : dirs) {
                Path vmlinux = dir.resolve("vmlinux");
                if (Files.isRegularFile(vmlinux) && Files.isReadable(vmlinux)) candidates.add(new Candidate(vmlinux, builtAt(dir, vmlinux)));
            }
        } catch (IOException e) {
            throw new KernelLookupException("cannot list the kernel cache " + kernels + ": " + e.getMessage()
                    + "; fix its permissions or pass .kernel(path)");
        }
        return candidates.stream()
                .max(Comparator.comparing(Candidate::built).thenComparing(c -> c.vmlinux().toString()))
                .map(Candidate::vmlinux);
    }

    /** The {@code date=} of build-info when it parses, else the vmlinux file time. */
    private static Instant builtAt(Path dir, Path vmlinux) {
        Path info = dir.resolve("build-info");
        try {
            if (Files.isRegularFile(info)) {
                for (String line : Files.readAllLines(info, StandardCharsets.UTF_8)) {
                    if (line.startsWith("date=")) return OffsetDateTime.parse(line.substring(5).trim()).toInstant();
                }
            }
        } catch (IOException | DateTimeParseException e) {
            LOG.debug("ignoring unreadable {}: {}", info, e.toString());
        }
        try {
            return Files.getLastModifiedTime(vmlinux).toInstant();
        } catch (IOException e) {
            return Instant.EPOCH;
        }
    }

    private static Path checked(Path p, String origin, String fix) {
        if (!Files.exists(p)) throw new KernelLookupException(origin + " names " + p + ", which does not exist: " + fix);
        if (!Files.isRegularFile(p)) throw new KernelLookupException(origin + " names " + p + ", which is not a regular file: " + fix);
        if (!Files.isReadable(p)) throw new KernelLookupException(origin + " names " + p + ", which is not readable: fix its permissions");
        return p;
    }
}
