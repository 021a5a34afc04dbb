package dev.arrow.kvm.vmm;

import dev.arrow.kvm.VcpuState;
import dev.arrow.kvm.Vm;
import dev.arrow.kvm.VmState;
import dev.arrow.kvm.device.I8042;
import dev.arrow.kvm.device.ReadOnlyMemory;
import dev.arrow.kvm.device.Serial8250;
import dev.arrow.kvm.device.StatusPort;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.diagnostics.KernelTask;
import dev.arrow.kvm.diagnostics.KvmTraceSample;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.ThreadStack;
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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A guest that {@link VmBuilder#start} booted: one thread per vCPU, plus a probe on the JVM's
 * {@link SharedIdleProber} that notices when every vCPU is halted for good (kicking quiet vCPUs less and less often,
 * {@link IdleProbeSchedule}). The guest ends with
 * exactly one {@link VmOutcome}; awaitExit returns it once every vCPU thread has left the guest.
 * {@link #stop()} ends it from any thread; {@link #close()} stops it and releases every thread,
 * fd and mapping.
 *
 * <p>Nothing a vCPU thread may still use is released under it: the fds, the kvm_run mappings, the
 * eventfds, the devices and guest RAM are released only once every vCPU loop has ended for good
 * ({@link ReleaseGate}). A close whose vCPU threads do not stop in time ({@link #STOP_TIMEOUT})
 * returns anyway; it then makes guest RAM an inaccessible reservation at the same host addresses
 * (a vCPU still inside KVM_RUN faults instead of reaching memory a later VM could map there) and
 * leaves the rest to the last of those threads, which releases it as it ends
 * ({@link #onReleased()}).
 *
 * <p>A guest built {@link VmConfig#templateable() templateable} can be {@link #freeze frozen} into a
 * {@link VmTemplate}, which then owns this VM. A clone of a template runs on a prepared VM (its
 * /dev/kvm, VM, vCPU fds and RAM mapping); {@link VmTemplate#recycle} closes the clone keeping
 * that for the next clone.
 */
public final class RunningVm implements AutoCloseable, VcpuRunner.Owner {
    private static final Logger LOG = LoggerFactory.getLogger(RunningVm.class);
    private static final AtomicInteger IDS = new AtomicInteger();
    /** How long a close waits for the vCPU threads to leave the guest before it leaves them the release. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    /**
     * The system property that turns off the drop of pages equal to their backing ({@link #appStarted()}) when
     * {@code false}; on by default.
     */
    public static final String DROP_PAGES_PROPERTY = "arrow.dropPagesEqualToBacking";
    /** How long the page drop waits for the vCPUs to be held before it gives up. */
    static final Duration HOLD_ARRIVALS = Duration.ofSeconds(1);

    private final int id = IDS.incrementAndGet();
    private final List<VcpuRunner> runners = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicReference<VmOutcome> decided = new AtomicReference<>();
    private final CompletableFuture<VmOutcome> exited = new CompletableFuture<>();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    /**
     * Counted down when the first {@link #close()} has done what it will: everything is released,
     * or what stuck vCPU threads may use is left to them.
     */
    private final CountDownLatch settled = new CountDownLatch(1);
    /** Completes when every fd, mapping and device of the VM has been released. */
    private final CompletableFuture<Void> released = new CompletableFuture<>();
    private volatile Thread closer;
    private volatile Duration stopTimeout = STOP_TIMEOUT;
    /** True once a close has left the release to vCPU threads that did not stop in time. */
    private volatile boolean lingering;
    private volatile ReleaseGate gate;
    private final BuildResources resources;
    private final MmapGuestMemory memory;
    private final PmemImages images;
    private final boolean debug;
    /** Where the guest's writes to its read-only images arrive, one per image. */
    private volatile List<ReadOnlyMemory> imageWrites = List.of();
    private volatile Serial8250 serial;
    private Vm vm;
    private I8042 i8042;
    private StatusPort statusPort;
    /** Set by a freeze: the devices keep what the guest left in their queues, for the clones. */
    private volatile boolean freezing;
    private VirtioDevices virtio;
    /** This VM's probe on the shared idle prober, from {@link #start()} on. */
    private volatile SharedIdleProber.Probe idleProbe;
    /** For a clone: the template it was cloned from and the VM it runs on (in {@link #resources}); else null. */
    private VmTemplate template;
    private PreparedVm prepared;
    /** Set by {@link #closeKeepingPreparedVm()}: the release hands {@link #prepared} over when it may. */
    private volatile boolean keepPrepared;
    private final AtomicReference<PreparedVm> kept = new AtomicReference<>();
    private IdleProbeSchedule probeSchedule;
    /** Set while the idle probe waits more than a tick: a vCPU's exit then asks it to come at the next tick. */
    private volatile boolean probeWaitsLong;
    /** Set by {@link #appStarted()}: the probe drops pages equal to their backing the first time the guest is idle. */
    private volatile boolean dropArmed;
    /** What that drop gave back; null until it ran. */
    private volatile MmapGuestMemory.DroppedPages dropped;

    /**
     * @param images its read-only images (in {@code resources}); a template made of it maps them into its clones
     * @param debug  whether its exits log unhandled guest I/O at INFO (clones of it do the same)
     */
    RunningVm(BuildResources resources, MmapGuestMemory memory, PmemImages images, boolean debug) {
        this.resources = resources;
        this.memory = memory;
        this.images = images;
        this.debug = debug;
    }

    /** The MMIO side of each read-only image, where its guest writes are refused and counted. */
    void attachImageWrites(List<ReadOnlyMemory> devices) {
        this.imageWrites = List.copyOf(devices);
    }

    /**
     * How many guest writes to its read-only images (virtio-pmem) were refused so far: each was
     * dropped, and the image files are unchanged.
     */
    public long refusedImageWrites() {
        long sum = 0;
        for (ReadOnlyMemory d : imageWrites) {
            sum += d.refusedWrites();
        }
        return sum;
    }

    void attach(Vm vm, Serial8250 serial, I8042 i8042, StatusPort statusPort, List<VcpuRunner> vcpuRunners) {
        this.vm = vm;
        this.serial = serial;
        this.i8042 = i8042;
        this.statusPort = statusPort;
        this.runners.addAll(vcpuRunners);
        this.probeSchedule = new IdleProbeSchedule(vcpuRunners.size());
        this.gate = new ReleaseGate(vcpuRunners.size());
    }

    /** Makes this VM a clone of {@code template} running on {@code prepared}, which {@link #resources} holds. */
    void attachClone(VmTemplate template, PreparedVm prepared) {
        this.template = template;
        this.prepared = prepared;
    }

    /** The template this VM is a clone of; null for a VM that was not cloned. */
    VmTemplate template() {
        return template;
    }

    /** How long {@link #close()} waits for the vCPU threads before it leaves them the release (tests shorten it). */
    void stopTimeout(Duration timeout) {
        this.stopTimeout = timeout;
    }

    /** The virtio devices to tell when the guest has stopped (their resources are closed with the rest). */
    void attachVirtio(VirtioDevices devices) {
        this.virtio = devices;
    }

    /** This VM's number in this JVM, for thread names and logs. */
    int id() {
        return id;
    }

    /**
     * Starts the vCPU threads and schedules the idle probe. From here on this object owns the build's
     * resources: if a thread cannot be started, the VM is closed (as by {@link #close()}) before
     * the failure propagates.
     */
    void start() {
        running.set(runners.size());
        for (VcpuRunner r : runners) {
            Thread t = new Thread(r, "arrow-vm" + id + "-vcpu" + r.vcpu().id());
            t.setDaemon(true);
            threads.add(t);
        }
        int started = 0;
        try {
            // scheduled before the threads start: a guest may end (and cancel the probe) at once
            idleProbe = SharedIdleProber.shared().schedule("VM " + id, this::probeIdle);
            for (Thread t : threads) {
                t.start();
                started++;
            }
        } catch (RuntimeException | Error e) {
            finish(new VmOutcome.VmmError(runners.isEmpty() ? 0 : runners.get(Math.min(started, runners.size() - 1)).vcpu().id(), e));
            for (int i = started; i < runners.size(); i++) {
                runnerFinished(runners.get(i)); // never ran: its loop has ended before it began
            }
            try {
                close();
            } catch (RuntimeException | Error closing) {
                e.addSuppressed(closing);
            }
            throw e;
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
     * has touched: mincore over the mappings). 0 once {@link #close()} has released (or retired)
     * the memory, or handed it to the next clone ({@link VmTemplate#recycle}).
     */
    public long residentGuestBytes() {
        return released.isDone() ? 0 : memory.residentBytes();
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

    /**
     * Freezes this running guest into a template: every vCPU stops between two exits (the last one
     * handled) and captures its state on its own thread; once all have, the VM state (clock, PICs,
     * IOAPIC) is captured, then the virtio devices' (their event loop stopped first) and
     * those of the serial port, i8042 and status port. Guest RAM is kept as it is. The guest
     * ends with {@link VmOutcome.Stopped}; the template owns this VM from here on, and closing
     * either closes both.
     *
     * <p>The template keeps {@link VmTemplate#DEFAULT_POOL_SIZE} prepared VMs for its clones;
     * {@link #freeze(Duration, int)} chooses how many.
     *
     * @param timeout how long the vCPUs may take to stop
     * @throws IllegalStateException if this VM was not built {@link VmConfig#templateable() templateable},
     *     has ended, or a vCPU or device could not be frozen (the guest is then stopped)
     */
    public VmTemplate freeze(Duration timeout) throws InterruptedException {
        return freeze(timeout, VmTemplate.DEFAULT_POOL_SIZE);
    }

    /**
     * Like {@link #freeze(Duration)}, the template keeping {@code poolSize} prepared VMs (made on
     * its own thread) for its clones and taking back up to as many from finished clones; 0 makes
     * none ahead and takes none back.
     *
     * @throws IllegalArgumentException if {@code poolSize} is negative (before anything is frozen)
     */
    public VmTemplate freeze(Duration timeout, int poolSize) throws InterruptedException {
        PrebuiltPool.checkedSize(poolSize);
        if (!memory.isInMemoryFile() || memory.isPrivateCopy()) {
            throw new IllegalStateException("VM " + id + " cannot be frozen: its RAM is not a template's memory file "
                    + "(build it with VmConfig.templateable(true))");
        }
        if (closed.get()) {
            throw new IllegalStateException("VM " + id + " is closed: nothing to freeze");
        }
        if (!decided.compareAndSet(null, new VmOutcome.Stopped())) {
            throw new IllegalStateException("VM " + id + " has ended (" + decided.get().describe() + "): nothing to freeze");
        }
        freezing = true;
        long deadline = System.nanoTime() + timeout.toNanos();
        List<CompletableFuture<VcpuState>> requests = runners.stream().map(VcpuRunner::requestFreeze).toList();
        List<VcpuState> vcpuStates = new ArrayList<>(requests.size());
        try {
            for (CompletableFuture<VcpuState> request : requests) {
                vcpuStates.add(request.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            }
            if (awaitExit(Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))).isEmpty()) {
                throw new TimeoutException("the vCPU loops did not end after freezing");
            }
        } catch (ExecutionException | TimeoutException e) {
            runners.forEach(VcpuRunner::requestStop);
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("VM " + id + " could not be frozen within " + timeout.toMillis() + " ms: "
                    + cause.getMessage(), cause);
        }
        VmState vmState = vm.saveState();
        List<VirtioMmioTransport.State> virtioStates = virtio == null ? List.of() : virtio.freeze();
        return new VmTemplate(this, memory, images, debug, vmState, vcpuStates, serial.state(), i8042.state(),
                statusPort.state(), virtioStates, poolSize);
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
            stopIdleProbe();
            if (virtio != null && !memory.isClosed() && !freezing) {
                virtio.guestStopped(); // before the exit is reported: the devices know no more guest work comes
            }
            exited.complete(decided.get());
        }
        // the last thing this loop does with the VM: after it, a close may release everything
        if (gate.loopEnded()) {
            if (lingering) {
                LOG.info("VM {}: its last vCPU thread has left the guest ({}); releasing what was kept for it",
                        id, Thread.currentThread().getName());
            }
            releaseResources();
        }
    }

    @Override
    public void vcpuActive() {
        if (probeWaitsLong) { // once per quiet spell: later exits find it false until the probe waits long again
            probeWaitsLong = false;
            SharedIdleProber.Probe probe = idleProbe;
            if (probe != null) {
                probe.expedite();
            }
        }
    }

    /**
     * A vCPU was found idle: the event loop's thread, which waits as long (an idle guest notifies no queue), gives back
     * its stack pages below its frame too ({@link ThreadStack}), between two pieces of device work.
     */
    @Override
    public void vcpuIdle() {
        VirtioDevices devices = virtio;
        if (devices != null) {
            try {
                devices.runOnEventLoop(ThreadStack::releaseBelowCurrentFrame);
            } catch (RejectedExecutionException e) {
                // the loop has stopped: its thread is gone or going
            }
        }
    }

    /** The idle probe at {@code tick}: kicks the vCPUs due for it; returns the tick it wants to run next. */
    private long probeIdle(long tick) {
        probeWaitsLong = true; // before the activity is read: an exit after the read expedites the next run
        for (int i = 0; i < runners.size(); i++) {
            VcpuRunner r = runners.get(i);
            if (probeSchedule.probeNow(i, tick, r.activityCount(), r.state() == VcpuRunner.State.RUNNING, r.isDead(),
                    r::stillInAliveHalt)) {
                r.requestProbe();
            }
        }
        if (dropArmed && runners.stream().allMatch(VcpuRunner::inAliveHalt)) {
            dropArmed = false;
            startPageDrop();
        }
        long next = probeSchedule.nextTick(tick);
        if (next <= tick + 1) {
            probeWaitsLong = false;
        }
        return next;
    }

    /**
     * Says that the guest's program has started (init's mark): the first time the idle probe then finds every vCPU
     * halted waiting for an interrupt, the VMM gives the host back the guest RAM pages that hold what the guest would
     * read without them ({@link MmapGuestMemory#dropPagesEqualToBacking()}: pages of zeros, copies of kernel image
     * pages still equal to the image, and copies of the kernel's text as every guest patches it at boot, which become
     * one set for the process), once. Most are kernel stacks and buffers zeroed when allocated, and bss pages
     * the kernel cleared at boot (docs/idle.md, "Where a cold arrow's private memory goes"). It holds every writer of
     * guest RAM meanwhile: the vCPUs between two exits ({@link VcpuHold}) and the devices (it runs on the VM's virtio
     * event loop). Not for RAM in a memory file (templates and their clones: their pages are the file's, see
     * {@link MmapGuestMemory#dropPagesEqualToBacking()}), nor for RAM with huge pages (a drop would split them, and
     * whoever asked for them chose fewer faults over less memory), nor with {@link #DROP_PAGES_PROPERTY} {@code false}.
     * Any thread; later calls do nothing.
     */
    public void appStarted() {
        if (dropped == null && dropsPages()) {
            dropArmed = true;
        }
    }

    /**
     * Says that init has started (its first status line): the guest's kernel has booted and no program has run. If the
     * page drop applies to this VM ({@link #appStarted()}) and no guest gave them yet, the copies of the kernel's text
     * that every guest patches alike are taken from this one ({@link MmapGuestMemory#giveCommonCopies()}), to be shared
     * by every later drop. Call it on the vCPU thread that wrote the line, in its exit: with one vCPU the guest is
     * stopped meanwhile. Never fails: a copy not taken is logged at DEBUG.
     */
    public void initStarted() {
        if (!dropsPages()) {
            return;
        }
        try {
            memory.giveCommonCopies();
        } catch (RuntimeException e) {
            LOG.debug("VM {}: the kernel's common copies not taken: {}", id, e.toString());
        }
    }

    /** Whether this VM's RAM takes the page drop: anonymous, not a template's, no huge pages, not turned off. */
    private boolean dropsPages() {
        return !memory.isInMemoryFile() && template == null && !memory.hugePages()
                && !"false".equalsIgnoreCase(System.getProperty(DROP_PAGES_PROPERTY));
    }

    /**
     * What the drop of {@link #appStarted()} gave back; empty until it ran (or when it does not apply).
     */
    public Optional<MmapGuestMemory.DroppedPages> droppedPages() {
        return Optional.ofNullable(dropped);
    }

    /** On the prober's thread: runs the page drop where it holds the devices, unless the VM is ending. */
    private void startPageDrop() {
        if (closed.get() || decided.get() != null) {
            return;
        }
        VirtioDevices devices = virtio;
        if (devices == null) {
            dropPagesHeld(); // no device thread writes guest RAM: holding the vCPUs holds every writer
            return;
        }
        try {
            devices.runOnEventLoop(this::dropPagesHeld);
        } catch (RejectedExecutionException e) {
            LOG.debug("VM {}: no page drop, the event loop is stopped", id);
        }
    }

    /** Holds the vCPUs and drops the pages equal to their backing; on the event loop (devices held) or the prober. */
    private void dropPagesHeld() {
        if (closed.get() || decided.get() != null) {
            return;
        }
        long started = System.nanoTime();
        AtomicReference<MmapGuestMemory.DroppedPages> result = new AtomicReference<>();
        boolean ran;
        try {
            ran = VcpuHold.runHeld(runners, HOLD_ARRIVALS, () -> {
                // a vCPU that ended instead of being held may be finishing the devices' queues (guestStopped) on its
                // thread: no drop then; a held one cannot end before this returns
                if (runners.stream().noneMatch(VcpuRunner::hasEnded)) {
                    result.set(memory.dropPagesEqualToBacking());
                }
            });
        } catch (RuntimeException e) {
            LOG.debug("VM {}: dropping pages equal to their backing failed: {}", id, e.toString());
            return;
        }
        long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - started);
        MmapGuestMemory.DroppedPages d = result.get();
        if (!ran || d == null) {
            LOG.debug("VM {}: no page drop, {}", id, ran ? "the guest is ending"
                    : "a vCPU was not held within " + HOLD_ARRIVALS.toMillis() + " ms");
            return;
        }
        dropped = d;
        LOG.debug("VM {}: dropped {} guest RAM pages of zeros and {} copies of kernel image pages equal to the image,"
                + " shared {} copies every guest patches alike ({} KiB), vCPUs held {} us", id, d.zeroPages(),
                d.filePages(), d.sharedPages(), d.bytes() / 1024, micros);
    }

    /**
     * Stops the guest (if it still runs), waits for the vCPU threads, then closes devices,
     * vCPUs, the VM, /dev/kvm and guest memory. Idempotent, and when it returns everything is
     * released, even if another thread was closing the VM at the same time: a caller that finds
     * the VM being closed waits for that close to end (the port a network backend forwards is
     * free then, for instance). Only a vCPU thread of this VM, or the closing thread itself, does
     * not wait: the release then happens when the vCPU loops have ended.
     *
     * <p>One exception keeps close bounded: vCPU threads that have not left the guest
     * {@link #STOP_TIMEOUT} after the stop (a thread that ignores kicks inside KVM_RUN, or is
     * blocked in a device). They may still run guest code, so guest RAM is not unmapped: it becomes
     * an inaccessible reservation at the same addresses ({@link MmapGuestMemory#retire()}), which
     * frees its pages and makes such a guest fault. Everything else they may use (VM and vCPU fds,
     * kvm_run mappings, eventfds, devices) is kept, and the last of those threads releases it all,
     * the reservation included, when it ends ({@link #onReleased()}). This is logged once, at WARN.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            awaitSettled();
            return;
        }
        closer = Thread.currentThread();
        boolean settlesLater = false;
        try {
            settlesLater = closeOnce();
        } finally {
            if (!settlesLater) {
                settled.countDown();
            }
        }
    }

    /**
     * Closes this clone as {@link #close()} does, but hands its {@link PreparedVm} (/dev/kvm, VM,
     * vCPUs, RAM mapping) to the caller instead of closing it, when that is safe: every vCPU
     * thread has ended (none is or can be inside KVM_RUN), the release runs on this thread (not
     * left to a vCPU thread that did not stop in time) and this VM was not closed before.
     * Everything else is released as by a close.
     *
     * @return the prepared VM, the caller's from now on; null when it was closed with the rest
     */
    PreparedVm closeKeepingPreparedVm() {
        if (prepared == null) {
            close();
            return null;
        }
        keepPrepared = true;
        close();
        return kept.getAndSet(null);
    }

    /**
     * Whether every fd, mapping and device of this VM has been released: after {@link #close()},
     * unless vCPU threads that did not stop still hold them.
     */
    public boolean isReleased() {
        return released.isDone();
    }

    /**
     * Completes once every fd, mapping and device of this VM is released: when {@link #close()}
     * returns, normally; later, when the last vCPU thread that did not stop in time has ended.
     * A copy: completing it does nothing.
     */
    public CompletableFuture<Void> onReleased() {
        return released.copy();
    }

    /** The host addresses of guest RAM (for tests that look at this process's mappings). */
    List<MmapGuestMemory.HostRegion> guestMemoryHostRegions() {
        return memory.hostRegions();
    }

    private void awaitSettled() {
        Thread current = Thread.currentThread();
        if (current == closer || threads.contains(current)) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                settled.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the resources are being released anyway; say so once they are
            }
        }
        if (interrupted) {
            current.interrupt();
        }
    }

    /** Returns true when the release is left to this very vCPU thread, which settles the close then. */
    private boolean closeOnce() {
        stop();
        // a vCPU thread closing its own VM (from a device callback) cannot wait for itself; its
        // loop ends after the callback returns (stop() was asked), and the release happens then
        boolean onVcpuThread = threads.contains(Thread.currentThread());
        long deadline = System.nanoTime() + stopTimeout.toNanos();
        boolean stopped = gate.awaitLoopsAtMost(onVcpuThread ? 1 : 0, stopTimeout.toNanos());
        if (stopped) {
            joinEndedThreads(deadline);
        }
        stopIdleProbe();
        if (!stopped) {
            keepForStuckThreads();
        }
        if (gate.closeRequested()) {
            releaseResources();
        } else if (stopped) {
            // this vCPU thread's loop ends once the callback it is in returns; it releases then
            released.whenComplete((v, e) -> settled.countDown());
            return true;
        }
        return false;
    }

    /** Joins the vCPU threads whose loops have ended (they have nothing left to do), other than this one. */
    private void joinEndedThreads(long deadline) {
        boolean interrupted = false;
        for (int i = 0; i < threads.size(); i++) {
            Thread t = threads.get(i);
            if (t == Thread.currentThread() || runners.get(i).state() != VcpuRunner.State.FINISHED) {
                continue;
            }
            long left = Math.max(deadline - System.nanoTime(), TimeUnit.SECONDS.toNanos(1));
            try {
                t.join(TimeUnit.NANOSECONDS.toMillis(left) + 1);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Cancels the idle probe: when this returns it does not run, and never will again. */
    private void stopIdleProbe() {
        SharedIdleProber.Probe probe = idleProbe;
        if (probe != null) {
            probe.cancel();
        }
    }

    /**
     * Some vCPU threads did not stop in time: retires guest RAM and leaves the rest of the release
     * to them, saying so once.
     */
    private void keepForStuckThreads() {
        lingering = true;
        StringBuilder stuck = new StringBuilder();
        int count = 0;
        for (int i = 0; i < runners.size(); i++) {
            VcpuRunner r = runners.get(i);
            if (r.state() == VcpuRunner.State.FINISHED || i >= threads.size() || !threads.get(i).isAlive()
                    || threads.get(i) == Thread.currentThread()) {
                continue;
            }
            count++;
            int tid = r.vcpu().runningThreadId();
            stuck.append(stuck.length() == 0 ? "" : ", ").append(threads.get(i).getName())
                    .append(tid != 0 ? " (inside KVM_RUN, tid " + tid + ")"
                            : " (outside the guest, " + threads.get(i).getState() + ")");
        }
        String ram;
        try {
            memory.retire();
            ram = "guest RAM " + describeRam() + " is now an inaccessible reservation (PROT_NONE, pages freed) that "
                    + "stays mapped so no other mapping can take its addresses while a vCPU may still reach them";
        } catch (RuntimeException e) {
            ram = "guest RAM " + describeRam() + " stays mapped, accessible to the guest only (" + e.getMessage() + ")";
        }
        LOG.warn("VM {}: {} vCPU thread(s) did not leave the guest within {} ms of the stop: {}. Closing anyway: {}; "
                        + "the VM and vCPU fds, kvm_run mappings, eventfds, devices and that address range are kept "
                        + "until the last of these threads ends, which releases them",
                id, count, stopTimeout.toMillis(), stuck.length() == 0 ? "ending now" : stuck, ram);
    }

    /**
     * True when nothing of this VM's can enter its prepared VM again (the release runs on the
     * closing thread, which waited for every vCPU loop, and no vCPU thread is alive) and the guest
     * ended in a way that leaves it reusable ({@link PreparedVm#reusableAfter}).
     */
    private boolean preparedIsReusable() {
        return prepared != null && !lingering && Thread.currentThread() == closer
                && threads.stream().noneMatch(Thread::isAlive) && !memory.isClosed()
                && PreparedVm.reusableAfter(decided.get());
    }

    private String describeRam() {
        StringBuilder b = new StringBuilder();
        for (MmapGuestMemory.HostRegion h : memory.hostRegions()) {
            b.append(b.length() == 0 ? "" : " ").append(String.format("[0x%x, +0x%x)", h.hostAddress(), h.region().size()));
        }
        return b.toString();
    }

    private void releaseResources() {
        try {
            if (keepPrepared && preparedIsReusable() && resources.handOver(prepared)) {
                kept.set(prepared);
            }
            resources.closeAll();
        } finally {
            released.complete(null);
        }
    }

    @Override
    public String toString() {
        return "VM " + id + (isAlive() ? " (running)" : " (" + decided.get().describe() + ")");
    }
}
