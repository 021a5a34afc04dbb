package dev.arrow.image.kernel;

import java.nio.file.Path;
import java.util.List;

/**
 * One JVM of {@link KernelExtractorTest}'s two-process race: extracts the fake kernel whose index is
 * {@code args[1]} into directory {@code args[0]} {@code args[2]} times, deleting the result between rounds
 * so that every round extracts, and prints the path.
 */
public final class KernelExtractorRaceMain {
    private KernelExtractorRaceMain() {
    }

    public static void main(String[] args) throws Exception {
        KernelArtifact artifact = KernelArtifact.read(Path.of(args[1]).toUri().toURL());
        Path vmlinux = null;
        for (int i = 0; i < Integer.parseInt(args[2]); i++) {
            if (vmlinux != null) java.nio.file.Files.deleteIfExists(vmlinux);
            vmlinux = new KernelExtractor(List.of(Path.of(args[0]))).extract(artifact);
        }
        System.out.println(vmlinux);
    }
}
