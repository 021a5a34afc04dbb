/*
 * exitloop: the C peer of Arrow's vCPU loop. Boots the same tiny 64-bit guest as the Java
 * benchmark (dev.arrow.bench.ExitLoopGuest: N writes to I/O port 0x80, then 0xFE to port 0x64,
 * the i8042 reset that ends an Arrow guest) through raw KVM ioctls, with the same boot state as
 * Arrow's VMM (long mode, identity map of 4 GiB in 2 MiB pages, the same GDT; KVM's supported
 * CPUID, Arrow's boot MSRs and FPU state, since a vCPU's features change what each world switch
 * saves), and times each whole run: open /dev/kvm, VM, 64 MiB of RAM, irqchip (no PIT, as in
 * Arrow's VMs), vCPU, the KVM_RUN loop, teardown. It does less set-up than Arrow's VmBuilder (no
 * CPUID filtering, LAPIC pins, MP table, zero page, devices or threads): compare the per-exit
 * slope, not the fixed cost.
 *
 *   exitloop GUEST.bin WARMUP ITERATIONS
 *
 * GUEST.bin is the flat code, loaded and entered at 1 MiB. Prints one JSON object per iteration:
 *   {"iteration":I,"warmup":true|false,"exits":E,"nanos":T}
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define RAM_SIZE (64UL << 20)
#define LOAD_ADDRESS 0x100000UL
#define GDT_ADDRESS 0x500UL
#define IDT_ADDRESS 0x540UL
#define PML4_ADDRESS 0x9000UL
#define PDPT_ADDRESS 0xa000UL
#define PD_ADDRESS 0xb000UL
#define BOOT_STACK 0x8ff0UL
#define ZERO_PAGE 0x7000UL
#define TSS_ADDRESS 0xfffbd000UL
#define IDENTITY_MAP_ADDRESS 0xfffbc000UL
#define RESET_PORT 0x64
#define RESET_VALUE 0xfe

static void die(const char *what) {
    fprintf(stderr, "exitloop: %s failed: %s\n", what, strerror(errno));
    exit(1);
}

static int xioctl(int fd, unsigned long request, void *arg, const char *what) {
    int r;
    do {
        r = ioctl(fd, request, arg);
    } while (r < 0 && errno == EINTR);
    if (r < 0) die(what);
    return r;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void segment(struct kvm_segment *s, uint16_t selector, uint8_t type, uint8_t s_bit, uint8_t l,
                    uint8_t db, uint8_t g, uint32_t limit) {
    memset(s, 0, sizeof *s);
    s->base = 0;
    s->limit = limit;
    s->selector = selector;
    s->type = type;
    s->present = 1;
    s->dpl = 0;
    s->db = db;
    s->s = s_bit;
    s->l = l;
    s->g = g;
}

/* KVM's supported CPUID, Arrow's boot MSRs (Msrs.boot()) and FPU defaults (BootCpu.fpu()). */
static void set_cpuid_msrs_fpu(int kvm, int vcpu) {
    static struct {
        struct kvm_cpuid2 head;
        struct kvm_cpuid_entry2 entries[256];
    } cpuid;
    memset(&cpuid, 0, sizeof cpuid);
    cpuid.head.nent = 256;
    xioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid, "KVM_GET_SUPPORTED_CPUID");
    xioctl(vcpu, KVM_SET_CPUID2, &cpuid, "KVM_SET_CPUID2");
    static const uint32_t index[] = {0x174, 0x175, 0x176, 0xc0000081, 0xc0000083, 0xc0000102, 0xc0000084,
                                     0xc0000082, 0x10, 0x1a0, 0x2ff};
    static const uint64_t value[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, (1 << 11) | 6};
    struct {
        struct kvm_msrs head;
        struct kvm_msr_entry entries[11];
    } msrs;
    memset(&msrs, 0, sizeof msrs);
    msrs.head.nmsrs = 11;
    for (int i = 0; i < 11; i++) {
        msrs.entries[i].index = index[i];
        msrs.entries[i].data = value[i];
    }
    if (xioctl(vcpu, KVM_SET_MSRS, &msrs, "KVM_SET_MSRS") != 11) {
        fprintf(stderr, "exitloop: KVM refused some boot MSRs\n");
        exit(1);
    }
    struct kvm_fpu fpu;
    memset(&fpu, 0, sizeof fpu);
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    xioctl(vcpu, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}

