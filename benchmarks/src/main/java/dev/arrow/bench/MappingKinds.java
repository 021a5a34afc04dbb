package dev.arrow.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * This process's {@code Private_Dirty} by kind of mapping ({@code /proc/self/smaps}): where the memory that
 * is neither guest RAM nor the guest kernel image goes. Linux names few anonymous mappings, so the kinds are
 * told apart by what the kernel does show:
 * <ul>
 *   <li>{@value #KERNEL_IMAGE}, {@value #TEMPLATE_RAM}: Arrow's memory files ({@link MappingGroup});</li>
 *   <li>{@value #KVM_RUN}: the vCPUs' {@code kvm_run} mappings ({@code anon_inode:kvm-vcpu:N});</li>
 *   <li>{@code stack: NAME}: the anonymous mapping that holds a thread's stack pointer (the {@code sp} of
 *       {@code /proc/self/task/TID/syscall}, readable while the thread waits), by thread name with its numbers as
 *       {@code N} ({@code stack: arrow-vmN-vcpuN}); a thread's stack mapping also holds glibc's thread
 *       descriptor and TLS at its top;</li>
 *   <li>{@value #MALLOC_ARENAS}: glibc's arenas of threads other than the first, which live in 64 MiB aligned,
 *       {@code MAP_NORESERVE} heaps (the usable part, then its {@code ---p} rest); {@value #MALLOC_MAIN}: the main
 *       arena ({@code [heap]}, grown with brk);</li>
 *   <li>{@value #GUEST_RAM}: other anonymous read-write {@code MAP_NORESERVE} mappings (the VMM maps guest RAM so;
 *       the JVM commits its heap, metaspace and code cache without it);</li>
 *   <li>{@value #JIT_CODE}: anonymous executable mappings (the code cache);</li>
 *   <li>{@value #OTHER_ANONYMOUS}: the other anonymous mappings (the Java heap, metaspace, the GC's tables,
 *       stacks of threads that were running, malloc's own mappings of large blocks, direct buffers among them);</li>
 *   <li>{@value #FILES}: mappings of files (the JVM's and glibc's libraries, CDS archive), {@value #OTHERS}: the
 *       rest ({@code [stack]} of the launcher's thread, {@code [vdso]}, other memory files).</li>
 * </ul>
 *
 * @param privateDirty Private_Dirty by kind (the kinds as counter names), in the order first seen; a difference
 *                     ({@link #minus}) may be negative
 */
public record MappingKinds(MemoryCounters privateDirty) {
    public static final String GUEST_RAM = "guest RAM";
    public static final String KERNEL_IMAGE = "kernel image";
    public static final String TEMPLATE_RAM = "template RAM";
    public static final String KVM_RUN = "kvm_run";
    public static final String STACK_PREFIX = "stack: ";
    public static final String MALLOC_ARENAS = "malloc arenas";
    public static final String MALLOC_MAIN = "malloc main arena";
    public static final String JIT_CODE = "JIT code";
    public static final String OTHER_ANONYMOUS = "other anonymous";
    public static final String FILES = "files";
    public static final String OTHERS = "others";
    /** The kinds that are the guest's: what the rest of Private_Dirty is measured against. */
    public static final List<String> GUEST_KINDS = List.of(GUEST_RAM, KERNEL_IMAGE, TEMPLATE_RAM);

    /** glibc's HEAP_MAX_SIZE on 64-bit: the size and alignment of a non-main arena's heap. */
    static final long ARENA_HEAP_BYTES = 64L << 20;

    /**
     * The stack pointers of this process's waiting threads, each with its thread's name, from the {@code syscall}
     * and {@code comm} files of the threads in {@code taskDir} ({@code /proc/self/task}).
     */
    static Map<Long, String> stackPointers(Path taskDir) throws IOException {
        Map<Long, String> stackPointers = new HashMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(taskDir)) {
            for (Path task : tasks) {
                try {
                    long sp = stackPointer(Files.readString(task.resolve("syscall"), StandardCharsets.US_ASCII));
                    if (sp != 0) {
                        stackPointers.put(sp, Files.readString(task.resolve("comm"), StandardCharsets.US_ASCII).strip());
                    }
                } catch (NoSuchFileException e) {
                    // the thread ended between the listing and the read
                } catch (IOException e) {
                    // no syscall file (a kernel without it, or not allowed): its stack counts as other anonymous
                }
            }
        }
        return stackPointers;
    }

    /**
     * The stack pointer in a {@code /proc/PID/task/TID/syscall} line ({@code NR ARG1..ARG6 SP PC} in a system
     * call, {@code -1 SP PC} blocked outside one); 0 for {@code running} (or anything else).
     */
    static long stackPointer(String syscall) {
        String[] f = syscall.strip().split("\\s+");
        if (f.length < 3 || !f[f.length - 2].startsWith("0x")) {
            return 0;
        }
        return Long.parseUnsignedLong(f[f.length - 2].substring(2), 16);
    }

    /**
     * The kinds of the mappings of {@code smaps}, with threads' stacks found by {@code stackPointers} (stack pointer
     * to thread name).
     */
    public static MappingKinds of(List<SmapsEntry> smaps, Map<Long, String> stackPointers) {
        Map<String, Long> kinds = new LinkedHashMap<>();
        for (int i = 0; i < smaps.size(); i++) {
            SmapsEntry m = smaps.get(i);
            kinds.merge(kind(m, i + 1 < smaps.size() ? smaps.get(i + 1) : null, stackPointers),
                    m.bytes(ProcessMemory.PRIVATE_DIRTY), Long::sum);
        }
        return new MappingKinds(new MemoryCounters(mergeCutNames(kinds)));
    }

    /**
     * The kernel cuts thread names to 15 characters, so one family's names come out at two lengths
     * ({@code arrow-vm7-vcpu0} and {@code arrow-vm12-vcpu}, {@code arrow-vmN-vcpuN} and {@code arrow-vmN-vcpu} with
     * their numbers as N): a stack kind whose name starts with another's, and is longer, is summed into it.
     */
    private static Map<String, Long> mergeCutNames(Map<String, Long> kinds) {
        Map<String, Long> merged = new LinkedHashMap<>();
        for (Map.Entry<String, Long> e : kinds.entrySet()) {
            String into = e.getKey();
            if (into.startsWith(STACK_PREFIX)) {
                for (String other : kinds.keySet()) {
                    if (other.startsWith(STACK_PREFIX) && other.length() < into.length() && into.startsWith(other)) {
                        into = other;
                    }
                }
            }
            merged.merge(into, e.getValue(), Long::sum);
        }
        return merged;
    }

    private static String kind(SmapsEntry m, SmapsEntry next, Map<Long, String> stackPointers) {
        String p = m.pathname();
        if (p.startsWith("/memfd:")) {
            if (MappingGroup.KERNEL_IMAGE.pathname().test(p)) {
                return KERNEL_IMAGE;
            }
            return MappingGroup.TEMPLATE_RAM.pathname().test(p) ? TEMPLATE_RAM : OTHERS;
        }
        if (p.startsWith("anon_inode:kvm-vcpu")) {
            return KVM_RUN;
        }
        if (p.equals("[heap]")) {
            return MALLOC_MAIN;
        }
        if (p.startsWith("/")) {
            return FILES;
        }
        if (!m.anonymous()) {
            return OTHERS;
        }
        for (Map.Entry<Long, String> t : stackPointers.entrySet()) {
            if (Long.compareUnsigned(t.getKey(), m.start()) >= 0 && Long.compareUnsigned(t.getKey(), m.end()) < 0) {
                return STACK_PREFIX + t.getValue().replaceAll("[0-9]+", "N");
            }
        }
        if (m.perms().contains("x")) {
            return JIT_CODE;
        }
        if (m.hasFlag("nr") && m.perms().startsWith("rw")) {
            return arenaHeap(m, next) ? MALLOC_ARENAS : GUEST_RAM;
        }
        return OTHER_ANONYMOUS;
    }

    /** A 64 MiB aligned heap of glibc's malloc: all usable, or its usable part followed by its {@code ---p} rest. */
    private static boolean arenaHeap(SmapsEntry m, SmapsEntry next) {
        if (m.start() % ARENA_HEAP_BYTES != 0) {
            return false;
        }
        if (m.end() - m.start() == ARENA_HEAP_BYTES) {
            return true;
        }
        return next != null && next.anonymous() && next.start() == m.end() && next.perms().startsWith("---")
                && next.end() == m.start() + ARENA_HEAP_BYTES;
    }

    /** The bytes of {@code kind}; 0 if this process has none. */
    public long bytes(String kind) {
        return privateDirty.get(kind).orElse(0);
    }

    /** The sum of every kind but the guest's ({@link #GUEST_KINDS}): the VMM's and the JVM's. */
    public long besidesTheGuest() {
        return privateDirty.bytes().entrySet().stream().filter(e -> !GUEST_KINDS.contains(e.getKey()))
                .mapToLong(Map.Entry::getValue).sum();
    }

    /** This minus {@code earlier} ({@link MemoryCounters#minus}). */
    public MappingKinds minus(MappingKinds earlier) {
        return new MappingKinds(privateDirty.minus(earlier.privateDirty));
    }

    /** Each kind divided by {@code count} ({@link MemoryCounters#dividedBy}): a share per thing counted. */
    public MappingKinds dividedBy(int count) {
        return new MappingKinds(privateDirty.dividedBy(count));
    }
}
