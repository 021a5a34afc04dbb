package dev.arrow.junit;

import dev.arrow.ArrowProcess;
import dev.arrow.ArrowTemplate;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the extension started for one extension context, a test or a class: arrows (a test's own, its clones, or
 * a class's) and templates (a class's), each with its field; closed together when the context ends. Kept in the
 * context's store. Filled by the thread of the context's before-callback and read by the tests running under it,
 * possibly several at once: thread-safe.
 */
final class StartedArrows {
    /**
     * How long {@link #close()} waits for the closed arrows' VMs to be released ({@link ArrowProcess#onReleased()}):
     * their passt processes, threads and fds gone before the next test starts, as they were before close() left the
     * release to the backend's own thread.
     */
    static final Duration RELEASE_WAIT = Duration.ofSeconds(30);

    /** An arrow started from {@code field}: the field's own, or a clone of the field's template. */
    record Running(DeclaredArrow field, ArrowProcess process) {
    }

    /** The template booted from a {@link RunArrow#template()} field, of which each test gets a clone. */
    record Template(DeclaredArrow field, ArrowTemplate template) {
    }

    private final List<Running> running = new CopyOnWriteArrayList<>();
    private final List<Template> templates = new CopyOnWriteArrayList<>();

    void add(DeclaredArrow field, ArrowProcess process) {
        running.add(new Running(field, process));
    }

    void add(DeclaredArrow field, ArrowTemplate template) {
        templates.add(new Template(field, template));
    }

    List<Running> running() {
        return List.copyOf(running);
    }

    List<Template> templates() {
        return List.copyOf(templates);
    }

    /**
     * Closes every arrow (stopping those still running), then every template, the last started first; each is
     * closed even if another fails. Then waits, at most {@link #RELEASE_WAIT}, until the arrows' VMs are released,
     * so that a test's arrows leave nothing behind for the next (an interrupt ends the wait, kept on the thread).
     *
     * @throws RuntimeException the first failure, with the others suppressed
     */
    void close() {
        List<AutoCloseable> all = new ArrayList<>();
        running.forEach(r -> all.add(r.process()));
        templates.forEach(t -> all.add(t.template()));
        RuntimeException failure = null;
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                all.get(i).close();
            } catch (Exception e) {
                RuntimeException wrapped = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                if (failure == null) {
                    failure = wrapped;
                } else {
                    failure.addSuppressed(wrapped);
                }
            }
        }
        awaitReleased();
        if (failure != null) {
            throw failure;
        }
    }

    private void awaitReleased() {
        CompletableFuture<?>[] released = running.stream().map(r -> r.process().onReleased())
                .toArray(CompletableFuture<?>[]::new);
        try {
            CompletableFuture.allOf(released).get(RELEASE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // onReleased never fails; a release slower than the wait goes on on the backend's thread
        }
    }
}
