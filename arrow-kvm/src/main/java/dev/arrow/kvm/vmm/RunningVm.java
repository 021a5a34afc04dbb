package dev.arrow.kvm.vmm;

import dev.arrow.kvm.device.Serial8250;
import dev.arrow.kvm.memory.MmapGuestMemory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A guest that {@link VmBuilder#start} booted: one thread per vCPU, plus one that notices when
 * every vCPU is halted for good. The guest ends with exactly one {@link VmOutcome}; awaitExit
 * returns it once every vCPU thread has left the guest. {@link #stop()} ends it from any thread;
 * {@link #close()} stops it and releases every thread, fd and mapping.
 */
public final class RunningVm implements AutoCloseable, VcpuRunner.Owner {
    private static final Logger LOG = LoggerFactory.getLogger(RunningVm.class);
    private static final AtomicInteger IDS = new AtomicInteger();
    /** How often vCPUs that have not exited are checked for being halted with interrupts off. */
    static final Duration IDLE_PROBE_PERIOD = Duration.ofMillis(250);
    private static final long JOIN_TIMEOUT_MILLIS = 10_000;

    private final int id = IDS.incrementAndGet();
    private final List<VcpuRunner> runners = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicReference<VmOutcome> decided = new AtomicReference<>();
    private final CompletableFuture<VmOutcome> exited = new CompletableFuture<>();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Counted down when the first {@link #close()} has released everything. */
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile Thread closer;
    private final BuildResources resources;
    private final MmapGuestMemory memory;
    private volatile Serial8250 serial;
    private VirtioDevices virtio;
    private ScheduledExecutorService prober;
    private long[] lastExitCounts;

    RunningVm(BuildResources resources, MmapGuestMemory memory) {
        this.resources = resources;
        this.memory = memory;
    }

    void attach(Serial8250 serial, List<VcpuRunner> vcpuRunners) {
        this.serial = serial;
        this.runners.addAll(vcpuRunners);
        this.lastExitCounts = new long[vcpuRunners.size()];
    }

    /** The virtio devices to tell when the guest has stopped (their resources are closed with the rest). */
    void attachVirtio(VirtioDevices devices) {
        this.virtio = devices;
    }

    /** This VM's number in this JVM, for thread names and logs. */
    int id() {
        return id;
    }

    /** Starts the vCPU threads and the idle prober. */
    void start() {
        running.set(runners.size());
        for (VcpuRunner r : runners) {
            Thread t = new Thread(r, "arrow-vm" + id + "-vcpu" + r.vcpu().id());
            t.setDaemon(true);
            threads.add(t);
        }
        prober = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "arrow-vm" + id + "-idle-probe");
            t.setDaemon(true);
            return t;
        });
        // scheduled before the threads start: a guest may end (and shut the prober down) at once
        long period = IDLE_PROBE_PERIOD.toMillis();
        prober.scheduleAtFixedRate(this::probeIdle, period, period, TimeUnit.MILLISECONDS);
        for (Thread t : threads) {
            t.start();
        }
    }

    /** Waits for the guest to end, at most {@code timeout}; empty when it is still running. */
    public Optional<VmOutcome> awaitExit(Duration timeout) throws InterruptedException {
        try {
            return Optional.of(exited.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the exit future never fails", e);
        }
    }

    /** Waits for the guest to end. */
    public VmOutcome awaitExit() throws InterruptedException {
        try {
            return exited.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the exit future never fails", e);
        }
    }

    /** Completes with the outcome once every vCPU thread has finished (a copy: completing it does nothing). */
    public CompletableFuture<VmOutcome> onExit() {
        return exited.copy();
    }

    public boolean isAlive() {
        return !exited.isDone();
    }

    /** The state of each vCPU's thread, by vCPU id. */
    public List<VcpuRunner.State> vcpuStates() {
        return runners.stream().map(VcpuRunner::state).toList();
    }

    /**
     * What each vCPU is doing, one line each, for a guest that seems stuck: its registers (rip,
     * rsp, rflags, control registers), MP state and exit counts, read by its own thread after a
     * kick. A vCPU whose thread does not come back within {@code wait} is shown with the Java
     * stack it is blocked in. Any thread; the guest keeps running.
     */
    public String describeVcpus(Duration wait) throws InterruptedException {
        List<CompletableFuture<String>> requests = runners.stream().map(VcpuRunner::requestSnapshot).toList();
        long deadline = System.nanoTime() + wait.toNanos();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < runners.size(); i++) {
            if (i > 0) {
                b.append('\n');
            }
            try {
                b.append(requests.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                b.append(unanswered(i, wait));
            } catch (ExecutionException e) {
                b.append("vCPU ").append(runners.get(i).vcpu().id()).append(": ").append(e.getCause());
            }
        }
        return b.toString();
    }

    /** The kernel thread id of vCPU {@code index}'s thread while it is inside KVM_RUN, else 0 (diagnostics). */
    int vcpuThreadInKvmRun(int index) {
        return runners.get(index).vcpu().runningThreadId();
    }

    private String unanswered(int index, Duration wait) throws InterruptedException {
        VcpuRunner r = runners.get(index);
        StringBuilder b = new StringBuilder("vCPU ").append(r.vcpu().id()).append(": no exit within ")
                .append(wait.toMillis()).append(" ms of a kick; ").append(r.exitSummary());
        int tid = r.vcpu().runningThreadId();
        if (tid != 0) {
            b.append("; inside KVM_RUN, ").append(KernelTask.describe(tid));
            if (KvmTraceSample.enabled()) {
                b.append("; ").append(KvmTraceSample.sample(tid, Duration.ofMillis(200)));
            }
        }
        if (index < threads.size()) {
            Thread t = threads.get(index);
            b.append("; thread ").append(t.getName()).append(' ').append(t.getState());
            StackTraceElement[] stack = t.getStackTrace();
            for (int f = 0; f < Math.min(stack.length, 12); f++) {
                b.append("\n    at ").append(stack[f]);
            }
        }
        return b.toString();
    }

    /**
     * The vCPU exits so far, summed over the vCPUs, by kind (every kind present, zero included).
     * Still available after the guest ended and after {@link #close()}: then they are final.
     */
    public Map<ExitKind, Long> exitCounts() {
        Map<ExitKind, Long> counts = new EnumMap<>(ExitKind.class);
        for (ExitKind kind : ExitKind.values()) {
            long sum = 0;
            for (VcpuRunner r : runners) {
                sum += r.exitCount(kind);
            }
            counts.put(kind, sum);
        }
        return Collections.unmodifiableMap(counts);
    }

    /**
     * How many bytes of guest RAM are resident in this process now (pages the guest or the VMM
     * has touched: mincore over the mappings). 0 once {@link #close()} has released the memory.
     */
    public long residentGuestBytes() {
        return memory.residentBytes();
    }

    /** Bytes the guest has written to its serial port so far (0 before the port is attached). */
    public long serialOutputBytes() {
        Serial8250 s = serial;
        return s == null ? 0 : s.transmittedBytes();
    }

    /**
     * Offers bytes to the guest's serial port (its console input); returns how many the UART's
     * receive FIFO took. The rest can be offered again later.
     */
    public int writeSerialInput(byte[] data, int offset, int length) {
        return serial.receive(data, offset, length);
    }

    /** Ends the guest with {@link VmOutcome.Stopped} unless it has ended already. Any thread; does not wait. */
    public void stop() {
        finish(new VmOutcome.Stopped());
    }

    @Override
    public void finish(VmOutcome outcome) {
        if (decided.compareAndSet(null, outcome)) {
            if (outcome instanceof VmOutcome.VmmError || outcome instanceof VmOutcome.InternalError
                    || outcome instanceof VmOutcome.FailEntry) {
                LOG.warn("VM {} ends: {}", id, outcome.describe());
            } else {
                LOG.debug("VM {} ends: {}", id, outcome.describe());
            }
            for (VcpuRunner r : runners) {
                r.requestStop();
            }
        }
    }

    @Override
    public void idleChanged() {
        if (!runners.isEmpty() && runners.stream().allMatch(VcpuRunner::isDead)) {
            finish(new VmOutcome.Halted());
        }
    }

    @Override
    public void runnerFinished(VcpuRunner runner) {
        if (running.decrementAndGet() == 0) {
            decided.compareAndSet(null, new VmOutcome.VmmError(runner.vcpu().id(),
                    new IllegalStateException("every vCPU thread ended without an outcome")));
            prober.shutdownNow();
            if (virtio != null) {
                virtio.guestStopped(); // before the exit is reported: the devices know no more guest work comes
            }
            exited.complete(decided.get());
        }
    }

    private void probeIdle() {
        for (int i = 0; i < runners.size(); i++) {
            VcpuRunner r = runners.get(i);
            long count = r.exitCount();
            if (r.state() == VcpuRunner.State.RUNNING && count == lastExitCounts[i]) {
                r.requestProbe();
            }
            lastExitCounts[i] = count;
        }
    }

    /**
     * Stops the guest (if it still runs), waits for the vCPU threads, then closes devices,
     * vCPUs, the VM, /dev/kvm and guest memory. Idempotent, and when it returns everything is
     * released, even if another thread was closing the VM at the same time: a caller that finds
     * the VM being closed waits for that close to end (the port a network backend forwards is
     * free then, for instance). Only a vCPU thread of this VM, or the closing thread itself, does
     * not wait: the close waits for them.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            awaitReleased();
            return;
        }
        closer = Thread.currentThread();
        try {
            release();
        } finally {
            released.countDown();
        }
    }

    /** Whether {@link #close()} has released everything. */
    public boolean isReleased() {
        return released.getCount() == 0;
    }

    private void awaitReleased() {
        Thread current = Thread.currentThread();
        if (current == closer || threads.contains(current)) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                released.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the resources are being released anyway; say so once they are
            }
        }
        if (interrupted) {
            current.interrupt();
        }
    }

    private void release() {
        stop();
        for (Thread t : threads) {
            if (t == Thread.currentThread()) {
                continue; // closed from a listener on a vCPU thread: that thread ends after the callback
            }
            try {
                t.join(JOIN_TIMEOUT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (t.isAlive()) {
                LOG.warn("{} did not stop within {} ms; closing its vCPU anyway", t.getName(), JOIN_TIMEOUT_MILLIS);
            }
        }
        if (prober != null) {
            prober.shutdownNow();
            try {
                prober.awaitTermination(JOIN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        resources.closeAll();
    }

    @Override
    public String toString() {
        return "VM " + id + (isAlive() ? " (running)" : " (" + decided.get().describe() + ")");
    }
}
