package dev.arrow.backend.kvm;

import dev.arrow.BootPhase;
import dev.arrow.HostMemoryException;
import dev.arrow.HostSupport;
import dev.arrow.TemplatePoint;
import dev.arrow.InvalidSpecException;
import dev.arrow.KvmPermissionException;
import dev.arrow.KvmUnavailableException;
import dev.arrow.NoHardwareVirtualizationException;
import dev.arrow.VmmException;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.config.SpecProblem;
import dev.arrow.image.AppBinaryCache;
import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.GuestImage;
import dev.arrow.image.ImageException;
import dev.arrow.image.InitramfsMemory;
import dev.arrow.image.LoaderPlan;
import dev.arrow.image.PreparedBinary;
import dev.arrow.image.mapped.ImageCache;
import dev.arrow.image.mapped.ReadOnlyImage;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.Stdio;
import dev.arrow.image.kernel.CheckedKernelCache;
import dev.arrow.image.kernel.GuestKernel;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.virtio.balloon.VirtioBalloon;
import dev.arrow.kvm.virtio.console.VirtioConsole;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.vmm.BootEvent;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.MicroVmTemplate;
import dev.arrow.spi.OutputSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The KVM backend: checks the host and the binary, assembles the guest image and boots it
 * through Arrow's own VMM (arrow-kvm). Registered through {@link java.util.ServiceLoader}.
 *
 * <p>Devices, in slot order: the virtio console (ports {@code arrow.stdin}, {@code arrow.stdout},
 * {@code arrow.stderr}, {@code arrow.control}, {@code arrow.files}: the app's stdio, init's control line and copies
 * of guest files, see {@link VirtioStdio}), the virtio entropy source, the free-page-reporting balloon
 * ({@link VirtioBalloon}: the guest's free memory goes back to the host; left out with
 * {@code -D}{@value #FREE_PAGE_REPORTING_PROPERTY}{@code =false}) and, unless the spec's network is {@code none}, the
 * virtio network card on the host backend {@link GuestNetworking} started (passt, or a tap device).
 * The serial console carries the kernel's log.
 */
public final class KvmLauncher implements ArrowLauncher {
    private static final Logger LOG = LoggerFactory.getLogger(KvmLauncher.class);
    private static final Path DEV_KVM = Path.of("/dev/kvm");
    private static final AtomicLong SESSIONS = new AtomicLong();
    /** System property: {@code false} leaves the free-page-reporting balloon out (it is attached by default). */
    static final String FREE_PAGE_REPORTING_PROPERTY = "arrow.freePageReporting";
    /**
     * System property: the smallest free block (order, {@code 4 KiB << order}) the guest reports, instead of
     * {@link VirtioBalloon#REPORTING_ORDER}; for measuring what the order costs and gives back (docs/idle.md).
     */
    static final String REPORTING_ORDER_PROPERTY = "arrow.freePageReportingOrder";
    /**
     * System property, for measurements only: kernel parameters (separated by spaces) appended to every guest's
     * command line after init's own, e.g. {@code nr_cpus=1}. Nothing checks what they do to the guest.
     */
    static final String DIAGNOSTIC_KERNEL_PARAMETERS_PROPERTY = "arrow.diagnostics.kernelParameters";

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
        return launch(spec, stdout, stderr, BootEvents.NONE);
    }

    /** As {@link #launch(ArrowSpec, OutputSink, OutputSink, BootEvents, ExitCopySink)} with nowhere to send copy-out paths. */
    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events) {
        return launch(spec, stdout, stderr, events, ExitCopySink.NONE);
    }

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events,
            ExitCopySink exitCopies) {
        // The user's own inputs first: a dynamic binary or too little memory is worth fixing on any host. Then the
        // host, then Arrow's default kernel: on a host that cannot boot Linux, that is what to say, not a missing kernel.
        CheckedInputs inputs = checkInputs(spec);
        LoaderPlan plan = loaderPlan(spec, inputs.binary());
        return boot(spec, inputs.kernel(), plan, initramfs(spec, plan), spec.net(), false, stdout, stderr, events, exitCopies,
                line -> { }).session();
    }

    @Override
    public MicroVmTemplate template(ArrowSpec spec, TemplatePoint point, OutputSink stdout, OutputSink stderr,
            BootEvents events) {
        return KvmTemplate.boot(spec, point, stdout, stderr, events);
    }

    /**
     * The spec's inputs as {@link #checkInputs} found them: the app binary checked and prepared (its image or its
     * bytes, for {@link #loaderPlan}), and the kernel the spec names, if any.
     */
    record CheckedInputs(PreparedBinary binary, Optional<GuestKernel> kernel) {
    }

    /** A guest that {@link #boot} started, and the session that watches it. */
    record Booted(KvmSession session, RunningVm vm, long memoryBytes) {
    }

    /**
     * Sizes the guest's RAM for {@code initramfs}, checks the host, finds the kernel (the spec's, {@code given},
     * or Arrow's default), admits the RAM, starts the network and boots; releases everything on failure.
     *
     * @param plan         what the application loader maps: its images are attached as virtio-pmem devices
     * @param net          the network the guest gets (a template's has no forwards)
     * @param templateable whether the guest's RAM is a memory file, so that it can be frozen
     * @param exitCopies   receives the spec's copy-out paths after the app ended ({@link ExitCopySink#NONE}: dropped)
     * @param statusTap    sees each status line before the session does
     */
    static Booted boot(ArrowSpec spec, Optional<GuestKernel> given, LoaderPlan plan, Initramfs initramfs, Net net,
            boolean templateable, OutputSink stdout, OutputSink stderr, BootEvents events, ExitCopySink exitCopies,
            Consumer<String> statusTap) {
        InitramfsMemory needs = InitramfsMemory.of(initramfs);
        long memoryBytes = guestMemory(spec, needs);
        checkImageOverhead(spec, plan, memoryBytes);
        ReleaseReaper reaper = templateable ? null : ReleaseReaper.atCloseFromSystemProperty();
        checkHost(HostKvm.detect());
        GuestKernel kernel = given.orElseGet(KvmLauncher::defaultKernel);
        GuestImage image = GuestImage.of(spec, kernel.path(), initramfs);
        events.host(BootPhase.IMAGE_ASSEMBLED, System.nanoTime());
        GuestRamAdmission.Reservation ram = admit(memoryBytes);
        Optional<GuestNetworking> network = Optional.empty();
        try {
            awaitReleaseOfFixedPorts(net);
            network = GuestNetworking.open(net);
            Booted booted = start(spec, image, plan, needs, memoryBytes, templateable, ram, network, stdout, stderr,
                    events, exitCopies, statusTap);
            // a start that failed above released inline (rare, and its caller expects nothing left); closes from now
            // on leave the release to the reaper; a template's guest is released by its template, inline
            booted.session().releaseOn(reaper);
            return booted;
        } catch (RuntimeException | Error e) {
            // Until the VMM owns the network device, the backend (a passt process, a tap fd) is ours to stop.
            network.ifPresent(GuestNetworking::close);
            ram.close();
            throw e;
        }
    }

    @Override
    public HostSupport hostSupport() {
        return KvmHostProbe.probe();
    }

    /**
     * Admits {@code memoryBytes} of guest RAM ({@link GuestRamAdmission#JVM}). Closed arrows count until the reaper
     * has released them: when the RAM does not fit while some are pending, waits for them (at most
     * {@link ReleaseReaper#SHUTDOWN_WAIT}) and asks once more, so that a loop of start and close is not refused for
     * memory its closed arrows are about to give back.
     */
    static GuestRamAdmission.Reservation admit(long memoryBytes) {
        try {
            return GuestRamAdmission.JVM.admit(memoryBytes, HostMemory.read(), GuestRamAdmission.overcommitFromSystemProperty());
        } catch (HostMemoryException e) {
            if (ReleaseReaper.shared().unfinished() == 0) {
                throw e;
            }
            try {
                ReleaseReaper.shared().awaitReleased(ReleaseReaper.SHUTDOWN_WAIT);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                throw e;
            }
            return GuestRamAdmission.JVM.admit(memoryBytes, HostMemory.read(), GuestRamAdmission.overcommitFromSystemProperty());
        }
    }

    /**
     * A network that forwards fixed host ports first waits (at most {@link ReleaseReaper#SHUTDOWN_WAIT}) for the
     * arrows closed before to be released: one of them may hold such a port until then (its passt ends with its
     * release), and whoever closes an arrow and starts the next on the same port expects the port to be free.
     */
    private static void awaitReleaseOfFixedPorts(Net net) {
        if (net instanceof Net.User user && user.forwards().stream().anyMatch(f -> f.hostPort() != PortForward.ANY_FREE_PORT)) {
            try {
                ReleaseReaper.shared().awaitReleased(ReleaseReaper.SHUTDOWN_WAIT);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the port, if still held, is reported taken
            }
        }
    }

    /** Waits for the JVM's {@link ReleaseReaper}: every arrow closed so far released. */
    @Override
    public boolean awaitReleased(Duration timeout) throws InterruptedException {
        return ReleaseReaper.shared().awaitReleased(timeout);
    }

    /**
     * The initramfs {@code spec} boots with {@code plan}: a layout only, the host files are read while it is written into
     * the guest.
     */
    static Initramfs initramfs(ArrowSpec spec, LoaderPlan plan) {
        try {
            return GuestImage.initramfs(spec, Stdio.VIRTIO, GuestNetworking.settingsFor(spec.net()), plan);
        } catch (ImageException e) {
            throw ApiExceptions.of(e);
        }
    }

    /**
     * What the application loader maps for {@code spec} (docs/loader.md): its binary and large read-only files, as images
     * of the host's image cache, built now the first time their content is seen; the binary as this JVM's
     * {@link AppBinaryCache} prepared it for {@link #checkInputs} ({@code binary}: its image, or its bytes for the
     * initramfs).
     */
    static LoaderPlan loaderPlan(ArrowSpec spec, PreparedBinary binary) {
        try {
            long started = System.nanoTime();
            LoaderPlan plan = LoaderPlan.of(spec, binary, ImageCache.shared(), LoaderPlan.minMappedBytes());
            if (!plan.images().isEmpty()) {
                LOG.debug("{}: {} image(s) mapped ({} bytes of files) in {} ms", spec.binary().getFileName(),
                        plan.images().size(), plan.mappedBytes(), (System.nanoTime() - started) / 1_000_000);
            }
            return plan;
        } catch (ImageException e) {
            throw ApiExceptions.of(e);
        }
    }

    /**
     * The guest's RAM: the spec's size when the image fits in it (see {@link InitramfsMemory}); without an
     * explicit size, as much more than the default as the image needs.
     *
     * @throws InvalidSpecException naming the size to ask for, when an explicit size is too small
     */
    static long guestMemory(ArrowSpec spec, InitramfsMemory needs) {
        if (needs.fits(spec.memoryBytes())) {
            return spec.memoryBytes();
        }
        long raised = needs.suggestedRamBytes(spec.memoryBytes());
        if (!spec.memoryGiven() && raised <= ArrowSpec.MAX_MEMORY_BYTES) {
            LOG.info("{}: guest RAM raised from the default {} MiB to {} MiB for the binary and files given ({} MiB "
                    + "unpacked); ask for memory(...) to choose", spec.binary().getFileName(), spec.memoryBytes() >> 20,
                    raised >> 20, needs.unpackedBytes() >> 20);
            return raised;
        }
        String problem = needs.shortfall(spec.memoryBytes());
        if (needs.suggestedRamBytes(0) > ArrowSpec.MAX_MEMORY_BYTES) {
            problem += "; that is more than the largest guest (" + (ArrowSpec.MAX_MEMORY_BYTES >> 30)
                    + " GiB): give fewer or smaller files";
        }
        throw new InvalidSpecException(List.of(new SpecProblem("$.memory", problem)));
    }

    /**
     * The guest kernel keeps page structures for the mapped images in its RAM (about 1.6% of their size): refused when
     * they would take more than a quarter of it, naming the memory to ask for.
     */
    static void checkImageOverhead(ArrowSpec spec, LoaderPlan plan, long memoryBytes) {
        long overhead = plan.guestPageStructBytes();
        if (overhead > memoryBytes / 4) {
            long askMiB = ((overhead * 4) >> 20) + 1;
            throw new InvalidSpecException(List.of(new SpecProblem("$.memory", "guest RAM too small for the mapped files:"
                    + " the guest kernel needs " + (overhead >> 20) + " MiB of its " + (memoryBytes >> 20) + " MiB for the page"
                    + " structures of " + (plan.imageBytes() >> 20) + " MiB of images;"
                    + " ask for memory(" + askMiB + ", MiB) or more")));
        }
    }

    private static Booted start(ArrowSpec spec, GuestImage image, LoaderPlan plan, InitramfsMemory needs, long memoryBytes,
            boolean templateable, GuestRamAdmission.Reservation ram, Optional<GuestNetworking> network,
            OutputSink stdout, OutputSink stderr, BootEvents events, ExitCopySink exitCopies, Consumer<String> statusTap) {
        LOG.debug("booting {} with {} MiB, {} vCPU(s), initramfs {} bytes, kernel {}, network {}{}", spec.binary(),
                memoryBytes >> 20, spec.cpus(), image.initramfsSize(), image.kernel(), spec.net().mode(),
                templateable ? ", as a template" : "");
        VirtioConsole console = VirtioStdio.console();
        List<String> declared = exitCopies == ExitCopySink.NONE ? List.of() : spec.copyOutOnExit();
        KvmSession session = new KvmSession(VirtioStdio.of(console, stdout, stderr, spec.debugConsole(), nextName(), declared,
                exitCopies, spec.copyOutMaxBytes()), events, memoryBytes, needs);
        VmConfig.Builder config = VmConfig.builder()
                .kernel(image.kernel())
                .initrd(image.initramfsSize(), image.initramfs()::writeTo) // streamed into guest memory
                .commandLine(KernelCommandLine.of(withDiagnosticParameters(image.kernelParameters().entries())))
                .memoryBytes(memoryBytes)
                .vcpuCount(spec.cpus())
                .serialOutput(session.serialOutput())
                .statusListener(line -> {
                    statusTap.accept(line);
                    session.onStatusLine(line);
                })
                .debug(spec.debugConsole())
                .bootListener((event, nanoTime) -> events.host(phaseOf(event), nanoTime))
                .virtioDevice(console)
                .virtioDevice(new VirtioRng())
                .templateable(templateable);
        if (freePageReportingFromSystemProperty()) {
            config.virtioDevice(new VirtioBalloon(reportingOrderFromSystemProperty()));
        }
        for (ReadOnlyImage mapped : plan.images()) {
            config.pmemImage(mapped.path(), mapped.length());
        }
        network.ifPresent(n -> {
            config.virtioDevice(n.device());
            session.forwardedPorts(n.hostPorts());
            session.whenNetworkUp(n::networkUp);
        });
        RunningVm vm;
        try {
            vm = VmBuilder.start(config.build());
        } catch (KvmException e) {
            throw ApiExceptions.of(e);
        }
        admitUntilReleased(ram, vm);
        session.attach(vm);
        return new Booted(session, vm, memoryBytes);
    }

    /**
     * Whether guests get the free-page-reporting balloon: unless {@value #FREE_PAGE_REPORTING_PROPERTY} is
     * {@code false}. Without it a guest's RAM stays resident on the host once touched, freed by the guest or not.
     *
     * @throws VmmException if the property is neither {@code true} nor {@code false}
     */
    static boolean freePageReportingFromSystemProperty() {
        return BooleanProperty.read(FREE_PAGE_REPORTING_PROPERTY, "to leave free page reporting out", "");
    }

    /**
     * The free page reporting order: {@value #REPORTING_ORDER_PROPERTY} if set, else {@link VirtioBalloon#REPORTING_ORDER}.
     *
     * @throws VmmException if the property is not a whole number from 0 to {@value VirtioBalloon#MAX_REPORTING_ORDER}
     */
    static int reportingOrderFromSystemProperty() {
        String value = System.getProperty(REPORTING_ORDER_PROPERTY);
        if (value == null || value.isBlank()) {
            return VirtioBalloon.REPORTING_ORDER;
        }
        try {
            int order = Integer.parseInt(value.strip());
            if (order >= 0 && order <= VirtioBalloon.MAX_REPORTING_ORDER) {
                return order;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        throw new VmmException("system property " + REPORTING_ORDER_PROPERTY + "=" + value + " is not an order from 0 to "
                + VirtioBalloon.MAX_REPORTING_ORDER + ": give e.g. -D" + REPORTING_ORDER_PROPERTY + "="
                + VirtioBalloon.REPORTING_ORDER + " (blocks of " + (4 << VirtioBalloon.REPORTING_ORDER) + " KiB), or leave it unset");
    }

    /** {@code parameters} followed by those of {@value #DIAGNOSTIC_KERNEL_PARAMETERS_PROPERTY}, if set. */
    static List<String> withDiagnosticParameters(List<String> parameters) {
        String extra = System.getProperty(DIAGNOSTIC_KERNEL_PARAMETERS_PROPERTY, "").strip();
        if (extra.isEmpty()) {
            return parameters;
        }
        List<String> all = new ArrayList<>(parameters);
        all.addAll(List.of(extra.split("\\s+")));
        return all;
    }

    /** The admitted RAM counts until the VM has released its memory; until then, what the guest touched is paid. */
    static void admitUntilReleased(GuestRamAdmission.Reservation ram, RunningVm vm) {
        ram.residentFrom(vm::residentGuestBytes);
        vm.onReleased().whenComplete((released, failure) -> ram.close());
    }

    /** A name for a new session's threads. */
    static String nextName() {
        return "arrow-kvm" + SESSIONS.incrementAndGet();
    }

    /**
     * Checks the app binary (once per version of the file: {@link AppBinaryCache}, which also prepares it for the
     * loader), the files' guest paths and the kernel the spec names, if any (once per version of the file:
     * {@link CheckedKernelCache}; Arrow's default kernel is looked up later,
     * by {@link #defaultKernel}, after the host check); the errors name the problem and the fix.
     */
    static CheckedInputs checkInputs(ArrowSpec spec) {
        List<SpecProblem> problems = new ArrayList<>();
        for (int i = 0; i < spec.files().size(); i++) {
            String path = "$.files[" + i + "].guest";
            ArrowInitramfs.userFileProblem(spec.files().get(i).guestPath())
                    .ifPresent(problem -> problems.add(new SpecProblem(path, problem)));
        }
        if (!problems.isEmpty()) {
            throw new InvalidSpecException(problems);
        }
        try {
            PreparedBinary binary = AppBinaryCache.shared().prepare(spec.binary(), LoaderPlan.minMappedBytes());
            Optional<GuestKernel> kernel = spec.kernel().map(CheckedKernelCache.shared()::userSupplied);
            return new CheckedInputs(binary, kernel);
        } catch (ImageException e) {
            throw ApiExceptions.of(e);
        }
    }

    /**
     * Arrow's default kernel ({@link KernelLocator}: {@code -Darrow.kernel}, {@code ARROW_KERNEL}, the
     * {@code dev.arrow:arrow-kernel} jar, the build cache), its format checked: looked up and checked once per version
     * of its file ({@link CheckedKernelCache}).
     */
    static GuestKernel defaultKernel() {
        try {
            return CheckedKernelCache.shared().defaultKernel(KernelLocator.fromEnvironment());
        } catch (ImageException e) {
            throw ApiExceptions.of(e);
        }
    }

    /** The timeline phase of a VMM milestone. */
    static BootPhase phaseOf(BootEvent event) {
        return switch (event) {
            case VM_CREATED -> BootPhase.VM_CREATED;
            case KERNEL_LOADED -> BootPhase.KERNEL_LOADED;
            case FIRST_RUN -> BootPhase.FIRST_KVM_RUN;
        };
    }

    /** Fails with the error a user can act on when this host cannot boot a Linux guest. */
    static void checkHost(HostKvm host) {
        switch (host) {
            case NONE -> throw KvmUnavailableException.missing(DEV_KVM);
            case NO_PERMISSION -> throw KvmPermissionException.denied(DEV_KVM, System.getProperty("user.name"));
            case PVM -> throw NoHardwareVirtualizationException.pvm();
            default -> { }
        }
    }
}
