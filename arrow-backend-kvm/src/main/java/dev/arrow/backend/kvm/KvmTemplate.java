package dev.arrow.backend.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.BootPhase;
import dev.arrow.GuestFailureException;
import dev.arrow.InvalidSpecException;
import dev.arrow.TemplatePoint;
import dev.arrow.VmmException;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.config.Net;
import dev.arrow.config.SpecProblem;
import dev.arrow.image.GuestImage;
import dev.arrow.image.LoaderPlan;
import dev.arrow.image.ImageException;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.diagnostics.StepTimes;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.balloon.VirtioBalloon;
import dev.arrow.kvm.virtio.console.VirtioConsole;
import dev.arrow.kvm.virtio.net.VirtioNet;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmClone;
import dev.arrow.kvm.vmm.VmTemplate;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.MicroVmTemplate;
import dev.arrow.spi.OutputSink;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A guest booted by {@link KvmLauncher} up to its {@link TemplatePoint} and frozen into a {@link VmTemplate};
 * each {@link #startClone} restores it into a new VM with its own devices' host sides (console streams, entropy
 * source, its own passt), then tells the clone's init who it is: at the init point the whole launch spec
 * (args, env, files, hostname, network, wall clock, fresh entropy) over the control port; at the app point the
 * wall clock and fresh entropy only.
 *
 * <p>The template's own network has no forwards (its host ports belong to the clones) and {@link Net.Tap} is
 * refused (one device cannot serve several clones).
 */
final class KvmTemplate implements MicroVmTemplate {
    private static final Logger LOG = LoggerFactory.getLogger(KvmTemplate.class);
    /** How long the vCPUs get to stop between two exits when the template is frozen. */
    static final Duration FREEZE_TIMEOUT = Duration.ofSeconds(10);
    /** Random bytes each clone's init mixes into its kernel's pool. */
    static final int ENTROPY_BYTES = 64;

    private final ArrowSpec spec;
    private final TemplatePoint point;
    /** Where the clones' init finds the program: in the template's binary image, or in its initramfs. */
    private final String executable;
    private final VmTemplate frozen;
    private final KvmSession templateSession;
    private final long memoryBytes;
    private final SecureRandom random = new SecureRandom();
    private boolean closed; // guarded by this

    private KvmTemplate(ArrowSpec spec, TemplatePoint point, String executable, VmTemplate frozen,
                        KvmSession templateSession, long memoryBytes) {
        this.spec = spec;
        this.point = point;
        this.executable = executable;
        this.frozen = frozen;
        this.templateSession = templateSession;
        this.memoryBytes = memoryBytes;
    }