/* One run of the guest; returns the number of KVM_RUN exits. */
static uint64_t run_once(const uint8_t *code, size_t code_len) {
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("open /dev/kvm");
    int vm = xioctl(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    xioctl(vm, KVM_SET_TSS_ADDR, (void *)TSS_ADDRESS, "KVM_SET_TSS_ADDR");
    uint64_t identity = IDENTITY_MAP_ADDRESS;
    xioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity, "KVM_SET_IDENTITY_MAP_ADDR");

    uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) die("mmap of guest RAM");
    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = 0, .memory_size = RAM_SIZE, .userspace_addr = (uint64_t)ram,
    };
    xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
    xioctl(vm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");

    /* identity map of 4 GiB in 2 MiB pages, as Arrow's PageTables */
    uint64_t *pml4 = (uint64_t *)(ram + PML4_ADDRESS);
    uint64_t *pdpt = (uint64_t *)(ram + PDPT_ADDRESS);
    pml4[0] = PDPT_ADDRESS | 3;
    for (int pd = 0; pd < 4; pd++) {
        uint64_t *dir = (uint64_t *)(ram + PD_ADDRESS + 4096UL * pd);
        pdpt[pd] = (PD_ADDRESS + 4096UL * pd) | 3;
        for (int i = 0; i < 512; i++) dir[i] = ((uint64_t)(pd * 512 + i) << 21) | 0x83;
    }
    /* GDT as Arrow's Gdt: null, null, code 0x10, data 0x18, TSS 0x20 (16 bytes) */
    uint64_t *gdt = (uint64_t *)(ram + GDT_ADDRESS);
    gdt[2] = 0x00af9b000000ffffULL;
    gdt[3] = 0x00cf93000000ffffULL;
    gdt[4] = 0x00008b0000000067ULL;
    gdt[5] = 0;
    memcpy(ram + LOAD_ADDRESS, code, code_len);

    int vcpu = xioctl(vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
    set_cpuid_msrs_fpu(kvm, vcpu);
    int mmap_size = xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap of kvm_run");

    struct kvm_sregs sregs;
    xioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
    segment(&sregs.cs, 0x10, 11, 1, 1, 0, 1, 0xffffffff);
    segment(&sregs.ds, 0x18, 3, 1, 0, 1, 1, 0xffffffff);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    segment(&sregs.tr, 0x20, 11, 0, 0, 0, 0, 0x67);
    sregs.gdt.base = GDT_ADDRESS;
    sregs.gdt.limit = 6 * 8 - 1;
    sregs.idt.base = IDT_ADDRESS;
    sregs.idt.limit = 7;
    sregs.cr0 = 0x80000011ULL; /* PG | ET | PE */
    sregs.cr3 = PML4_ADDRESS;
    sregs.cr4 = 0x20;          /* PAE */
    sregs.efer = 0x500;        /* LMA | LME */
    xioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = LOAD_ADDRESS;
    regs.rsp = BOOT_STACK;
    regs.rbp = BOOT_STACK;
    regs.rsi = ZERO_PAGE;
    regs.rflags = 2;
    xioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");

    uint64_t exits = 0;
    for (;;) {
        xioctl(vcpu, KVM_RUN, 0, "KVM_RUN");
        exits++;
        if (run->exit_reason != KVM_EXIT_IO) {
            fprintf(stderr, "exitloop: unexpected exit reason %u after %llu exits\n", run->exit_reason,
                    (unsigned long long)exits);
            exit(1);
        }
        if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == RESET_PORT &&
            ((uint8_t *)run)[run->io.data_offset] == RESET_VALUE) {
            break;
        }
    }
    munmap(run, (size_t)mmap_size);
    close(vcpu);
    close(vm);
    close(kvm);
    munmap(ram, RAM_SIZE);
    return exits;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: exitloop GUEST.bin WARMUP ITERATIONS\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) die(argv[1]);
    static uint8_t code[65536];
    size_t len = fread(code, 1, sizeof code, f);
    fclose(f);
    if (len == 0 || len == sizeof code) {
        fprintf(stderr, "exitloop: %s must hold 1..65535 bytes of code\n", argv[1]);
        return 2;
    }
    int warmup = atoi(argv[2]), iterations = atoi(argv[3]);
    for (int i = 0; i < warmup + iterations; i++) {
        uint64_t t0 = now_ns();
        uint64_t exits = run_once(code, len);
        uint64_t t = now_ns() - t0;
        printf("{\"iteration\":%d,\"warmup\":%s,\"exits\":%llu,\"nanos\":%llu}\n", i, i < warmup ? "true" : "false",
               (unsigned long long)exits, (unsigned long long)t);
        fflush(stdout);
    }
    return 0;
}
