package dev.arrow.kvm;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import dev.arrow.kvm.sys.Errno;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.sys.KvmIoctl;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.OwnedFd;
import dev.arrow.kvm.x86.CpuidEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An open {@code /dev/kvm}: the system-level KVM API (version, capabilities, supported CPUID)
 * and the factory of {@link Vm}s. Owns its fd; {@link #close()} also closes the VMs it created.
 * The VMM creates every VM from {@link #shared()}, this JVM's one {@code /dev/kvm}: a VM's fd
 * stays valid on its own, so one open device serves every VM. Its answers that cannot change
 * while the host runs (capabilities, supported CPUID, MSR list) are asked once per instance.
 */
public final class Kvm implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Kvm.class);

    /** The only stable KVM API version. */
    public static final int API_VERSION = 12;
    public static final Path DEVICE = Path.of("/dev/kvm");
    /** KVM_MAX_CPUID_ENTRIES of current kernels; we ask for this many at most. */
    private static final int MAX_CPUID_ENTRIES = 256;
    private static final int CPUID_ENTRY_SIZE = 40;

    /** Guards the opening of {@link #shared}. */
    private static final Object SHARED_LOCK = new Object();
    /** This JVM's {@code /dev/kvm} once opened; never closed. */
    private static volatile Kvm shared;

    private final OwnedFd fd;
    private final boolean isShared;
    private final int vcpuMmapSize;
    /** KVM_CHECK_EXTENSION's answers, asked once each. */
    private final Map<KvmCapability, Integer> extensions = new ConcurrentHashMap<>();
    /** KVM_GET_SUPPORTED_CPUID's answer, asked once. */
    private volatile List<CpuidEntry> supportedCpuid;
    /** KVM_GET_MSR_INDEX_LIST's answer, asked once. */
    private volatile List<Integer> msrIndexList;
    private final List<Vm> vms = new ArrayList<>();

    private Kvm(OwnedFd fd, boolean isShared) {
        this.fd = fd;
        this.isShared = isShared;
        int version = Ioctls.call(fd, KvmIoctl.KVM_GET_API_VERSION, 0L);
        if (version != API_VERSION) {
            throw new HostKvmUnusableException("/dev/kvm speaks KVM API version " + version + ", we need "
                    + API_VERSION + ": this kernel's KVM is not supported");
        }
        requireCapability(KvmCapability.USER_MEMORY);
        this.vcpuMmapSize = Ioctls.call(fd, KvmIoctl.KVM_GET_VCPU_MMAP_SIZE, 0L);
        if (vcpuMmapSize < 4096) {
            throw new HostKvmUnusableException("KVM_GET_VCPU_MMAP_SIZE returned " + vcpuMmapSize
                    + ", smaller than one page: this kernel's KVM is not supported");
        }
    }

    /**
     * This JVM's {@code /dev/kvm}, opened on the first call and never closed (its {@link #close()}
     * refuses): the VMM creates every VM from it, so the JVM holds one {@code /dev/kvm} fd however
     * many VMs run. A failed open is not remembered; the next call tries again.
     *
     * @throws HostKvmUnusableException when it does not exist or speaks another API version
     * @throws KvmAccessDeniedException when this process may not open it
     */
    public static Kvm shared() {
        Kvm kvm = shared;
        if (kvm == null) {
            synchronized (SHARED_LOCK) {
                kvm = shared;
                if (kvm == null) {
                    kvm = open(DEVICE, true);
                    shared = kvm;
                }
            }
        }
        return kvm;
    }

    /** Opens {@code /dev/kvm} for the caller, who closes it. */
    public static Kvm open() {
        return open(DEVICE);
    }

    /**
     * Opens a KVM device node.
     *
     * @throws HostKvmUnusableException when it does not exist or speaks another API version
     * @throws KvmAccessDeniedException when this process may not open it
     */
    public static Kvm open(Path device) {
        return open(device, false);
    }

    private static Kvm open(Path device, boolean isShared) {
        int raw = LibC.open(device.toString(), LibC.O_RDWR | LibC.O_CLOEXEC);
        if (raw == -1) {
            int errno = Native.getLastError();
            String what = "cannot open " + device + ": " + Errno.describe(errno);
            switch (errno) {
                case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO -> throw new HostKvmUnusableException(
                        what + ": this host has no KVM: load kvm_intel or kvm_amd, or run inside a VM "
                                + "with nested virtualization");
                case Errno.EACCES, Errno.EPERM -> throw new KvmAccessDeniedException(
                        what + ": add your user to group kvm or run as root");
                default -> throw new KvmApiException("open(" + device + ")", errno, KvmApiException.hintFor(errno));
            }
        }
        OwnedFd fd = new OwnedFd(raw, device.toString());
        try {
            Kvm kvm = new Kvm(fd, isShared);
            LOG.debug("opened {}: API {}, vcpu mmap size {}", device, API_VERSION, kvm.vcpuMmapSize);
            return kvm;
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    public int apiVersion() {
        return Ioctls.call(fd, KvmIoctl.KVM_GET_API_VERSION, 0L);
    }

    /** KVM_CHECK_EXTENSION (asked once per capability): 0 when absent, otherwise 1 or a capability-specific number. */
    public int checkExtension(KvmCapability capability) {
        Integer known = extensions.get(capability);
        if (known == null) {
            known = Ioctls.call(fd, KvmIoctl.KVM_CHECK_EXTENSION, capability.number());
            extensions.put(capability, known);
        }
        return known;
    }

    public boolean hasCapability(KvmCapability capability) {
        return checkExtension(capability) > 0;
    }

    /** @throws HostKvmUnusableException naming the capability when it is missing */
    public void requireCapability(KvmCapability capability) {
        if (!hasCapability(capability)) {
            throw new HostKvmUnusableException("this host's KVM lacks " + capability.kernelName() + " ("
                    + capability.description() + "), which the VMM needs");
        }
    }

    /** Size of each vCPU's kvm_run mapping. */
    public int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** The number of vCPUs KVM recommends (KVM_CAP_NR_VCPUS; 4 when not reported). */
    public int recommendedVcpus() {
        int n = checkExtension(KvmCapability.NR_VCPUS);
        return n > 0 ? n : 4;
    }

    /** The most vCPUs one VM may have (KVM_CAP_MAX_VCPUS, falling back to the recommended count). */
    public int maxVcpus() {
        int n = checkExtension(KvmCapability.MAX_VCPUS);
        return n > 0 ? n : recommendedVcpus();
    }

    /** The CPUID leaves KVM can present to a guest on this host (KVM_GET_SUPPORTED_CPUID, asked once). */
    public List<CpuidEntry> supportedCpuid() {
        List<CpuidEntry> entries = supportedCpuid;
        if (entries == null) {
            entries = readSupportedCpuid();
            supportedCpuid = entries;
        }
        return entries;
    }

    private List<CpuidEntry> readSupportedCpuid() {
        requireCapability(KvmCapability.EXT_CPUID);
        int capacity = 80;
        while (true) {
            Memory m = new Memory(8 + (long) capacity * CPUID_ENTRY_SIZE);
            m.clear();
            m.setInt(0, capacity);
            try {
                Ioctls.call(fd, KvmIoctl.KVM_GET_SUPPORTED_CPUID, m);
            } catch (KvmApiException e) {
                if (e.errno() == Errno.E2BIG && capacity < MAX_CPUID_ENTRIES) {
                    capacity = Math.min(capacity * 2, MAX_CPUID_ENTRIES);
                    continue;
                }
                throw e;
            }
            return decodeCpuid(m.getByteBuffer(0, m.size()).order(ByteOrder.LITTLE_ENDIAN), capacity);
        }
    }

    /**
     * The MSRs KVM can save and restore for a guest on this host (KVM_GET_MSR_INDEX_LIST: the
     * MSRs of this host's CPU KVM virtualizes, then those it emulates), in KVM's order.
     */
    public List<Integer> msrIndexList() {
        List<Integer> list = msrIndexList;
        if (list == null) {
            list = readMsrIndexList();
            msrIndexList = list;
        }
        return list;
    }

    /** Asks with room for none: KVM answers E2BIG with the count, then fills a list of that size. */
    private List<Integer> readMsrIndexList() {
        Memory m = new Memory(4);
        m.setInt(0, 0);
        try {
            Ioctls.call(fd, KvmIoctl.KVM_GET_MSR_INDEX_LIST, m);
            return List.of();
        } catch (KvmApiException e) {
            if (e.errno() != Errno.E2BIG) {
                throw e;
            }
        }
        int count = m.getInt(0);
        Memory list = new Memory(4 + 4L * count);
        list.setInt(0, count);
        Ioctls.call(fd, KvmIoctl.KVM_GET_MSR_INDEX_LIST, list);
        int n = list.getInt(0);
        if (n < 0 || n > count) {
            throw new KvmException("KVM_GET_MSR_INDEX_LIST reports " + n + " MSRs, room for " + count);
        }
        List<Integer> indices = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            indices.add(list.getInt(4 + 4L * i));
        }
        return List.copyOf(indices);
    }

    /** Decodes a struct kvm_cpuid2 (header + entries) of at most {@code capacity} entries. */
    static List<CpuidEntry> decodeCpuid(ByteBuffer b, int capacity) {
        int n = b.getInt(0);
        if (n < 0 || n > capacity) {
            throw new KvmException("kvm_cpuid2 reports " + n + " entries, room for " + capacity);
        }
        List<CpuidEntry> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int o = 8 + i * CPUID_ENTRY_SIZE;
            list.add(new CpuidEntry(b.getInt(o), b.getInt(o + 4), b.getInt(o + 8), b.getInt(o + 12),
                    b.getInt(o + 16), b.getInt(o + 20), b.getInt(o + 24)));
        }
        return List.copyOf(list);
    }

    /** Encodes {@code entries} as a struct kvm_cpuid2 at index 0 of {@code b}. */
    static void encodeCpuid(ByteBuffer b, List<CpuidEntry> entries) {
        b.putInt(0, entries.size());
        b.putInt(4, 0);
        for (int i = 0; i < entries.size(); i++) {
            CpuidEntry e = entries.get(i);
            int o = 8 + i * CPUID_ENTRY_SIZE;
            b.putInt(o, e.function());
            b.putInt(o + 4, e.index());
            b.putInt(o + 8, e.flags());
            b.putInt(o + 12, e.eax());
            b.putInt(o + 16, e.ebx());
            b.putInt(o + 20, e.ecx());
            b.putInt(o + 24, e.edx());
            b.putInt(o + 28, 0);
            b.putLong(o + 32, 0);
        }
    }

    static int cpuidStructSize(int entries) {
        return 8 + entries * CPUID_ENTRY_SIZE;
    }

    /** Creates a VM (KVM_CREATE_VM, default machine type). */
    public Vm createVm() {
        int raw = Ioctls.call(fd, KvmIoctl.KVM_CREATE_VM, 0L, errno -> switch (errno) {
            case Errno.EACCES, Errno.EPERM -> "permission denied on /dev/kvm: add your user to group kvm or run as root";
            case Errno.ENOMEM -> "the host is out of memory";
            case Errno.EINVAL -> "this KVM rejects the default machine type";
            default -> KvmApiException.hintFor(errno);
        });
        OwnedFd vmFd = new OwnedFd(raw, "KVM VM");
        Vm vm;
        try {
            vm = new Vm(this, vmFd);
        } catch (RuntimeException e) {
            vmFd.close();
            throw e;
        }
        synchronized (vms) {
            vms.add(vm);
        }
        return vm;
    }

    void forget(Vm vm) {
        synchronized (vms) {
            vms.remove(vm);
        }
    }

    public boolean isClosed() {
        return fd.isClosed();
    }

    /**
     * Closes every VM created here that is still open, then /dev/kvm. Idempotent.
     *
     * @throws IllegalStateException on {@link #shared()}, which is never closed
     */
    @Override
    public void close() {
        if (isShared) {
            throw new IllegalStateException("this JVM's shared /dev/kvm is never closed; close its VMs instead");
        }
        List<Vm> open;
        synchronized (vms) {
            open = new ArrayList<>(vms);
        }
        for (Vm vm : open) {
            vm.close();
        }
        fd.close();
    }
}
