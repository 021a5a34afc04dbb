package dev.arrow.internal;

import dev.arrow.InvalidBinaryException;
import dev.arrow.InvalidSpecException;
import dev.arrow.KernelNotFoundException;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.config.SpecProblem;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks, when a process starts, that the host files a spec names are there: the binary, the kernel if
 * one is asked for, and every file to copy into the guest. Their formats are checked by the backend.
 */
public final class HostFiles {

    private HostFiles() {
    }

    /**
     * @throws InvalidBinaryException   if the binary is missing, not a regular file or not readable
     * @throws KernelNotFoundException if the kernel asked for is missing or not a readable regular file
     * @throws InvalidSpecException    if a file to copy is missing or unreadable (all such files listed)
     */
    public static void check(ArrowSpec spec) {
        Path binary = spec.binary();
        if (!Files.exists(binary)) {
            throw InvalidBinaryException.notFound(binary);
        }
        if (!Files.isRegularFile(binary)) {
            throw InvalidBinaryException.notAFile(binary);
        }
        if (!Files.isReadable(binary)) {
            throw InvalidBinaryException.notReadable(binary);
        }
        spec.kernel().ifPresent(kernel -> {
            if (!Files.isRegularFile(kernel) || !Files.isReadable(kernel)) {
                throw KernelNotFoundException.notFound(kernel);
            }
        });
        List<SpecProblem> problems = new ArrayList<>();
        List<GuestFile> files = spec.files();
        for (int i = 0; i < files.size(); i++) {
            if (files.get(i).source() instanceof GuestFile.HostFile host) {
                String where = "$.files[" + i + "].host";
                Path path = host.path();
                if (!Files.exists(path)) {
                    problems.add(new SpecProblem(where, path + " does not exist on the host (looked at "
                            + path.toAbsolutePath() + "); give the path of an existing file"));
                } else if (!Files.isRegularFile(path)) {
                    problems.add(new SpecProblem(where, path + " is not a regular file; give the path of a file"));
                } else if (!Files.isReadable(path)) {
                    problems.add(new SpecProblem(where, path + " is not readable by this JVM's user; make it"
                            + " readable (chmod a+r " + path + ")"));
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidSpecException(problems);
        }
    }
}
