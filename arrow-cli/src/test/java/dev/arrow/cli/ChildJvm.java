package dev.arrow.cli;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A second JVM running a main class of this class path, for tests that send it real signals. The class path
 * is this JVM's ({@code java.class.path}, Surefire's manifest jar) plus the URLs of the test class loader (the
 * JUnit console launcher's {@code --class-path} in the lab).
 */
final class ChildJvm implements AutoCloseable {
    private final Process process;
    final BufferedReader stdout;
    final BufferedReader stderr;

    private ChildJvm(Process process) {
        this.process = process;
        this.stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.stderr = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8));
    }

    /** Starts {@code java [-Darrow.kernel=...] -cp CLASSPATH mainClass args}, stdin empty. */
    static ChildJvm start(Class<?> mainClass, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String kernel = System.getProperty("arrow.kernel");
        if (kernel != null) {
            command.add("-Darrow.kernel=" + kernel);
        }
        command.add("-cp");
        command.add(classPath());
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        return new ChildJvm(new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start());
    }

    private static String classPath() {
        Set<String> entries = new LinkedHashSet<>(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        if (Thread.currentThread().getContextClassLoader() instanceof URLClassLoader loader) {
            for (URL url : loader.getURLs()) {
                try {
                    entries.add(Path.of(url.toURI()).toString());
                } catch (URISyntaxException | IllegalArgumentException e) {
                    // not a file: not for a class path
                }
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    /** The next line of the child's stdout; if it ended instead, an AssertionError with what it said on stderr. */
    String nextLine() throws IOException {
        String line = stdout.readLine();
        if (line == null) {
            StringBuilder said = new StringBuilder();
            stderr.lines().limit(40).forEach(l -> said.append('\n').append(l));
            throw new AssertionError("the child JVM closed its stdout; its stderr:" + said);
        }
        return line;
    }

    /** Sends signal {@code name} (e.g. {@code INT}) to the child. */
    void signal(String name) throws IOException, InterruptedException {
        int status = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
        if (status != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " failed with status " + status);
        }
    }

    /** The child's exit status, after waiting up to {@code seconds} for it. */
    int exitStatus(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("the child JVM did not end within " + seconds + " s");
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