    /** Boots {@code spec} up to {@code point} and freezes it; see {@link KvmLauncher#template}. */
    static KvmTemplate boot(ArrowSpec spec, TemplatePoint point, OutputSink stdout, OutputSink stderr,
            BootEvents events) {
        if (spec.net() instanceof Net.Tap tap) {
            throw new InvalidSpecException(List.of(new SpecProblem("$.net", "a template cannot use the tap device "
                    + tap.name() + ": each clone needs a network of its own; use Net.user()")));
        }
        KvmLauncher.CheckedInputs inputs = KvmLauncher.checkInputs(spec);
        LoaderPlan plan = KvmLauncher.loaderPlan(spec, inputs.binary());
        TemplateReadiness readiness = new TemplateReadiness(point);
        KvmLauncher.Booted booted = KvmLauncher.boot(spec, inputs.kernel(), plan, templateInitramfs(spec, point, plan),
                withoutForwards(spec.net()), true, readiness.watch(stdout), stderr, events, ExitCopySink.NONE,
                readiness::onStatusLine);
        try {
            awaitPoint(spec, point, readiness, booted.session());
            VmTemplate vmTemplate = booted.vm().freeze(FREEZE_TIMEOUT);
            LOG.debug("{} frozen at {}: {}", spec.binary().getFileName(), TemplateReadiness.describe(point), vmTemplate);
            return new KvmTemplate(spec, point, plan.executable(), vmTemplate, booted.session(), booted.memoryBytes());
        } catch (InterruptedException e) {
            booted.session().close();
            Thread.currentThread().interrupt();
            throw new GuestFailureException("interrupted while the template of " + spec.binary().getFileName()
                    + " booted", e);
        } catch (IllegalStateException e) {
            booted.session().close();
            throw new VmmException("freezing the template of " + spec.binary().getFileName() + " failed: "
                    + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            booted.session().close();
            throw e;
        }
    }

    /** The initramfs a template of {@code spec} boots: init waits for its launch spec, or the app runs to its point. */
    private static Initramfs templateInitramfs(ArrowSpec spec, TemplatePoint point, LoaderPlan plan) {
        try {
            if (!point.isAppPoint()) {
                return GuestImage.templateInitramfs(spec, plan);
            }
            return GuestImage.appTemplateInitramfs(spec, GuestNetworking.settingsFor(spec.net()),
                    point instanceof TemplatePoint.Listening l ? OptionalInt.of(l.guestPort()) : OptionalInt.empty(), plan);
        } catch (ImageException e) {
            throw ApiExceptions.of(e);
        }
    }

    /** {@code net} without its port forwards: those are the clones' to bind. */
    static Net withoutForwards(Net net) {
        if (net instanceof Net.User user) {
            Net.User stripped = Net.user();
            return user.hostLoopback() ? stripped.allowHostLoopback() : stripped;
        }
        return net;
    }

    /** Waits until the guest reaches {@code point}; fails if it ends first or takes longer than the point allows. */
    private static void awaitPoint(ArrowSpec spec, TemplatePoint point, TemplateReadiness readiness,
            KvmSession session) throws InterruptedException {
        CompletableFuture<ArrowOutcome> ended = session.outcome();
        try {
            CompletableFuture.anyOf(readiness.reached(), ended).get(point.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new GuestFailureException("the template of " + spec.binary().getFileName() + " did not reach "
                    + TemplateReadiness.describe(point) + " within " + point.timeout().toMillis() + " ms"
                    + lastOutput(readiness) + ": give it more time with TemplatePoint...within(...)");
        } catch (ExecutionException e) {
            throw new VmmException("the template's guest failed: " + e.getCause(), e.getCause());
        }
        if (!readiness.reached().isDone()) {
            throw new GuestFailureException("the template of " + spec.binary().getFileName() + " ended before it reached "
                    + TemplateReadiness.describe(point) + ": " + ended.join() + lastOutput(readiness));
        }
    }

    private static String lastOutput(TemplateReadiness readiness) {
        List<String> tail = readiness.tail();
        return tail.isEmpty() ? "" : "; its last lines of output:\n  " + String.join("\n  ", tail);
    }

    /** As {@link #startClone(ArrowSpec, OutputSink, OutputSink, BootEvents, ExitCopySink)} with nowhere to send copy-out paths. */
    @Override
    public MicroVmSession startClone(ArrowSpec cloneSpec, OutputSink stdout, OutputSink stderr, BootEvents events) {
        return startClone(cloneSpec, stdout, stderr, events, ExitCopySink.NONE);
    }

    @Override
    public MicroVmSession startClone(ArrowSpec cloneSpec, OutputSink stdout, OutputSink stderr, BootEvents events,
            ExitCopySink exitCopies) {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the template of " + spec.binary().getFileName() + " is closed");
            }
        }
        ReleaseReaper reaper = ReleaseReaper.atCloseFromSystemProperty(); // before anything is made: refused whole
        StepTimes steps = StepTimes.measuredIf(LOG.isDebugEnabled());
        GuestRamAdmission.Reservation ram = KvmLauncher.admit(memoryBytes);
        steps.step("admitted");
        Optional<GuestNetworking> network = Optional.empty();
        KvmSession session = null;
        try {
            byte[] launch = launchMessage(cloneSpec);
            steps.step("launch message");
            network = GuestNetworking.open(cloneSpec.net());
            steps.step("network");
            List<VirtioDevice> devices = restoreDevices(network);
            steps.step("devices");
            VirtioConsole console = (VirtioConsole) devices.get(0);
            VirtioStdio stdio = VirtioStdio.of(console, stdout, stderr, cloneSpec.debugConsole(), KvmLauncher.nextName(),
                    exitCopies == ExitCopySink.NONE ? List.of() : cloneSpec.copyOutOnExit(), exitCopies,
                    cloneSpec.copyOutMaxBytes());
            session = new KvmSession(stdio, events, memoryBytes, null);
            steps.step("streams");
            KvmSession owner = session;
            network.ifPresent(n -> {
                owner.forwardedPorts(n.hostPorts());
                owner.whenNetworkUp(n::networkUp);
            });
            RunningVm vm = frozen.clone(new VmClone(session.serialOutput(), session::onStatusLine,
                    (slot, state) -> devices.get(slot.index())));
            steps.step("VM cloned");
            events.host(BootPhase.CLONED, System.nanoTime());
            KvmLauncher.admitUntilReleased(ram, vm);
            owner.releaseWith(this::recycle);
            owner.attach(vm);
            stdio.sendControl(launch);
            steps.step("launch message sent");
            owner.releaseOn(reaper); // from now on; a failure above released inline
            LOG.debug("{} of {} started: {}", vm, spec.binary().getFileName(), steps);
            return session;
        } catch (KvmException e) {
            release(session, network, ram);
            throw ApiExceptions.of(e);
        } catch (IOException e) {
            release(session, network, ram);
            throw new GuestFailureException("the clone of " + spec.binary().getFileName()
                    + " ended before it received its launch spec: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            release(session, network, ram);
            throw e;
        }
    }

    /** What the clone's init is told: the whole launch spec at the init point, the clock and entropy at the app point. */
    private byte[] launchMessage(ArrowSpec cloneSpec) {
        byte[] entropy = new byte[ENTROPY_BYTES];
        random.nextBytes(entropy);
        Instant now = Instant.now();
        if (point.isAppPoint()) {
            String commands = InitProtocol.clockCommand(now) + InitProtocol.entropyCommand(entropy);
            return commands.getBytes(StandardCharsets.US_ASCII);
        }
        List<GuestFile> ownFiles = cloneSpec.files().subList(spec.files().size(), cloneSpec.files().size());
        try {
            return GuestImage.cloneLaunch(cloneSpec, ownFiles, GuestNetworking.settingsFor(cloneSpec.net()), now, entropy,
                    executable);
        } catch (ImageException e) {
            throw ApiExceptions.of(e);
        }
    }

    /** The clone's virtio devices, in slot order, from the template's device states and the clone's host sides. */
    private List<VirtioDevice> restoreDevices(Optional<GuestNetworking> network) {
        List<VirtioDevice> devices = new ArrayList<>();
        for (VirtioDeviceState state : frozen.virtioDeviceStates()) {
            if (state instanceof VirtioConsole.State console) {
                devices.add(VirtioConsole.restore(console, VirtioConsole.DEFAULT_BUFFER_BYTES));
            } else if (state instanceof VirtioRng.State rng) {
                devices.add(VirtioRng.restore(rng, random)); // the template's source: no SecureRandom made per clone
            } else if (state instanceof VirtioBalloon.State balloon) {
                devices.add(VirtioBalloon.restore(balloon));
            } else if (state instanceof VirtioNet.State net) {
                devices.add(network.orElseThrow(() -> new IllegalStateException("the template has a network card but "
                        + "the clone's spec has no network")).restoredDevice(net, point.isAppPoint()));
            } else {
                throw new IllegalStateException("a template device Arrow cannot restore: " + state);
            }
        }
        if (devices.isEmpty() || !(devices.get(0) instanceof VirtioConsole)) {
            throw new IllegalStateException("the template's first device is not the console: " + devices);
        }
        return devices;
    }

    /**
     * A finished clone's VM goes back to the template, which resets it for a later clone (its private pages
     * dropped, its fds kept) when it can, and closes it otherwise.
     */
    private void recycle(RunningVm finished) {
        boolean kept = frozen.recycle(finished);
        LOG.trace("{}, a clone of {}: {}", finished, spec.binary().getFileName(), kept ? "kept for the next clone" : "closed");
    }

    private static void release(KvmSession session, Optional<GuestNetworking> network, GuestRamAdmission.Reservation ram) {
        if (session != null) {
            session.close();
        }
        network.ifPresent(GuestNetworking::close);
        ram.close();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        frozen.close();
        templateSession.close();
    }

    @Override
    public String toString() {
        return "KVM template of " + spec.binary().getFileName() + " at " + TemplateReadiness.describe(point);
    }
}
