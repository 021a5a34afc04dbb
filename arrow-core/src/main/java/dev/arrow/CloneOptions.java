package dev.arrow;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.config.Net;
import dev.arrow.config.SpecException;
import dev.arrow.config.SpecProblem;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * One clone's own settings, given to {@link ArrowTemplate#start(Consumer)}: everything not set here is the
 * template's. Setters only record values; {@link ArrowTemplate#start(Consumer)} checks them.
 *
 * <p>A clone of an {@linkplain TemplatePoint#isAppPoint() app-point} template resumes a program that is already
 * running: its args, env, working directory, user, hostname and files are the template's, and setting them
 * here is refused at start. Its streams, network forwards, timeout and grace period are always its own.
 */
public final class CloneOptions {
    private List<String> args;
    private final Map<String, String> env = new LinkedHashMap<>();
    private String workingDirectory;
    private int[] user;
    private String hostname;
    private final List<GuestFile> files = new ArrayList<>();
    private Net net;
    private Duration timeout;
    private Output stdout;
    private Output stderr;
    private Input stdin;
    private Duration gracePeriod;
    private final List<String> copyOutOnExit = new ArrayList<>();

    CloneOptions() {
    }

    /** Replaces the program's arguments (after {@code argv[0]}). */
    public CloneOptions args(String... args) {
        return args(List.of(args));
    }

    /** Replaces the program's arguments (after {@code argv[0]}). */
    public CloneOptions args(List<String> args) {
        this.args = List.copyOf(args);
        return this;
    }

    /** Sets an environment variable, added to the template's (or replacing its value). */
    public CloneOptions env(String name, String value) {
        env.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /** Sets environment variables, added to the template's, in the iteration order of {@code variables}. */
    public CloneOptions env(Map<String, String> variables) {
        variables.forEach(this::env);
        return this;
    }

    /** The program's working directory in the guest. */
    public CloneOptions workingDirectory(String guestPath) {
        this.workingDirectory = Objects.requireNonNull(guestPath, "guestPath");
        return this;
    }

    /** User and group ids the program runs as in the guest. */
    public CloneOptions user(int uid, int gid) {
        this.user = new int[] {uid, gid};
        return this;
    }

    /** The clone's hostname. */
    public CloneOptions hostname(String hostname) {
        this.hostname = Objects.requireNonNull(hostname, "hostname");
        return this;
    }

    /** Copies the host file {@code hostPath} to {@code guestPath} of this clone before its program starts. */
    public CloneOptions file(Path hostPath, String guestPath) {
        return file(GuestFile.fromHost(hostPath, guestPath));
    }

    /** Writes {@code content} to {@code guestPath} of this clone (mode 0644) before its program starts. */
    public CloneOptions file(byte[] content, String guestPath) {
        return file(GuestFile.ofBytes(content, guestPath));
    }

    /** Writes {@code text} as UTF-8 to {@code guestPath} of this clone (mode 0644) before its program starts. */
    public CloneOptions textFile(String text, String guestPath) {
        return file(GuestFile.ofText(text, guestPath));
    }

    /** Places {@code file} into this clone, beside the template's files. */
    public CloneOptions file(GuestFile file) {
        files.add(Objects.requireNonNull(file, "file"));
        return this;
    }

    /**
     * The clone's network: the template's mode with the clone's own settings, e.g. its own
     * {@code Net.user().forward(8081, 80)}. Each clone of a {@link Net#user()} template has its own network
     * process and host ports.
     */
    public CloneOptions net(Net net) {
        this.net = Objects.requireNonNull(net, "net");
        return this;
    }

    /** Stops the clone when its program runs longer than {@code timeout} (counted from the clone's start). */
    public CloneOptions timeout(Duration timeout) {
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        return this;
    }

    /** Where the clone's stdout goes (default: the template builder's). */
    public CloneOptions stdout(Output output) {
        this.stdout = Objects.requireNonNull(output, "output");
        return this;
    }

    /** Where the clone's stderr goes (default: the template builder's). */
    public CloneOptions stderr(Output output) {
        this.stderr = Objects.requireNonNull(output, "output");
        return this;
    }

    /** Where the clone's stdin comes from (default: the template builder's). */
    public CloneOptions stdin(Input input) {
        this.stdin = Objects.requireNonNull(input, "input");
        return this;
    }

    /** How long {@link ArrowProcess#destroy()} lets the clone's program terminate (default: the template builder's). */
    public CloneOptions gracePeriod(Duration gracePeriod) {
        Objects.requireNonNull(gracePeriod, "gracePeriod");
        if (gracePeriod.isNegative()) {
            throw new IllegalArgumentException("grace period " + gracePeriod + " is negative; give zero or more");
        }
        this.gracePeriod = gracePeriod;
        return this;
    }

    /**
     * Adds guest paths the clone sends to the host when its program ends, besides the template's; see
     * {@link Arrow#copyOutOnExit(String...)}. Not for a clone of an app-point template (its init has its spec already).
     */
    public CloneOptions copyOutOnExit(String... guestPaths) {
        for (String p : guestPaths) {
            copyOutOnExit.add(Objects.requireNonNull(p, "guestPath"));
        }
        return this;
    }

    /**
     * The clone's spec: {@code template} with these settings applied.
     *
     * @throws InvalidSpecException naming each setting a clone of {@code point} cannot change, or an invalid value
     */
    ArrowSpec applyTo(ArrowSpec template, TemplatePoint point) {
        List<SpecProblem> problems = new ArrayList<>();
        if (point.isAppPoint()) {
            String why = "a clone of a template frozen at the app point resumes the running program, so it cannot"
                    + " change this; set it on the template, or freeze at TemplatePoint.init()";
            if (args != null) problems.add(new SpecProblem("$.args", why));
            if (!env.isEmpty()) problems.add(new SpecProblem("$.env", why));
            if (workingDirectory != null) problems.add(new SpecProblem("$.workingDirectory", why));
            if (user != null) problems.add(new SpecProblem("$.user", why));
            if (hostname != null) problems.add(new SpecProblem("$.hostname", why));
            if (!files.isEmpty()) problems.add(new SpecProblem("$.files", why));
            if (!copyOutOnExit.isEmpty()) problems.add(new SpecProblem("$.copyOutOnExit", why));
        }
        if (net != null && !net.mode().equals(template.net().mode())) {
            problems.add(new SpecProblem("$.net", "a clone's network has its template's mode (" + template.net().mode()
                    + "), not " + net.mode() + ": make a template with the network you need"));
        }
        if (!problems.isEmpty()) {
            throw new InvalidSpecException(problems);
        }
        ArrowSpec.Builder b = template.toBuilder();
        if (args != null) b.args(args);
        b.env(env);
        if (workingDirectory != null) b.workingDirectory(workingDirectory);
        if (user != null) b.user(user[0], user[1]);
        if (hostname != null) b.hostname(hostname);
        files.forEach(b::file);
        b.copyOutOnExit(copyOutOnExit.toArray(String[]::new));
        if (net != null) b.net(net);
        if (timeout != null) b.timeout(timeout);
        try {
            return b.build();
        } catch (SpecException e) {
            throw new InvalidSpecException(e);
        }
    }

    Output stdoutOr(Output otherwise) {
        return stdout != null ? stdout : otherwise;
    }

    Output stderrOr(Output otherwise) {
        return stderr != null ? stderr : otherwise;
    }

    Input stdinOr(Input otherwise) {
        return stdin != null ? stdin : otherwise;
    }

    Duration gracePeriodOr(Duration otherwise) {
        return gracePeriod != null ? gracePeriod : otherwise;
    }
}
