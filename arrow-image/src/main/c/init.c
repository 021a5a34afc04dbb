/*
 * arrow-init: PID 1 of an Arrow guest.
 *
 * Mounts the pseudo file systems, puts stdio on /dev/console, reads the run spec from
 * /arrow/spec (format below), starts the app as a child, forwards termination signals to it,
 * reaps every zombie, reports how the app ended on the status port, stops whatever is left and
 * ends the VM with reboot(RB_AUTOBOOT). It never returns from main: PID 1 exiting panics the
 * kernel.
 *
 * Status channel: I/O ports 0xF4..0xF7, ASCII lines (at most 1024 bytes). Each line goes out in
 * groups of 4 bytes, one outl to 0xF4 per group (the bytes in memory order: outl's little-endian
 * value), and its last 0..3 bytes one outb each: about a quarter of the VM exits of one outb per
 * byte. The kernel parameter arrow_status=outb (the kernel hands it to init as an environment
 * entry) makes init write every byte with an outb instead, for a VMM whose device at 0xF4 takes
 * single bytes only (QEMU's isa-debugcon under TCG). The lines:
 *   arrow-status exited <code> | signaled <signo> | not-found <msg> | not-executable <msg> |
 *                exec-format <msg> | start-failed <msg> | image-incomplete <msg>
 *   arrow-mark <name> <CLOCK_BOOTTIME ns>   (init-start, image-checked, images-mounted, net-up, template-point,
 *                                            app-exec, app-ready, app-exit, halt)
 * When ioperm() on the ports fails, the same lines go to the console instead. The app's process
 * drops init's access to all four ports before execve.
 *
 * Spec file (written by dev.arrow.image.init.SpecFile, parsed here):
 *   "arrow-spec 1\n" followed by records key NUL value NUL, closed by the record "end" NUL NUL
 *   with nothing after it. Keys:
 *     exec      guest path of the program (absolute), exactly once
 *     arg       one argv element, in order; at least one (argv[0])
 *     env       one "NAME=value" environment entry, in order (NAME non-empty)
 *     cwd       working directory (absolute), at most once, default "/"
 *     uid, gid  decimal ids 0..4294967294, at most once each; default 0 (root)
 *     rlimit    "<name> <soft> <hard>", soft/hard decimal or "unlimited", soft <= hard,
 *               name one of: as core cpu data fsize locks memlock msgqueue nice nofile nproc
 *               rss rtprio rttime sigpending stack; at most once per name
 *     hostname  1..64 bytes, at most once
 *     grace-ms  0..60000, time the leftovers get between SIGTERM and SIGKILL (default 500)
 *     net-ipv4     "a.b.c.d/prefix" (prefix 1..30): address of eth0, at most once
 *     net-gateway  "a.b.c.d": default route via this host of eth0's subnet, at most once
 *     net-dns      "a.b.c.d": one nameserver for /etc/resolv.conf each, at most 3
 *     net-tcp-rmem-max  decimal 4096..67108864, at most once: the most bytes a TCP socket may buffer
 *                  for receiving (net.ipv4.tcp_rmem's third value; its second becomes at most this), so
 *                  the window the guest advertises stays within what the network behind it can queue
 *     stdio     "serial" (default) or "virtio", at most once: where the app's stdio goes
 *     template  "init", at most once: this is a template's spec (see "Templates" below); it may
 *               hold only "template" and "stdio virtio", no other key
 *     ready-port   1..65535, at most once: write the mark app-ready once a TCP socket listens on
 *                  this local port (after the app's execve; /proc/net/tcp and tcp6 every 5 ms)
 *     clock-realtime-ns  decimal 0..2^63-1, at most once: CLOCK_REALTIME is set to it just before
 *                        the app starts
 *     entropy   32..512 lowercase hex digits (even count), at most once: mixed into the kernel's
 *               pool with RNDADDENTROPY (bits credited) and then RNDRESEEDCRNG, before the app starts
 *     file      "<octal mode 0..7777> <length> <path>", and after the value's NUL exactly <length>
 *               raw bytes and a NUL: a file written (parents 0755, exactly that mode) before the
 *               network's files and the app; path absolute, normalised (no "", "." or ".."
 *               components), not /init, not inside /arrow, /proc, /sys or /dev; once per path
 *     image     32 lowercase hex digits: the UUID of an EROFS image on a virtio-pmem device (the
 *               application loader, docs/loader.md); the k-th "image" record (k from 0, at most
 *               IMAGES_MAX) is mounted read-only with DAX at /arrow/images/<k> before anything else
 *     mapped    "<k> <name> <size> <path>": the file <name> (a plain name) of image k, of exactly <size>
 *               bytes and read through DAX, bind-mounted read-only at <path> (the rules of "file";
 *               once per path, not also a "file")
 *     copy-out  an absolute path shorter than PATH_MAX, once per path: sent to the host on arrow.files
 *               after the app ended (see "Copy-out" below); needs copy-out-max
 *     copy-out-max  decimal 0..2^63-1: the file content bytes all copy-out paths may send together
 *   Addresses are strict dotted quads; net-gateway and net-dns need net-ipv4. Other keys starting
 *   with "net-" are reserved for network settings and rejected. A spec is at most 16 MiB
 *   (SPEC_MAX_BYTES), its files' bytes included.
 *   Unknown keys, duplicates, missing NULs, bytes after "end" and a missing "end" are errors:
 *   the spec is rejected with "arrow-status start-failed malformed spec ...".
 *
 * Network: init always brings up lo. With net-ipv4 it sets eth0's address and netmask, brings it
 * up (announcing itself with a gratuitous ARP, arp_notify) and adds the default route (ioctls; no
 * DHCP), then creates /etc/resolv.conf (with net-dns) and /etc/hosts unless the image already has
 * them.
 *
 * Stdio: with "stdio serial" the app inherits init's /dev/console (ttyS0, raw mode). With
 * "stdio virtio" init finds the virtio console ports by name under /sys/class/virtio-ports
 * (arrow.stdin, arrow.stdout, arrow.stderr, arrow.control; bounded wait), opens arrow.control
 * itself, and the app's process opens the other three as fds 0, 1 and 2 before execve and waits
 * until the host ends of stdout and stderr are connected. While the app runs, init reads command
 * lines (at most 1023 bytes) from arrow.control: "signal <n>" sends signal n to the app (the
 * host's graceful stop); "clock-realtime-ns <ns>" and "entropy <hex>" do what the spec keys of
 * those names do (for clones of a template frozen while its app runs); "copy-out <id> <max> <path>"
 * sends a guest file or tree to the host on the port arrow.files (frames: see "Copy-out" below).
 * Malformed lines, and failures of the other commands, are ignored. See docs/virtio.md.
 *
 * Templates (docs/templates.md): with "template init" in /arrow/spec, init mounts, sets up the
 * console and the virtio ports, writes the mark template-point (the VMM freezes the guest there)
 * and waits on arrow.control for the launch message: the ASCII line "spec <length>\n" (length
 * 0..16 MiB) followed by exactly <length> bytes of a spec file in the format above, which must
 * have "stdio virtio" and no "template". A bad header, a closed port or a malformed spec end the
 * start with "arrow-status start-failed malformed spec ..." (or "reading the launch spec ...").
 * From there on init goes on as a cold boot after reading /arrow/spec: hostname, files,
 * network, clock, entropy, the app.
 *
 * Images: init finds each image's device by the UUID in its EROFS superblock (the pmem block
 * devices appear asynchronously: bounded wait), mounts it, and checks every "mapped" file before the
 * app can see it: present, a regular file of the size the host put in, and DAX (its pages are the
 * host's, not copies in guest RAM). A missing image, a wrong size or a file without DAX ends the start
 * with "arrow-status start-failed image ...". Then the mark images-mounted. A template's spec may hold
 * its images; a launch spec may not (a clone sees the template's).
 *
 * Image check: before anything else (before its own mounts could hide a file), init checks every
 * entry of the initramfs against /arrow/manifest, the archive's last entry (manifest.h). An
 * initramfs the kernel did not unpack whole (its root file system full, a truncated archive) ends
 * the VM with "arrow-status image-incomplete <what differs>; <guest memory figures>" and the app
 * never runs.
 *
 * Host-side check modes (used by tests; not PID 1): `arrow-init --check-spec FILE` parses FILE
 * and writes the spec back to stdout in canonical form (exit 0) or the error to stderr (exit 1);
 * `arrow-init --check-image DIR` checks the tree unpacked under DIR against DIR/arrow/manifest and
 * prints "ok <entries> <bytes>" (exit 0) or the difference to stderr (exit 1);
 * `arrow-init --check-copy-out MAX PATH` writes the arrow.files frames of a copy (id 1) of PATH to stdout.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "manifest.h"

#define STATUS_PORT 0xF4
#define STATUS_PORT_COUNT 4 /* 0xF4..0xF7: an outl to 0xF4 spans them */
#define BYTEWISE_STATUS_PARAMETER "arrow_status=outb" /* in init's environment: one byte per outb */
#define STATUS_LINE_MAX 1024
#define STATUS_PREFIX "arrow-status"
#define MARK_PREFIX "arrow-mark"
#define SPEC_PATH "/arrow/spec"
#define SPEC_MAGIC "arrow-spec 1\n"
#define SPEC_MAX_BYTES (16u << 20)
#define HOSTNAME_MAX 64
#define GRACE_MS_DEFAULT 500u
#define GRACE_MS_MAX 60000u
#define KILL_WAIT_MS 2000u
#define DRAIN_WAIT_MS 2000u
#define NET_IF "eth0"
#define NET_DNS_MAX 3
#define TCP_RMEM_MIN 4096
#define TCP_RMEM_MAX_LIMIT (64 << 20)
#define INIT_PATH "/init"
#define ENTROPY_MIN_BYTES 16u
#define ENTROPY_MAX_BYTES 256u
#define CLOCK_NS_MAX 9223372036854775807ull /* INT64_MAX: a 64-bit time_t's seconds stay in range */
#define FILE_MODE_MAX 07777u
#define READY_POLL_MS 5
#define IMAGES_MAX 8
#define IMAGES_DIR "/arrow/images"
#define IMAGE_WAIT_MS 5000u
#define EROFS_UUID_OFFSET (1024 + 48) /* the superblock's uuid[16] */
#define COPY_OUT_MAX_BYTES 9223372036854775807ull /* INT64_MAX: a Java long */

/* ------------------------------------------------------------------------------------------ */
/* Output: status port or console                                                              */

static int status_port_ok;
static int status_bytewise; /* BYTEWISE_STATUS_PARAMETER was given: no outl */

/* Writes all n bytes; returns 0, or -1 with errno set. */
static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes a line to the status port: 4 bytes per outl, the rest (or, bytewise, all) one per outb. */
static void emit_line(const char *line, size_t n) {
    if (!status_port_ok) {
        write_all(2, line, n);
        return;
    }
    size_t i = 0;
    if (!status_bytewise) {
        for (; n - i >= 4; i += 4) {
            uint32_t group;
            memcpy(&group, line + i, 4); /* x86 is little-endian: the port sees the bytes in memory order */
            outl(group, STATUS_PORT);
        }
    }
    for (; i < n; i++) outb((unsigned char)line[i], STATUS_PORT);
}

/* Formats "<prefix> <kind>[ <message>]\n", message made printable and capped to the line limit. */
static void vrecord(const char *prefix, const char *kind, const char *fmt, va_list ap) {
    char line[STATUS_LINE_MAX];
    size_t cap = sizeof line - 1; /* room for the newline */
    int n = snprintf(line, cap + 1, "%s %s", prefix, kind);
    size_t len = n < 0 ? 0 : ((size_t)n > cap ? cap : (size_t)n);
    if (fmt != NULL && len + 1 < cap) {
        size_t start = len + 1;
        line[len] = ' ';
        int m = vsnprintf(line + start, cap - start + 1, fmt, ap);
        size_t mlen = m < 0 ? 0 : ((size_t)m > cap - start ? cap - start : (size_t)m);
        for (size_t i = start; i < start + mlen; i++) {
            unsigned char c = (unsigned char)line[i];
            if (c < 0x20 || c >= 0x7f) line[i] = '?';
        }
        len = start + mlen;
    }
    line[len++] = '\n';
    emit_line(line, len);
}

static void status(const char *kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vrecord(STATUS_PREFIX, kind, fmt, ap);
    va_end(ap);
}

static uint64_t boottime_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t monotonic_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void mark(const char *name) {
    char line[128];
    int n = snprintf(line, sizeof line, MARK_PREFIX " %s %llu\n", name,
                     (unsigned long long)boottime_ns());
    if (n > 0 && (size_t)n < sizeof line) emit_line(line, (size_t)n);
}

/* ------------------------------------------------------------------------------------------ */
/* Ending the VM                                                                               */

static void reap_until_empty(uint64_t wait_ms) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    uint64_t deadline = monotonic_ms() + wait_ms;
    for (;;) {
        pid_t p;
        while ((p = waitpid(-1, NULL, WNOHANG)) > 0) {
        }
        if (p < 0 && errno == ECHILD) return; /* every process left was a child of PID 1 */
        uint64_t now = monotonic_ms();
        if (now >= deadline) return;
        uint64_t left = deadline - now;
        struct timespec ts = {(time_t)(left / 1000u), (long)(left % 1000u) * 1000000L};
        sigtimedwait(&chld, NULL, &ts);
    }
}

/* Waits (bounded, unlike tcdrain) until the console's output queue is empty, so the bytes the
 * app wrote have reached the UART before init reports or resets. */
static void drain_console(void) {
    uint64_t deadline = monotonic_ms() + DRAIN_WAIT_MS;
    int queued;
    while (ioctl(1, TIOCOUTQ, &queued) == 0 && queued > 0 && monotonic_ms() < deadline) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* SIGTERM to everything but us, a grace period, then SIGKILL; reaps all of it. */
static void stop_leftovers(unsigned grace_ms) {
    if (kill(-1, SIGTERM) == 0) {
        kill(-1, SIGCONT); /* stopped processes must run to see the SIGTERM */
        reap_until_empty(grace_ms);
    }
    if (kill(-1, SIGKILL) == 0) reap_until_empty(KILL_WAIT_MS);
}

/* The command line's loglevel=1 lets emergencies reach the console, so that a panic is seen; the
 * kernel's "reboot: Restarting system" is one too. Before the orderly end, a console level of 1
 * becomes 0 (a debug console's higher level stays). /proc/sys/kernel/printk starts with it. */
static void silence_orderly_end(void) {
    char text[64];
    int fd = open("/proc/sys/kernel/printk", O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, text, sizeof text - 1);
    if (n > 1 && text[0] == '1' && (text[1] == '\t' || text[1] == ' ')) {
        (void) pwrite(fd, "0\n", 2, 0); /* at offset 0: a sysctl ignores a write past its start */
    }
    close(fd);
}

static _Noreturn void halt_vm(unsigned grace_ms) {
    stop_leftovers(grace_ms);
    drain_console(); /* the console's last bytes leave before the machine resets */
    silence_orderly_end();
    sync();
    mark("halt");
    /* With reboot=k the kernel resets through the i8042, which ends the VM. As PID 1 and root
     * these calls cannot fail in an Arrow guest; should they, keep trying rather than exit. */
    for (;;) {
        reboot(RB_AUTOBOOT);
        reboot(RB_POWER_OFF);
        sleep(1);
    }
}

static _Noreturn void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vrecord(STATUS_PREFIX, "start-failed", fmt, ap);
    va_end(ap);
    halt_vm(0);
}

/* ------------------------------------------------------------------------------------------ */
/* Spec                                                                                        */

struct rlimit_name {
    const char *name;
    int resource;
};

static const struct rlimit_name RLIMITS[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};
#define RLIMIT_COUNT (sizeof RLIMITS / sizeof RLIMITS[0])

struct spec_rlimit {
    size_t index; /* into RLIMITS */
    struct rlimit value;
};

/* Network settings (net-* keys); addresses in host byte order. */
struct spec_net {
    int has_ipv4;
    uint32_t addr;
    unsigned prefix;
    int has_gateway;
    uint32_t gateway;
    uint32_t dns[NET_DNS_MAX];
    size_t ndns;
    uint64_t tcp_rmem_max; /* 0: the kernel's own */
};

/* A "file" record: the user file written before the app starts; data points into the spec. */
struct spec_file {
    const char *path;
    mode_t mode;
    const char *data;
    size_t length;
};

/* A "mapped" record: file <name> of image <image>, <size> bytes, bind-mounted at <path>. */
struct spec_mapped {
    unsigned image;
    const char *name;
    uint64_t size;
    const char *path;
};

struct spec {
    const char *exec;
    char **argv;
    size_t argc;
    char **envp;
    size_t envc;
    const char *cwd;
    int has_uid, has_gid;
    uid_t uid;
    gid_t gid;
    struct spec_rlimit rlimits[RLIMIT_COUNT];
    size_t nrlimits;
    const char *hostname;
    int has_grace;
    unsigned grace_ms;
    struct spec_net net;
    int has_stdio;
    int stdio_virtio; /* "stdio virtio": the app's stdio are virtio console ports */
    int stderr_to_stdout; /* "stderr stdout": the app's fd 2 is a duplicate of its fd 1 (one channel, one order) */
    int template_init; /* "template init": wait on the control port for the launch spec */
    int has_clock;
    uint64_t clock_ns; /* clock-realtime-ns */
    unsigned char entropy[ENTROPY_MAX_BYTES]; /* decoded "entropy" bytes, entropy_len of them (0: none) */
    size_t entropy_len;
    unsigned ready_port; /* 0: none */
    struct spec_file *files;
    size_t nfiles;
    unsigned char images[IMAGES_MAX][16]; /* decoded "image" UUIDs, nimages of them */
    size_t nimages;
    struct spec_mapped *mapped;
    size_t nmapped;
    const char **copy_out; /* "copy-out" paths, sent to the host after the app ended */
    size_t ncopy_out;
    int has_copy_out_max;
    uint64_t copy_out_max; /* "copy-out-max": content bytes of all of them together */
};

static char spec_error[512];

static int spec_fail(size_t offset, const char *fmt, ...) {
    char detail[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(spec_error, sizeof spec_error, "%s at byte %zu", detail, offset);
    return -1;
}

/* Strict unsigned decimal: digits only, no sign, no leading zeros (except "0"), <= max. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *out) {
    if (*s == '\0' || strlen(s) > 20) return -1;
    if (s[0] == '0' && s[1] != '\0') return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10u) return -1;
        v = v * 10u + d;
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

static int parse_limit(const char *s, rlim_t *out) {
    if (strcmp(s, "unlimited") == 0) {
        *out = RLIM_INFINITY;
        return 0;
    }
    uint64_t v;
    if (parse_decimal(s, (uint64_t)RLIM_INFINITY - 1u, &v) != 0) return -1;
    *out = (rlim_t)v;
    return 0;
}

static int parse_rlimit(char *value, struct spec *spec, size_t off) {
    char *sp1 = strchr(value, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL)
        return spec_fail(off, "rlimit '%.64s' is not '<name> <soft> <hard>'", value);
    *sp1 = '\0';
    *sp2 = '\0';
    size_t idx = RLIMIT_COUNT;
    for (size_t i = 0; i < RLIMIT_COUNT; i++)
        if (strcmp(value, RLIMITS[i].name) == 0) idx = i;
    if (idx == RLIMIT_COUNT) return spec_fail(off, "unknown rlimit '%.32s'", value);
    for (size_t i = 0; i < spec->nrlimits; i++)
        if (spec->rlimits[i].index == idx) return spec_fail(off, "rlimit %s given twice", value);
    struct rlimit r;
    if (parse_limit(sp1 + 1, &r.rlim_cur) != 0 || parse_limit(sp2 + 1, &r.rlim_max) != 0)
        return spec_fail(off, "rlimit %s: limits must be decimal or 'unlimited'", value);
    if (r.rlim_cur > r.rlim_max) return spec_fail(off, "rlimit %s: soft limit above hard", value);
    spec->rlimits[spec->nrlimits].index = idx;
    spec->rlimits[spec->nrlimits].value = r;
    spec->nrlimits++;
    return 0;
}

/* Strict dotted quad: four decimal parts 0..255, no sign, no leading zeros. */
static int parse_ipv4(const char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && *s++ != '.') return -1;
        const char *start = s;
        unsigned n = 0;
        while (*s >= '0' && *s <= '9' && s - start < 3) n = n * 10u + (unsigned)(*s++ - '0');
        if (s == start || n > 255 || (s - start > 1 && *start == '0')) return -1;
        v = v << 8 | n;
    }
    if (*s != '\0') return -1;
    *out = v;
    return 0;
}

static uint32_t prefix_mask(unsigned prefix) {
    return prefix == 0 ? 0 : 0xFFFFFFFFu << (32 - prefix);
}

static void format_ipv4(uint32_t a, char buf[16]) {
    snprintf(buf, 16, "%u.%u.%u.%u", (unsigned)(a >> 24), (unsigned)(a >> 16) & 255u, (unsigned)(a >> 8) & 255u,
             (unsigned)a & 255u);
}

static int parse_net(const char *key, char *value, struct spec_net *net, size_t off) {
    if (strcmp(key, "net-ipv4") == 0) {
        if (net->has_ipv4) return spec_fail(off, "net-ipv4 given twice");
        char *slash = strchr(value, '/');
        if (slash == NULL) return spec_fail(off, "net-ipv4 '%.32s' is not '<a.b.c.d>/<prefix 1..30>'", value);
        uint64_t prefix = 0;
        *slash = '\0';
        int bad = parse_ipv4(value, &net->addr) != 0 || parse_decimal(slash + 1, 30, &prefix) != 0 || prefix < 1;
        *slash = '/';
        if (bad) return spec_fail(off, "net-ipv4 '%.32s' is not '<a.b.c.d>/<prefix 1..30>'", value);
        uint32_t host = net->addr & ~prefix_mask((unsigned)prefix);
        if (host == 0 || host == ~prefix_mask((unsigned)prefix))
            return spec_fail(off, "net-ipv4 '%.32s' is the network or broadcast address of its subnet", value);
        net->prefix = (unsigned)prefix;
        net->has_ipv4 = 1;
    } else if (strcmp(key, "net-gateway") == 0) {
        if (net->has_gateway) return spec_fail(off, "net-gateway given twice");
        if (parse_ipv4(value, &net->gateway) != 0)
            return spec_fail(off, "net-gateway '%.32s' is not an IPv4 address a.b.c.d", value);
        net->has_gateway = 1;
    } else if (strcmp(key, "net-dns") == 0) {
        if (net->ndns == NET_DNS_MAX) return spec_fail(off, "more than %d net-dns records", NET_DNS_MAX);
        if (parse_ipv4(value, &net->dns[net->ndns]) != 0)
            return spec_fail(off, "net-dns '%.32s' is not an IPv4 address a.b.c.d", value);
        net->ndns++;
    } else if (strcmp(key, "net-tcp-rmem-max") == 0) {
        if (net->tcp_rmem_max != 0) return spec_fail(off, "net-tcp-rmem-max given twice");
        if (parse_decimal(value, TCP_RMEM_MAX_LIMIT, &net->tcp_rmem_max) != 0 || net->tcp_rmem_max < TCP_RMEM_MIN)
            return spec_fail(off, "net-tcp-rmem-max '%.32s' is not a decimal %d..%d", value, TCP_RMEM_MIN, TCP_RMEM_MAX_LIMIT);
    } else {
        return spec_fail(off, "unknown network key '%.32s'", key);
    }
    return 0;
}

/* The net-* records must make one consistent configuration. */
static int check_net(const struct spec_net *net, size_t off) {
    if (!net->has_ipv4) {
        if (net->has_gateway) return spec_fail(off, "net-gateway without net-ipv4");
        if (net->ndns > 0) return spec_fail(off, "net-dns without net-ipv4");
        if (net->tcp_rmem_max != 0) return spec_fail(off, "net-tcp-rmem-max without net-ipv4");
        return 0;
    }
    if (net->has_gateway) {
        uint32_t mask = prefix_mask(net->prefix);
        uint32_t host = net->gateway & ~mask;
        if ((net->gateway & mask) != (net->addr & mask) || net->gateway == net->addr || host == 0 || host == ~mask)
            return spec_fail(off, "net-gateway is not another host of the net-ipv4 subnet");
    }
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Lowercase hex, an even count of 2*ENTROPY_MIN_BYTES..2*ENTROPY_MAX_BYTES digits, decoded into
 * out[ENTROPY_MAX_BYTES]. Returns 0 with *len set, or -1. */
static int parse_entropy(const char *s, unsigned char *out, size_t *len) {
    size_t n = strlen(s);
    if (n % 2 != 0 || n < 2 * ENTROPY_MIN_BYTES || n > 2 * ENTROPY_MAX_BYTES) return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

/* Why a "file" record may not write `path`, or NULL if it may: the path must be absolute and
 * normalised (no empty, "." or ".." components), not init itself and not inside Arrow's own
 * directory or a kernel file system. */
static const char *file_path_problem(const char *path) {
    static const char *const reserved[] = {"/arrow", "/proc", "/sys", "/dev"};
    if (path[0] != '/') return "is not absolute";
    if (strlen(path) >= PATH_MAX) return "is longer than PATH_MAX";
    if (path[1] == '\0') return "is the root directory";
    for (const char *c = path + 1;; c++) {
        const char *end = strchrnul(c, '/');
        size_t n = (size_t)(end - c);
        if (n == 0) return "has an empty component";
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return "has a '.' or '..' component";
        if (n > NAME_MAX) return "has a component longer than NAME_MAX";
        if (*end == '\0') break;
        c = end;
    }
    if (strcmp(path, INIT_PATH) == 0) return "is init itself";
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        size_t n = strlen(reserved[i]);
        if (strncmp(path, reserved[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
            return "is inside /arrow, /proc, /sys or /dev";
    }
    return NULL;
}

/* A "file" record: value "<octal mode> <length> <path>" (value NUL at buf[*pos - 1]), then
 * exactly <length> raw bytes and a NUL. Advances *pos past them. */
static int parse_file(char *buf, size_t len, size_t *pos, char *value, struct spec *spec, size_t off) {
    char *sp1 = strchr(value, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL)
        return spec_fail(off, "file '%.64s' is not '<octal mode> <length> <path>'", value);
    *sp1 = '\0';
    *sp2 = '\0';
    const char *path = sp2 + 1;
    unsigned mode = 0;
    size_t mode_digits = strspn(value, "01234567");
    for (size_t i = 0; i < mode_digits && i < 5; i++) mode = mode * 8u + (unsigned)(value[i] - '0');
    if (mode_digits == 0 || mode_digits > 5 || value[mode_digits] != '\0' || mode > FILE_MODE_MAX)
        return spec_fail(off, "file mode '%.16s' is not octal 0..7777", value);
    uint64_t length;
    if (parse_decimal(sp1 + 1, SPEC_MAX_BYTES, &length) != 0)
        return spec_fail(off, "file length '%.24s' is not a decimal 0..%u", sp1 + 1, SPEC_MAX_BYTES);
    const char *problem = file_path_problem(path);
    if (problem != NULL) return spec_fail(off, "file path '%.64s' %s", path, problem);
    for (size_t i = 0; i < spec->nfiles; i++)
        if (strcmp(spec->files[i].path, path) == 0) return spec_fail(off, "file %.64s given twice", path);
    if (len - *pos <= length || buf[*pos + length] != '\0')
        return spec_fail(off, "file %.64s: its %llu bytes and their NUL run past the end of the spec", path,
                         (unsigned long long)length);
    struct spec_file *grown = realloc(spec->files, (spec->nfiles + 1) * sizeof *grown);
    if (grown == NULL) return spec_fail(off, "out of memory");
    spec->files = grown;
    spec->files[spec->nfiles++] = (struct spec_file){path, (mode_t)mode, buf + *pos, (size_t)length};
    *pos += (size_t)length + 1;
    return 0;
}

/* An "image" record: 32 lowercase hex digits, the EROFS UUID of the next image. */
static int parse_image(const char *value, struct spec *spec, size_t off) {
    if (spec->nimages == IMAGES_MAX) return spec_fail(off, "more than %u images", IMAGES_MAX);
    if (strlen(value) != 32) return spec_fail(off, "image '%.40s' is not 32 lowercase hex digits", value);
    unsigned char *uuid = spec->images[spec->nimages];
    for (size_t i = 0; i < 16; i++) {
        int hi = hex_digit(value[2 * i]), lo = hex_digit(value[2 * i + 1]);
        if (hi < 0 || lo < 0) return spec_fail(off, "image '%.40s' is not 32 lowercase hex digits", value);
        uuid[i] = (unsigned char)(hi << 4 | lo);
    }
    for (size_t i = 0; i < spec->nimages; i++)
        if (memcmp(spec->images[i], uuid, 16) == 0) return spec_fail(off, "image %.32s given twice", value);
    spec->nimages++;
    return 0;
}

/* A "mapped" record: "<image> <name> <size> <path>", its image given before it. */
static int parse_mapped(char *value, struct spec *spec, size_t off) {
    char *sp1 = strchr(value, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    char *sp3 = sp2 ? strchr(sp2 + 1, ' ') : NULL;
    if (sp3 == NULL) return spec_fail(off, "mapped '%.64s' is not '<image> <name> <size> <path>'", value);
    *sp1 = *sp2 = *sp3 = '\0';
    uint64_t image, size;
    if (parse_decimal(value, IMAGES_MAX - 1, &image) != 0 || image >= spec->nimages)
        return spec_fail(off, "mapped image '%.16s' is not one of the %zu images given before it", value, spec->nimages);
    const char *name = sp1 + 1;
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return spec_fail(off, "mapped name '%.64s' is not a plain file name", name);
    if (parse_decimal(sp2 + 1, CLOCK_NS_MAX, &size) != 0)
        return spec_fail(off, "mapped size '%.24s' is not a decimal", sp2 + 1);
    const char *path = sp3 + 1;
    const char *problem = file_path_problem(path);
    if (problem != NULL) return spec_fail(off, "mapped path '%.64s' %s", path, problem);
    for (size_t i = 0; i < spec->nmapped; i++)
        if (strcmp(spec->mapped[i].path, path) == 0) return spec_fail(off, "mapped %.64s given twice", path);
    struct spec_mapped *grown = realloc(spec->mapped, (spec->nmapped + 1) * sizeof *grown);
    if (grown == NULL) return spec_fail(off, "out of memory");
    spec->mapped = grown;
    spec->mapped[spec->nmapped++] = (struct spec_mapped){(unsigned)image, name, size, path};
    return 0;
}

/* A path given both as a "file" and as a "mapped" file. */
static int check_mapped_vs_files(const struct spec *s, size_t off) {
    for (size_t i = 0; i < s->nmapped; i++)
        for (size_t j = 0; j < s->nfiles; j++)
            if (strcmp(s->mapped[i].path, s->files[j].path) == 0)
                return spec_fail(off, "%.64s is given as a file and as a mapped file", s->files[j].path);
    return 0;
}

/* "copy-out <absolute path>" (once per path) and "copy-out-max <bytes>": see "Copy-out" below. */
static int parse_copy_out(const char *key, const char *value, struct spec *spec, size_t off) {
    if (strcmp(key, "copy-out-max") == 0) {
        if (spec->has_copy_out_max) return spec_fail(off, "copy-out-max given twice");
        if (parse_decimal(value, COPY_OUT_MAX_BYTES, &spec->copy_out_max) != 0)
            return spec_fail(off, "copy-out-max '%.32s' is not a decimal 0..%llu", value, COPY_OUT_MAX_BYTES);
        spec->has_copy_out_max = 1;
        return 0;
    }
    if (strcmp(key, "copy-out") != 0) return spec_fail(off, "unknown key '%.32s'", key);
    if (value[0] != '/' || strlen(value) >= PATH_MAX)
        return spec_fail(off, "copy-out '%.64s' is not an absolute path shorter than PATH_MAX", value);
    for (size_t i = 0; i < spec->ncopy_out; i++)
        if (strcmp(spec->copy_out[i], value) == 0) return spec_fail(off, "copy-out %.64s given twice", value);
    const char **grown = realloc(spec->copy_out, (spec->ncopy_out + 1) * sizeof *grown);
    if (grown == NULL) return spec_fail(off, "out of memory");
    spec->copy_out = grown;
    spec->copy_out[spec->ncopy_out++] = value;
    return 0;
}

/* A template spec holds "template" and "stdio virtio" (and its images) only: the launch spec brings the rest. */
static int check_template(const struct spec *s, size_t off) {
    if (!s->stdio_virtio) return spec_fail(off, "template needs 'stdio virtio' (the launch spec arrives on arrow.control)");
    if (s->exec || s->argc || s->envc || s->cwd || s->has_uid || s->has_gid || s->nrlimits || s->hostname ||
        s->has_grace || s->net.has_ipv4 || s->has_clock || s->entropy_len || s->ready_port || s->nfiles ||
        s->ncopy_out || s->has_copy_out_max || s->stderr_to_stdout)
        return spec_fail(off, "a template spec holds only 'template', 'stdio', 'image' and 'mapped': the launch spec"
                              " brings the rest");
    return 0;
}

static int append(char ***list, size_t *count, char *value) {
    char **grown = realloc(*list, (*count + 2) * sizeof **list);
    if (grown == NULL) return -1;
    grown[(*count)++] = value;
    grown[*count] = NULL;
    *list = grown;
    return 0;
}

/* Parses buf[0..len) in place (values point into buf). Returns 0 or -1 with spec_error set. */
static int parse_spec(char *buf, size_t len, struct spec *spec) {
    memset(spec, 0, sizeof *spec);
    size_t magic_len = strlen(SPEC_MAGIC);
    if (len < magic_len || memcmp(buf, SPEC_MAGIC, magic_len) != 0)
        return spec_fail(0, "missing header \"arrow-spec 1\"");
    size_t pos = magic_len;
    int ended = 0;
    while (pos < len) {
        size_t off = pos;
        char *key = buf + pos;
        char *knul = memchr(key, '\0', len - pos);
        if (knul == NULL) return spec_fail(off, "key not terminated by NUL (truncated spec?)");
        pos = (size_t)(knul - buf) + 1;
        if (pos >= len) return spec_fail(off, "key '%.32s' has no value (truncated spec?)", key);
        char *value = buf + pos;
        char *vnul = memchr(value, '\0', len - pos);
        if (vnul == NULL) return spec_fail(off, "value of '%.32s' not terminated by NUL", key);
        pos = (size_t)(vnul - buf) + 1;

        if (strcmp(key, "end") == 0) {
            if (*value != '\0') return spec_fail(off, "record 'end' has a value");
            if (pos != len) return spec_fail(pos, "%zu bytes after record 'end'", len - pos);
            ended = 1;
            break;
        } else if (strcmp(key, "exec") == 0) {
            if (spec->exec) return spec_fail(off, "exec given twice");
            if (value[0] != '/') return spec_fail(off, "exec '%.64s' is not absolute", value);
            spec->exec = value;
        } else if (strcmp(key, "arg") == 0) {
            if (append(&spec->argv, &spec->argc, value) != 0) return spec_fail(off, "out of memory");
        } else if (strcmp(key, "env") == 0) {
            char *eq = strchr(value, '=');
            if (eq == NULL || eq == value)
                return spec_fail(off, "env '%.64s' is not NAME=value", value);
            if (append(&spec->envp, &spec->envc, value) != 0) return spec_fail(off, "out of memory");
        } else if (strcmp(key, "cwd") == 0) {
            if (spec->cwd) return spec_fail(off, "cwd given twice");
            if (value[0] != '/') return spec_fail(off, "cwd '%.64s' is not absolute", value);
            spec->cwd = value;
        } else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
            int is_uid = key[0] == 'u';
            uint64_t v;
            if (is_uid ? spec->has_uid : spec->has_gid) return spec_fail(off, "%s given twice", key);
            if (parse_decimal(value, 4294967294u, &v) != 0)
                return spec_fail(off, "%s '%.32s' is not a decimal id 0..4294967294", key, value);
            if (is_uid) {
                spec->has_uid = 1;
                spec->uid = (uid_t)v;
            } else {
                spec->has_gid = 1;
                spec->gid = (gid_t)v;
            }
        } else if (strcmp(key, "rlimit") == 0) {
            if (parse_rlimit(value, spec, off) != 0) return -1;
        } else if (strcmp(key, "hostname") == 0) {
            if (spec->hostname) return spec_fail(off, "hostname given twice");
            size_t n = strlen(value);
            if (n == 0 || n > HOSTNAME_MAX) return spec_fail(off, "hostname must be 1..64 bytes");
            spec->hostname = value;
        } else if (strcmp(key, "grace-ms") == 0) {
            uint64_t v;
            if (spec->has_grace) return spec_fail(off, "grace-ms given twice");
            if (parse_decimal(value, GRACE_MS_MAX, &v) != 0)
                return spec_fail(off, "grace-ms '%.32s' is not a decimal 0..60000", value);
            spec->has_grace = 1;
            spec->grace_ms = (unsigned)v;
        } else if (strcmp(key, "stdio") == 0) {
            if (spec->has_stdio) return spec_fail(off, "stdio given twice");
            if (strcmp(value, "serial") != 0 && strcmp(value, "virtio") != 0)
                return spec_fail(off, "stdio '%.32s' is not 'serial' or 'virtio'", value);
            spec->has_stdio = 1;
            spec->stdio_virtio = value[0] == 'v';
        } else if (strcmp(key, "stderr") == 0) {
            if (spec->stderr_to_stdout) return spec_fail(off, "stderr given twice");
            if (strcmp(value, "stdout") != 0) return spec_fail(off, "stderr '%.32s' is not 'stdout'", value);
            spec->stderr_to_stdout = 1;
        } else if (strncmp(key, "net-", 4) == 0) {
            if (parse_net(key, value, &spec->net, off) != 0) return -1;
        } else if (strcmp(key, "template") == 0) {
            if (spec->template_init) return spec_fail(off, "template given twice");
            if (strcmp(value, "init") != 0) return spec_fail(off, "template '%.32s' is not 'init'", value);
            spec->template_init = 1;
        } else if (strcmp(key, "clock-realtime-ns") == 0) {
            if (spec->has_clock) return spec_fail(off, "clock-realtime-ns given twice");
            if (parse_decimal(value, CLOCK_NS_MAX, &spec->clock_ns) != 0)
                return spec_fail(off, "clock-realtime-ns '%.32s' is not a decimal 0..%llu", value, CLOCK_NS_MAX);
            spec->has_clock = 1;
        } else if (strcmp(key, "entropy") == 0) {
            if (spec->entropy_len) return spec_fail(off, "entropy given twice");
            if (parse_entropy(value, spec->entropy, &spec->entropy_len) != 0)
                return spec_fail(off, "entropy is not %u..%u lowercase hex digits (an even count)", 2 * ENTROPY_MIN_BYTES,
                                 2 * ENTROPY_MAX_BYTES);
        } else if (strcmp(key, "ready-port") == 0) {
            uint64_t v;
            if (spec->ready_port) return spec_fail(off, "ready-port given twice");
            if (parse_decimal(value, 65535, &v) != 0 || v == 0)
                return spec_fail(off, "ready-port '%.32s' is not a decimal 1..65535", value);
            spec->ready_port = (unsigned)v;
        } else if (strcmp(key, "file") == 0) {
            if (parse_file(buf, len, &pos, value, spec, off) != 0) return -1;
        } else if (strcmp(key, "image") == 0) {
            if (parse_image(value, spec, off) != 0) return -1;
        } else if (strcmp(key, "mapped") == 0) {
            if (parse_mapped(value, spec, off) != 0) return -1;
        } else if (strncmp(key, "copy-out", 8) == 0) {
            if (parse_copy_out(key, value, spec, off) != 0) return -1;
        } else {
            return spec_fail(off, "unknown key '%.32s'", key);
        }
    }
    if (!ended) return spec_fail(len, "no record 'end' (truncated spec?)");
    if (check_mapped_vs_files(spec, len) != 0) return -1;
    if (spec->template_init) return check_template(spec, len);
    if (spec->exec == NULL) return spec_fail(len, "no record 'exec'");
    if (spec->argc == 0) return spec_fail(len, "no record 'arg' (argv[0] is required)");
    if (check_net(&spec->net, len) != 0) return -1;
    if ((spec->ncopy_out > 0) != (spec->has_copy_out_max != 0))
        return spec_fail(len, "copy-out and copy-out-max go together");
    if (spec->envp == NULL && (spec->envp = calloc(1, sizeof *spec->envp)) == NULL)
        return spec_fail(len, "out of memory");
    if (!spec->has_grace) spec->grace_ms = GRACE_MS_DEFAULT;
    return 0;
}

/* Reads a whole file (at most SPEC_MAX_BYTES). Returns the buffer or NULL with errno-ish text. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size > SPEC_MAX_BYTES) {
        snprintf(err, errlen, "%s is not a regular file of at most %u bytes", path,
                 SPEC_MAX_BYTES);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory reading %s", path);
        close(fd);
        return NULL;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "short");
            free(buf);
            close(fd);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = '\0';
    *len = size;
    return buf;
}

static void put_record(FILE *out, const char *key, const char *value) {
    fputs(key, out);
    fputc('\0', out);
    fputs(value, out);
    fputc('\0', out);
}

static void print_net(FILE *out, const struct spec_net *net) {
    char a[16], tmp[32];
    if (!net->has_ipv4) return;
    format_ipv4(net->addr, a);
    snprintf(tmp, sizeof tmp, "%s/%u", a, net->prefix);
    put_record(out, "net-ipv4", tmp);
    if (net->has_gateway) {
        format_ipv4(net->gateway, a);
        put_record(out, "net-gateway", a);
    }
    for (size_t i = 0; i < net->ndns; i++) {
        format_ipv4(net->dns[i], a);
        put_record(out, "net-dns", a);
    }
    if (net->tcp_rmem_max != 0) {
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)net->tcp_rmem_max);
        put_record(out, "net-tcp-rmem-max", tmp);
    }
}

/* Canonical form; mirrors dev.arrow.image.init.SpecFile's record order. */
static void print_spec(FILE *out, const struct spec *s) {
    char tmp[128];
    fputs(SPEC_MAGIC, out);
    if (s->exec) put_record(out, "exec", s->exec);
    for (size_t i = 0; i < s->argc; i++) put_record(out, "arg", s->argv[i]);
    for (size_t i = 0; i < s->envc; i++) put_record(out, "env", s->envp[i]);
    if (s->cwd) put_record(out, "cwd", s->cwd);
    if (s->has_uid) {
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)s->uid);
        put_record(out, "uid", tmp);
    }
    if (s->has_gid) {
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)s->gid);
        put_record(out, "gid", tmp);
    }
    for (size_t i = 0; i < s->nrlimits; i++) {
        char soft[24], hard[24];
        const struct rlimit *r = &s->rlimits[i].value;
        if (r->rlim_cur == RLIM_INFINITY) snprintf(soft, sizeof soft, "unlimited");
        else snprintf(soft, sizeof soft, "%llu", (unsigned long long)r->rlim_cur);
        if (r->rlim_max == RLIM_INFINITY) snprintf(hard, sizeof hard, "unlimited");
        else snprintf(hard, sizeof hard, "%llu", (unsigned long long)r->rlim_max);
        snprintf(tmp, sizeof tmp, "%s %s %s", RLIMITS[s->rlimits[i].index].name, soft, hard);
        put_record(out, "rlimit", tmp);
    }
    if (s->hostname) put_record(out, "hostname", s->hostname);
    if (s->has_grace) {
        snprintf(tmp, sizeof tmp, "%u", s->grace_ms);
        put_record(out, "grace-ms", tmp);
    }
    print_net(out, &s->net);
    if (s->has_stdio) put_record(out, "stdio", s->stdio_virtio ? "virtio" : "serial");
    if (s->stderr_to_stdout) put_record(out, "stderr", "stdout");
    if (s->template_init) put_record(out, "template", "init");
    if (s->ready_port) {
        snprintf(tmp, sizeof tmp, "%u", s->ready_port);
        put_record(out, "ready-port", tmp);
    }
    if (s->has_clock) {
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)s->clock_ns);
        put_record(out, "clock-realtime-ns", tmp);
    }
    if (s->entropy_len) {
        char hex[2 * ENTROPY_MAX_BYTES + 1];
        for (size_t i = 0; i < s->entropy_len; i++) snprintf(hex + 2 * i, 3, "%02x", s->entropy[i]);
        put_record(out, "entropy", hex);
    }
    for (size_t i = 0; i < s->nimages; i++) {
        char hex[33];
        for (size_t j = 0; j < 16; j++) snprintf(hex + 2 * j, 3, "%02x", s->images[i][j]);
        put_record(out, "image", hex);
    }
    for (size_t i = 0; i < s->nmapped; i++) {
        const struct spec_mapped *m = &s->mapped[i];
        char value[PATH_MAX + NAME_MAX + 48];
        snprintf(value, sizeof value, "%u %s %llu %s", m->image, m->name, (unsigned long long)m->size, m->path);
        put_record(out, "mapped", value);
    }
    for (size_t i = 0; i < s->nfiles; i++) {
        const struct spec_file *f = &s->files[i];
        fputs("file", out);
        fputc('\0', out);
        fprintf(out, "%04o %zu %s", (unsigned)f->mode, f->length, f->path);
        fputc('\0', out);
        fwrite(f->data, 1, f->length, out);
        fputc('\0', out);
    }
    for (size_t i = 0; i < s->ncopy_out; i++) put_record(out, "copy-out", s->copy_out[i]);
    if (s->has_copy_out_max) {
        snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)s->copy_out_max);
        put_record(out, "copy-out-max", tmp);
    }
    put_record(out, "end", "");
}

static int check_spec_main(const char *path) {
    char err[512];
    size_t len;
    char *buf = read_file(path, &len, err, sizeof err);
    if (buf == NULL) {
        fprintf(stderr, "arrow-init: %s\n", err);
        return 1;
    }
    struct spec spec;
    if (parse_spec(buf, len, &spec) != 0) {
        fprintf(stderr, "arrow-init: malformed spec %s: %s\n", path, spec_error);
        return 1;
    }
    print_spec(stdout, &spec);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Guest set-up                                                                                */

static void must_mkdir(const char *path, mode_t mode) {
    if (mkdir(path, mode) != 0 && errno != EEXIST) fail("mkdir %s: %s", path, strerror(errno));
}

static void must_mount(const char *fstype, const char *target, unsigned long flags,
                       const char *data, mode_t mode) {
    must_mkdir(target, mode);
    if (mount(fstype, target, fstype, flags, data) != 0) {
        int e = errno;
        fail("mount %s on %s: %s%s", fstype, target, strerror(e),
             e == ENODEV ? " (the kernel lacks this file system; use Arrow's guest kernel)" : "");
    }
}

static void mount_all(void) {
    const unsigned long nosuid_nodev = MS_NOSUID | MS_NODEV;
    must_mount("proc", "/proc", nosuid_nodev | MS_NOEXEC, NULL, 0555);
    must_mount("sysfs", "/sys", nosuid_nodev | MS_NOEXEC, NULL, 0555);
    must_mount("devtmpfs", "/dev", MS_NOSUID, "mode=0755", 0755);
    /* devpts: optional in the kernel (CONFIG_UNIX98_PTYS); programs that open ptys need it. */
    must_mkdir("/dev/pts", 0755);
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620") != 0 &&
        errno != ENODEV)
        fail("mount devpts on /dev/pts: %s", strerror(errno));
    must_mount("tmpfs", "/dev/shm", nosuid_nodev, "mode=1777", 01777);
    must_mount("tmpfs", "/tmp", nosuid_nodev, "mode=1777", 01777);
    must_mount("tmpfs", "/run", nosuid_nodev, "mode=0755", 0755);
    /* The links a libc or shell expects in /dev; devtmpfs does not make them. */
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"},     {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlink(links[i][0], links[i][1]) != 0 && errno != EEXIST)
            fail("symlink %s: %s", links[i][1], strerror(errno));
}

/* errno of a failed switch of the console to raw mode (0: raw); fatal only for "stdio serial". */
static int console_raw_error;

/* stdin/stdout/stderr on /dev/console, in raw mode so the app's bytes reach the host as-is. */
static void setup_console(void) {
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0) fail("open /dev/console: %s (is console=ttyS0 on the command line?)", strerror(errno));
    for (int i = 0; i < 3; i++)
        if (fd != i && dup2(fd, i) < 0) fail("dup2 /dev/console: %s", strerror(errno));
    if (fd > 2) close(fd);
    struct termios t;
    if (tcgetattr(0, &t) != 0) {
        console_raw_error = errno;
        return;
    }
    cfmakeraw(&t);
    if (tcsetattr(0, TCSANOW, &t) != 0) console_raw_error = errno;
}

/* ------------------------------------------------------------------------------------------ */
/* Network                                                                                     */

static void to_sockaddr(struct sockaddr *sa, uint32_t addr) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    memcpy(sa, &sin, sizeof sin);
}

static void ifreq_for(struct ifreq *ifr, const char *name) {
    memset(ifr, 0, sizeof *ifr);
    strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
}

static int interface_up(int fd, const char *name) {
    struct ifreq ifr;
    ifreq_for(&ifr, name);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) return -1;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

/* Creates path with text unless it exists (a file the image brings wins). */
static void create_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST) return;
        fail("network: creating %s: %s", path, strerror(errno));
    }
    if (write_all(fd, text, strlen(text)) != 0 || close(fd) != 0)
        fail("network: writing %s: %s", path, strerror(errno));
}

static void write_network_files(const struct spec_net *net, const char *hostname) {
    char text[512], a[16];
    size_t len = 0;
    must_mkdir("/etc", 0755);
    if (net->ndns > 0) {
        for (size_t i = 0; i < net->ndns; i++) {
            format_ipv4(net->dns[i], a);
            len += (size_t)snprintf(text + len, sizeof text - len, "nameserver %s\n", a);
        }
        create_file("/etc/resolv.conf", text);
    }
    len = (size_t)snprintf(text, sizeof text, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    if (hostname != NULL) {
        format_ipv4(net->addr, a);
        snprintf(text + len, sizeof text - len, "%s\t%s\n", a, hostname);
    }
    create_file("/etc/hosts", text);
}

/* Makes the kernel announce the guest (a gratuitous ARP) when eth0 comes up, so the network
 * behind it learns the guest's MAC before any connection arrives: passt sends frames for a guest
 * it has not heard from to the broadcast MAC, which the guest's TCP drops. Best effort. */
static void announce_when_up(void) {
    int fd = open("/proc/sys/net/ipv4/conf/" NET_IF "/arp_notify", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    write_all(fd, "1", 1);
    close(fd);
}

/* net.ipv4.tcp_rmem = "4096 <default> <max>" (net-tcp-rmem-max): the default is the kernel's 131072 unless
 * the max is lower. Before eth0 is up, so every TCP socket of the app gets it. */
static void limit_tcp_receive_buffer(uint64_t max) {
    char text[64];
    uint64_t def = max < 131072 ? max : 131072;
    int n = snprintf(text, sizeof text, "%d %llu %llu", TCP_RMEM_MIN, (unsigned long long)def, (unsigned long long)max);
    int fd = open("/proc/sys/net/ipv4/tcp_rmem", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, text, (size_t)n) != 0)
        fail("network: setting net.ipv4.tcp_rmem to '%s': %s", text, strerror(errno));
    close(fd);
}

/* lo always; eth0 with address, netmask and default route when the spec has net-ipv4. */
static void setup_network(const struct spec_net *net, const char *hostname) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (!net->has_ipv4) return; /* a kernel without IPv4: nothing to bring up */
        fail("network: socket(AF_INET): %s (the guest kernel lacks IPv4 networking)", strerror(errno));
    }
    if (interface_up(fd, "lo") != 0) fail("network: bringing up lo: %s", strerror(errno));
    if (!net->has_ipv4) {
        close(fd);
        return;
    }
    struct ifreq ifr;
    ifreq_for(&ifr, NET_IF);
    to_sockaddr(&ifr.ifr_addr, net->addr);
    if (ioctl(fd, SIOCSIFADDR, &ifr) != 0) {
        int e = errno;
        fail("network: setting the address of " NET_IF ": %s%s", strerror(e),
             e == ENODEV ? " (the guest has no network card: is its virtio-mmio device on the kernel command line?)" : "");
    }
    ifreq_for(&ifr, NET_IF);
    to_sockaddr(&ifr.ifr_netmask, prefix_mask(net->prefix));
    if (ioctl(fd, SIOCSIFNETMASK, &ifr) != 0) fail("network: setting the netmask of " NET_IF ": %s", strerror(errno));
    announce_when_up();
    if (net->tcp_rmem_max != 0) limit_tcp_receive_buffer(net->tcp_rmem_max);
    if (interface_up(fd, NET_IF) != 0) fail("network: bringing up " NET_IF ": %s", strerror(errno));
    if (net->has_gateway) {
        static char dev[] = NET_IF;
        struct rtentry rt;
        memset(&rt, 0, sizeof rt);
        to_sockaddr(&rt.rt_dst, 0);
        to_sockaddr(&rt.rt_genmask, 0);
        to_sockaddr(&rt.rt_gateway, net->gateway);
        rt.rt_flags = RTF_UP | RTF_GATEWAY;
        rt.rt_dev = dev;
        if (ioctl(fd, SIOCADDRT, &rt) != 0) fail("network: adding the default route: %s", strerror(errno));
    }
    close(fd);
    write_network_files(net, hostname);
    mark("net-up");
}

/* ------------------------------------------------------------------------------------------ */
/* A clone's own clock, randomness and files (templates, docs/templates.md)                    */

/* <linux/random.h>'s ioctls (musl ships no kernel headers): _IOW('R', 0x03, int[2]) and _IO('R', 0x07). */
#define RNDADDENTROPY_IOCTL 0x40085203
#define RNDRESEEDCRNG_IOCTL 0x5207

static int set_realtime(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    return clock_settime(CLOCK_REALTIME, &ts);
}

/* Mixes n (<= ENTROPY_MAX_BYTES) bytes into the input pool, crediting all their bits, then
 * reseeds the CRNG from it, so that no random byte drawn afterwards depends only on the state a
 * template had. Returns 0, or -1 with errno and *what (the step that failed). ENODATA from the
 * reseed means the CRNG was never seeded yet: its first seeding draws on these bytes anyway. */
static int add_entropy(const unsigned char *bytes, size_t n, const char **what) {
    struct {
        int entropy_count; /* struct rand_pool_info */
        int buf_size;
        unsigned char buf[ENTROPY_MAX_BYTES];
    } info;
    info.entropy_count = (int)(n * 8);
    info.buf_size = (int)n;
    memcpy(info.buf, bytes, n);
    *what = "open /dev/urandom";
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = 0;
    *what = "ioctl RNDADDENTROPY on /dev/urandom";
    if (ioctl(fd, RNDADDENTROPY_IOCTL, &info) != 0) rc = -1;
    if (rc == 0) {
        *what = "ioctl RNDRESEEDCRNG on /dev/urandom";
        if (ioctl(fd, RNDRESEEDCRNG_IOCTL) != 0 && errno != ENODATA) rc = -1;
    }
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* mkdir -p of path's parent directories (0755); the path itself is left alone. */
static int make_parents(const char *path) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *slash = strchr(dir + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
        *slash = '/';
    }
    return 0;
}

/* Writes the spec's "file" records, each with exactly its mode (not masked by the umask). */
static void write_user_files(const struct spec *s) {
    for (size_t i = 0; i < s->nfiles; i++) {
        const struct spec_file *f = &s->files[i];
        if (make_parents(f->path) != 0) fail("file %s: creating its directories: %s", f->path, strerror(errno));
        int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) fail("file %s: %s", f->path, strerror(errno));
        if (write_all(fd, f->data, f->length) != 0 || fchmod(fd, f->mode) != 0 || close(fd) != 0)
            fail("file %s: writing: %s", f->path, strerror(errno));
    }
}

static void sleep_ms(unsigned ms);

/* The part of the kernel's struct statx that init reads (its layout is the kernel's ABI; musl 1.2.3 lacks it). */
struct kstatx {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, spare0;
    uint64_t ino, size, blocks, attributes_mask;
    unsigned char rest[256 - 64];
};
#define KSTATX_BASIC_STATS 0x7ffu
#define KSTATX_ATTR_DAX 0x00200000u

/* statx(2) of path, not following a last symlink: 0, or -1 with errno set. */
static int kstatx_of(const char *path, struct kstatx *st) {
    memset(st, 0, sizeof *st);
    return (int)syscall(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, KSTATX_BASIC_STATS, st);
}

/* The names in dir, space-separated and cut to fit out (for error messages). */
static void list_directory(const char *dir, char *out, size_t len) {
    size_t used = 0;
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(out, len, "(%s: %s)", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && used + 1 < len) {
        if (e->d_name[0] == '.') continue;
        int n = snprintf(out + used, len - used, "%s%s", used ? " " : "", e->d_name);
        if (n < 0) break;
        used += (size_t)n;
    }
    closedir(d);
    if (used == 0) snprintf(out, len, "none");
}

/* Opens the pmem device whose EROFS superblock holds uuid, waiting (bounded) for the asynchronously
 * probed devices to appear; -1 when none does. */
static int open_image_device(const unsigned char uuid[16], char *device, size_t device_len, unsigned *seen) {
    uint64_t deadline = monotonic_ms() + IMAGE_WAIT_MS;
    for (;;) {
        *seen = 0;
        DIR *dir = opendir("/sys/block");
        struct dirent *e;
        while (dir != NULL && (e = readdir(dir)) != NULL) {
            if (strncmp(e->d_name, "pmem", 4) != 0) continue;
            (*seen)++;
            snprintf(device, device_len, "/dev/%.32s", e->d_name);
            int fd = open(device, O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            unsigned char got[16];
            if (pread(fd, got, sizeof got, EROFS_UUID_OFFSET) == (ssize_t)sizeof got && memcmp(got, uuid, 16) == 0) {
                closedir(dir);
                return fd;
            }
            close(fd);
        }
        if (dir != NULL) closedir(dir);
        if (monotonic_ms() >= deadline) return -1;
        sleep_ms(5);
    }
}

/* Every regular file in the root of image k (mounted at dir) is read through DAX: its pages are the host's. */
static void check_image_dax(size_t k, const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) fail("image %zu: %s: %s", k, dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct kstatx st;
        if (kstatx_of(path, &st) != 0) fail("image %zu: %s: %s", k, path, strerror(errno));
        if (S_ISREG(st.mode) && !(st.attributes & KSTATX_ATTR_DAX))
            fail("image %zu: %s is not read through DAX (its pages would be copied into guest RAM)", k, path);
    }
    closedir(d);
}

/* Mounts the spec's images (read-only, DAX; check_image_dax) and binds each mapped file at its path, after
 * checking it is the file the host put in. */
static void mount_images(const struct spec *s) {
    if (s->nimages == 0) return;
    must_mkdir(IMAGES_DIR, 0755);
    for (size_t k = 0; k < s->nimages; k++) {
        char device[64], target[64];
        unsigned seen;
        int fd = open_image_device(s->images[k], device, sizeof device, &seen);
        if (fd < 0) {
            char nd[160], drivers[160], blocks[160], bound[96];
            list_directory("/sys/bus/nd/devices", nd, sizeof nd);
            list_directory("/sys/bus/nd/drivers", drivers, sizeof drivers);
            list_directory("/sys/class/block", blocks, sizeof blocks);
            ssize_t n = readlink("/sys/bus/nd/devices/namespace0.0/driver", bound, sizeof bound - 1);
            bound[n > 0 ? n : 0] = '\0';
            fail("image %zu: no pmem device holds it (%u pmem device(s) seen after %u ms; nvdimm devices: %s; drivers: %s;"
                 " namespace0.0 bound to: %s; block devices: %s; the kernel needs virtio-pmem: use Arrow's guest kernel)",
                 k, seen, IMAGE_WAIT_MS, nd, drivers, n > 0 ? bound : "nothing", blocks);
        }
        close(fd);
        snprintf(target, sizeof target, IMAGES_DIR "/%zu", k);
        must_mkdir(target, 0755);
        if (mount(device, target, "erofs", MS_RDONLY | MS_NOSUID | MS_NODEV, "dax=always") != 0)
            fail("image %zu: mount %s on %s: %s", k, device, target, strerror(errno));
        check_image_dax(k, target);
    }
    for (size_t i = 0; i < s->nmapped; i++) {
        const struct spec_mapped *m = &s->mapped[i];
        char source[PATH_MAX];
        snprintf(source, sizeof source, IMAGES_DIR "/%u/%s", m->image, m->name);
        struct kstatx st;
        if (kstatx_of(source, &st) != 0) fail("image %u: %s for %s: %s", m->image, m->name, m->path, strerror(errno));
        if (!S_ISREG(st.mode) || st.size != m->size)
            fail("image %u: %s for %s is not a regular file of %llu bytes (it has %llu)", m->image, m->name, m->path,
                 (unsigned long long)m->size, (unsigned long long)st.size);
        if (make_parents(m->path) != 0) fail("mapped %s: creating its directories: %s", m->path, strerror(errno));
        int fd = open(m->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
        if (fd < 0 || close(fd) != 0) fail("mapped %s: creating its mount point: %s", m->path, strerror(errno));
        if (mount(source, m->path, NULL, MS_BIND, NULL) != 0 ||
            mount(NULL, m->path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
            fail("mapped %s: bind-mounting %s: %s", m->path, source, strerror(errno));
    }
    mark("images-mounted");
}

/* The spec's clock and entropy, just before the app starts. */
static void apply_clock_and_entropy(const struct spec *s) {
    if (s->has_clock && set_realtime(s->clock_ns) != 0)
        fail("clock_settime(CLOCK_REALTIME, %llu ns): %s", (unsigned long long)s->clock_ns, strerror(errno));
    const char *what;
    if (s->entropy_len && add_entropy(s->entropy, s->entropy_len, &what) != 0)
        fail("entropy: %s: %s", what, strerror(errno));
}

/* Whether a TCP socket listens on local port `port`, by /proc/net/tcp and /proc/net/tcp6 (the
 * latter is missing in a kernel without IPv6). */
static int port_listening(unsigned port) {
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    enum { TCP_LISTEN = 0x0A };
    int found = 0;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0] && !found; i++) {
        FILE *f = fopen(tables[i], "re");
        if (f == NULL) continue;
        char line[256];
        if (fgets(line, sizeof line, f) != NULL) { /* the column titles */
            while (!found && fgets(line, sizeof line, f) != NULL) {
                unsigned local, state;
                found = sscanf(line, " %*u: %*[0-9A-F]:%x %*[0-9A-F]:%*x %x", &local, &state) == 2 && local == port &&
                        state == TCP_LISTEN;
            }
        }
        fclose(f);
    }
    return found;
}

/* ------------------------------------------------------------------------------------------ */
/* Virtio console: the app's stdio and init's control port ("stdio virtio", docs/virtio.md)    */

#define VPORT_DIR "/sys/class/virtio-ports"
#define VPORT_WAIT_MS 5000u
#define CONTROL_LINE_MAX 1024
#define LAUNCH_HEADER "spec "
#define LAUNCH_HEADER_MAX 32

/* Init waits at start for the first VPORT_REQUIRED ports; arrow.files is looked up when first used. */
enum { VPORT_STDIN, VPORT_STDOUT, VPORT_STDERR, VPORT_CONTROL, VPORT_FILES, VPORT_COUNT };
#define VPORT_REQUIRED VPORT_FILES
static const char *const VPORT_NAMES[VPORT_COUNT] = {"arrow.stdin", "arrow.stdout", "arrow.stderr",
                                                     "arrow.control", "arrow.files"};
static char vport_node[VPORT_COUNT][64]; /* "/dev/vport<d>p<n>" once found by name, else empty */
static int vport_stdio;                  /* the app's process attaches the ports as fds 0..2 */
static int control_fd = -1;
static int control_signal_fd = -1;
static char control_line[CONTROL_LINE_MAX];
static size_t control_len;

static void sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One pass over the virtio ports: notes the node of each of ours whose name has arrived (the
 * name file appears when the driver handles the host's PORT_NAME). Returns how many are known. */
static int scan_vports(void) {
    DIR *dir = opendir(VPORT_DIR);
    if (dir != NULL) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strncmp(e->d_name, "vport", 5) != 0 || strlen(e->d_name) > 32) continue;
            char path[96], name[64];
            snprintf(path, sizeof path, VPORT_DIR "/%.32s/name", e->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            ssize_t n = read(fd, name, sizeof name - 1);
            close(fd);
            if (n <= 0) continue;
            name[n] = '\0';
            name[strcspn(name, "\n")] = '\0';
            for (int i = 0; i < VPORT_COUNT; i++)
                if (strcmp(name, VPORT_NAMES[i]) == 0)
                    snprintf(vport_node[i], sizeof vport_node[i], "/dev/%.32s", e->d_name);
        }
        closedir(dir);
    }
    int found = 0;
    for (int i = 0; i < VPORT_REQUIRED; i++) found += vport_node[i][0] != '\0';
    return found;
}

/* Waits until the host ends of fds[0..count) are connected: a virtio port polls POLLHUP until
 * the driver has handled the host's PORT_OPEN 1. Returns 0, or -1 with errno set. */
static int await_host(const int *fds, int count, uint64_t deadline) {
    for (;;) {
        int hup = 0;
        for (int i = 0; i < count; i++) {
            struct pollfd p = {fds[i], 0, 0};
            if (poll(&p, 1, 0) < 0 && errno != EINTR) return -1;
            if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) hup = 1;
        }
        if (!hup) return 0;
        if (monotonic_ms() >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        sleep_ms(1);
    }
}

static int files_port_open(unsigned wait_ms);

/* PID 1, before the app starts: finds the four ports and opens the control port. */
static void setup_virtio_stdio(void) {
    uint64_t deadline = monotonic_ms() + VPORT_WAIT_MS;
    while (scan_vports() < VPORT_REQUIRED) {
        if (monotonic_ms() >= deadline) {
            char missing[128] = "";
            for (int i = 0; i < VPORT_REQUIRED; i++)
                if (vport_node[i][0] == '\0')
                    snprintf(missing + strlen(missing), sizeof missing - strlen(missing), " %s", VPORT_NAMES[i]);
            fail("virtio console ports not found within %u ms:%s (is the virtio console on the kernel command line?)",
                 VPORT_WAIT_MS, missing);
        }
        sleep_ms(1);
    }
    control_fd = open(vport_node[VPORT_CONTROL], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (control_fd < 0) fail("open %s (%s): %s", vport_node[VPORT_CONTROL], VPORT_NAMES[VPORT_CONTROL], strerror(errno));
    /* The control port is announced last: once its host end is connected, so are the others. */
    if (await_host(&control_fd, 1, monotonic_ms() + VPORT_WAIT_MS) != 0)
        fail("virtio console: the host end of %s did not connect: %s", VPORT_NAMES[VPORT_CONTROL], strerror(errno));
    vport_stdio = 1;
    files_port_open(0); /* if announced already (see "Copy-out") */
}

/* In the app's process before execve: the ports become fds 0, 1 and 2 (with stderr_to_stdout fd 2 is
 * a duplicate of fd 1, as a shell's 2>&1 makes it). Returns 0, or -1 with errno and *which (the port
 * that failed). */
static int attach_virtio_stdio(int stderr_to_stdout, int *which) {
    static const int flags[3] = {O_RDONLY, O_WRONLY, O_WRONLY};
    int ports = stderr_to_stdout ? 2 : 3;
    for (int i = 0; i < ports; i++) {
        *which = i;
        int fd = open(vport_node[i], flags[i]); /* fds 0..2 are taken (the console): fd > 2 */
        if (fd < 0) return -1;
        if (dup2(fd, i) < 0) return -1;
        close(fd);
    }
    *which = VPORT_STDERR;
    if (stderr_to_stdout && dup2(1, 2) < 0) return -1;
    static const int out[2] = {1, 2};
    *which = VPORT_STDOUT;
    return await_host(out, stderr_to_stdout ? 1 : 2, monotonic_ms() + VPORT_WAIT_MS);
}

/* ------------------------------------------------------------------------------------------ */
/* Copy-out: guest files to the host over arrow.files (docs/virtio.md, "Files port")           */
/*
 * The host asks with the control line "copy-out <id 1..2^32-1> <max bytes> <absolute path>"; after the
 * app ended, init sends each "copy-out" path of the spec (id 0) within "copy-out-max" bytes in all.
 * A copy is a run of frames on arrow.files: one byte type, le32 id, le32 payload length, payload:
 *   B  begin: the path asked for
 *   D  a directory: le32 mode, its path relative to the root ("" for the root itself)
 *   F  a regular file: le32 mode, relative path; its bytes follow in C frames
 *   C  content of the last F, at most COPY_OUT_CHUNK bytes
 *   L  a symbolic link: relative path, NUL, target
 *   E  end: le32 errno (0: the copy is whole), then a message
 * Parents come before what they hold. The root is followed if it is a link; below it links are sent
 * as links, other kinds (devices, FIFOs, sockets) and other file systems (mount points, like cp -x)
 * are skipped. More than <max> bytes of file content ends the copy with EFBIG.
 */
#define COPY_OUT_COMMAND "copy-out "
#define COPY_OUT_CHUNK 65536u
#define COPY_OUT_DEPTH_MAX 64
#define COPY_OUT_MESSAGE_MAX 256

static int files_fd = -1;
static int files_broken; /* the port is missing or a write failed: copies are abandoned */

struct copy_out {
    uint32_t id;
    uint64_t max;  /* content bytes allowed */
    uint64_t sent; /* content bytes sent */
    dev_t dev;     /* the root's file system: the walk stays on it */
    char path[PATH_MAX]; /* absolute path of the entry at hand */
    size_t root_len;     /* path[0..root_len) is the root ("/" has 0) */
    int err;             /* errno of the failure; 0 while all is well */
    char message[COPY_OUT_MESSAGE_MAX];
};

/* Opens arrow.files unless open, looking for it up to wait_ms; returns 0, or -1. Init opens it as soon
 * as the ports are set up (and keeps it: a port opens once at a time, so the app cannot take it), else
 * on first use. */
static int files_port_open(unsigned wait_ms) {
    if (files_fd >= 0) return 0;
    uint64_t deadline = monotonic_ms() + wait_ms;
    while (vport_node[VPORT_FILES][0] == '\0') {
        scan_vports();
        if (vport_node[VPORT_FILES][0] != '\0' || monotonic_ms() >= deadline) break;
        sleep_ms(1);
    }
    if (vport_node[VPORT_FILES][0] == '\0') return -1;
    files_fd = open(vport_node[VPORT_FILES], O_WRONLY | O_CLOEXEC);
    if (files_fd >= 0 && await_host(&files_fd, 1, monotonic_ms() + VPORT_WAIT_MS) == 0) return 0;
    if (files_fd >= 0) close(files_fd);
    files_fd = -1;
    return -1;
}

static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* One frame whose payload is a then b. Returns 0, or -1 when the port is broken. */
static int copy_frame(char type, uint32_t id, const void *a, size_t alen, const void *b, size_t blen) {
    unsigned char header[9];
    if (files_broken || files_port_open(VPORT_WAIT_MS) != 0) {
        files_broken = 1;
        return -1;
    }
    header[0] = (unsigned char)type;
    put_le32(header + 1, id);
    put_le32(header + 5, (uint32_t)(alen + blen));
    if (write_all(files_fd, (const char *)header, sizeof header) == 0 && write_all(files_fd, a, alen) == 0 &&
        write_all(files_fd, b, blen) == 0)
        return 0;
    files_broken = 1;
    return -1;
}

static int copy_entry_frame(struct copy_out *c, char type, unsigned mode, const char *rel) {
    unsigned char m[4];
    put_le32(m, mode);
    return copy_frame(type, c->id, m, sizeof m, rel, strlen(rel));
}

static int copy_fail(struct copy_out *c, int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
    c->err = err;
    return -1;
}

static const char *copy_relative(const struct copy_out *c) {
    return c->path[c->root_len] == '/' ? c->path + c->root_len + 1 : "";
}

static int copy_too_big(struct copy_out *c) {
    return copy_fail(c, EFBIG, "%s: more than the limit of %llu bytes", c->path, (unsigned long long)c->max);
}

static int copy_file(struct copy_out *c, unsigned mode, off_t size) {
    static char chunk[COPY_OUT_CHUNK];
    if ((uint64_t)size > c->max - c->sent) return copy_too_big(c);
    int fd = open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* O_NONBLOCK: a FIFO swapped in does not block */
    if (fd < 0) return copy_fail(c, errno, "open %s: %s", c->path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
                 ? copy_fail(c, EAGAIN, "%s changed while it was copied", c->path)
                 : copy_entry_frame(c, 'F', mode, copy_relative(c));
    while (rc == 0) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = copy_fail(c, errno, "read %s: %s", c->path, strerror(errno));
        else if (n == 0) break;
        else if ((uint64_t)n > c->max - c->sent) rc = copy_too_big(c);
        else {
            c->sent += (uint64_t)n;
            rc = copy_frame('C', c->id, chunk, (size_t)n, NULL, 0);
        }
    }
    close(fd);
    return rc;
}

static int copy_entry(struct copy_out *c, int depth);

static int copy_directory(struct copy_out *c, unsigned mode, int depth) {
    if (depth >= COPY_OUT_DEPTH_MAX) return copy_fail(c, ELOOP, "%s: deeper than %d levels", c->path, COPY_OUT_DEPTH_MAX);
    if (copy_entry_frame(c, 'D', mode, copy_relative(c)) != 0) return -1;
    DIR *dir = opendir(c->path);
    if (dir == NULL) return copy_fail(c, errno, "opendir %s: %s", c->path, strerror(errno));
    size_t len = strlen(c->path);
    size_t base = len == 1 ? 0 : len; /* the children of "/" are "/<name>" */
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        size_t n = strlen(e->d_name);
        if (base + 1 + n >= sizeof c->path) {
            rc = copy_fail(c, ENAMETOOLONG, "%s/%s: longer than PATH_MAX", c->path, e->d_name);
            break;
        }
        c->path[base] = '/';
        memcpy(c->path + base + 1, e->d_name, n + 1);
        rc = copy_entry(c, depth + 1);
        c->path[len] = '\0';
    }
    if (rc == 0 && errno != 0) rc = copy_fail(c, errno, "readdir %s: %s", c->path, strerror(errno));
    closedir(dir);
    return rc;
}

static int copy_entry(struct copy_out *c, int depth) {
    struct stat st;
    if ((depth == 0 ? stat(c->path, &st) : lstat(c->path, &st)) != 0) {
        if (depth > 0 && errno == ENOENT) return 0; /* gone while the walk went on */
        return copy_fail(c, errno, "%s: %s", c->path, strerror(errno));
    }
    if (depth == 0) c->dev = st.st_dev;
    else if (st.st_dev != c->dev) return 0;
    unsigned mode = (unsigned)st.st_mode & 07777u;
    if (S_ISREG(st.st_mode)) return copy_file(c, mode, st.st_size);
    if (S_ISDIR(st.st_mode)) return copy_directory(c, mode, depth);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(c->path, target, sizeof target);
        if (n < 0 || (size_t)n == sizeof target)
            return copy_fail(c, n < 0 ? errno : ENAMETOOLONG, "readlink %s: %s", c->path,
                             strerror(n < 0 ? errno : ENAMETOOLONG));
        const char *rel = copy_relative(c);
        return copy_frame('L', c->id, rel, strlen(rel) + 1, target, (size_t)n);
    }
    if (depth == 0) return copy_fail(c, EINVAL, "%s is not a regular file, directory or symbolic link", c->path);
    return 0;
}

/* Sends one copy of root (see above), err preset for a request that cannot be served. Returns the
 * content bytes of a whole copy, else 0. */
static uint64_t copy_out(uint32_t id, uint64_t max, const char *root, int err) {
    struct copy_out c;
    memset(&c, 0, sizeof c);
    c.id = id;
    c.max = max;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/') n--;
    if (err != 0) copy_fail(&c, err, "malformed request");
    else if (root[0] != '/' || n >= sizeof c.path) copy_fail(&c, EINVAL, "'%.64s' is not an absolute path shorter than PATH_MAX", root);
    memcpy(c.path, root, n < sizeof c.path ? n : 0);
    c.root_len = n == 1 ? 0 : n;
    if (copy_frame('B', id, root, strlen(root), NULL, 0) != 0) return 0;
    if (c.err == 0) copy_entry(&c, 0);
    unsigned char e[4];
    put_le32(e, (uint32_t)c.err);
    copy_frame('E', id, e, sizeof e, c.message, c.err != 0 ? strlen(c.message) : 0);
    return c.err == 0 && !files_broken ? c.sent : 0;
}

/* The control line "copy-out <id> <max bytes> <path>" (args: what follows "copy-out "). A line
 * without a valid id is ignored (there is no one to answer). */
static void copy_out_command(const char *args) {
    char number[24];
    const char *sp1 = strchr(args, ' ');
    const char *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
    uint64_t id, max;
    if (sp2 == NULL || (size_t)(sp1 - args) >= sizeof number || (size_t)(sp2 - sp1 - 1) >= sizeof number) return;
    memcpy(number, args, (size_t)(sp1 - args));
    number[sp1 - args] = '\0';
    if (parse_decimal(number, UINT32_MAX, &id) != 0 || id == 0) return;
    memcpy(number, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    number[sp2 - sp1 - 1] = '\0';
    int bad = parse_decimal(number, COPY_OUT_MAX_BYTES, &max) != 0;
    copy_out((uint32_t)id, bad ? 0 : max, sp2 + 1, bad ? EINVAL : 0);
}

/* After the app ended: the spec's copy-out paths, within copy-out-max content bytes in all. */
static void copy_out_on_exit(const struct spec *s) {
    uint64_t left = s->copy_out_max;
    for (size_t i = 0; i < s->ncopy_out && !files_broken; i++) left -= copy_out(0, left, s->copy_out[i], 0);
}

/* `arrow-init --check-copy-out MAX PATH` (host-side, for tests): the frames of copy 1 of PATH on stdout. */
static int check_copy_out_main(const char *max, const char *path) {
    uint64_t limit;
    if (parse_decimal(max, COPY_OUT_MAX_BYTES, &limit) != 0) {
        fprintf(stderr, "arrow-init: copy-out limit '%s' is not a decimal\n", max);
        return 2;
    }
    files_fd = 1;
    copy_out(1, limit, path, 0);
    return files_broken ? 1 : 0;
}

/* Runs one control line: "signal <n>" sends signal n (1..64) to the app; "clock-realtime-ns <ns>"
 * sets the wall clock; "entropy <hex>" mixes host randomness in and reseeds. Others, and
 * failures (there is no one to tell), are ignored. */
static void control_command(const char *line, pid_t app) {
    uint64_t v;
    unsigned char bytes[ENTROPY_MAX_BYTES];
    size_t n;
    const char *what;
    if (strncmp(line, "signal ", 7) == 0 && parse_decimal(line + 7, 64, &v) == 0 && v >= 1) kill(app, (int)v);
    else if (strncmp(line, "clock-realtime-ns ", 18) == 0 && parse_decimal(line + 18, CLOCK_NS_MAX, &v) == 0) set_realtime(v);
    else if (strncmp(line, "entropy ", 8) == 0 && parse_entropy(line + 8, bytes, &n) == 0) add_entropy(bytes, n, &what);
    else if (strncmp(line, COPY_OUT_COMMAND, 9) == 0) copy_out_command(line + 9);
}

static void control_close(void) {
    close(control_fd);
    control_fd = -1;
}

/* Reads what the host sent on the control port and runs each complete line. */
static void control_read(pid_t app) {
    for (;;) {
        ssize_t n = read(control_fd, control_line + control_len, sizeof control_line - control_len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) { /* the host closed the port: no more commands */
            control_close();
            return;
        }
        control_len += (size_t)n;
        char *nl;
        while ((nl = memchr(control_line, '\n', control_len)) != NULL) {
            *nl = '\0';
            control_command(control_line, app);
            size_t used = (size_t)(nl - control_line) + 1;
            memmove(control_line, nl + 1, control_len - used);
            control_len -= used;
        }
        if (control_len == sizeof control_line) control_len = 0; /* an overlong line is dropped */
    }
}

/* sigwaitinfo(set, info) that also serves the control port while it waits. With timeout_ms >= 0
 * it returns -1 after about that long, or once it has served the control port, without a signal. */
static int wait_signal(const sigset_t *set, siginfo_t *info, pid_t app, int timeout_ms) {
    if (control_fd >= 0 && control_signal_fd < 0) {
        control_signal_fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (control_signal_fd < 0) control_close(); /* without signalfd: signals only */
    }
    while (control_fd >= 0) {
        struct pollfd p[2] = {{control_signal_fd, POLLIN, 0}, {control_fd, POLLIN, 0}};
        int ready = poll(p, 2, timeout_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            control_close();
            break;
        }
        if (p[1].revents != 0) control_read(app);
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(control_signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                memset(info, 0, sizeof *info);
                info->si_signo = (int)si.ssi_signo;
                return (int)si.ssi_signo;
            }
        }
        if (timeout_ms >= 0) return -1;
    }
    if (timeout_ms < 0) return sigwaitinfo(set, info);
    struct timespec ts = {0, (long)timeout_ms * 1000000L};
    return sigtimedwait(set, info, &ts);
}

/* Reads exactly n bytes from the control port (non-blocking: polls). Returns 0, or -1 with errno
 * (0 when the host closed the port). */
static int control_read_exact(char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(control_fd, buf + got, n - got);
        if (r > 0) {
            got += (size_t)r;
        } else if (r == 0) {
            errno = 0;
            return -1;
        } else if (errno == EAGAIN) {
            struct pollfd p = {control_fd, POLLIN, 0};
            if (poll(&p, 1, -1) < 0 && errno != EINTR) return -1;
        } else if (errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

static _Noreturn void fail_launch_read(void) {
    fail("reading the launch spec from %s: %s", VPORT_NAMES[VPORT_CONTROL],
         errno != 0 ? strerror(errno) : "the host closed the port");
}

/* A template at its template point: waits for the launch message "spec <length>\n" and its
 * <length> spec bytes on the control port (docs/virtio.md, "Control port"). The header is read
 * a byte at a time, so nothing after the spec is taken from the port. Returns the spec bytes. */
static char *receive_launch(size_t *len) {
    char header[LAUNCH_HEADER_MAX + 1];
    size_t n = 0;
    for (;;) {
        if (control_read_exact(header + n, 1) != 0) fail_launch_read();
        if (header[n] == '\n') break;
        if (++n == LAUNCH_HEADER_MAX)
            fail("malformed spec from %s: no launch header line within %u bytes", VPORT_NAMES[VPORT_CONTROL],
                 LAUNCH_HEADER_MAX);
    }
    header[n] = '\0';
    uint64_t length;
    if (strncmp(header, LAUNCH_HEADER, strlen(LAUNCH_HEADER)) != 0 ||
        parse_decimal(header + strlen(LAUNCH_HEADER), SPEC_MAX_BYTES, &length) != 0)
        fail("malformed spec from %s: launch header '%s' is not '" LAUNCH_HEADER "<length 0..%u>'",
             VPORT_NAMES[VPORT_CONTROL], header, SPEC_MAX_BYTES);
    char *buf = malloc((size_t)length + 1);
    if (buf == NULL) fail("out of memory for a launch spec of %llu bytes", (unsigned long long)length);
    if (control_read_exact(buf, (size_t)length) != 0) fail_launch_read();
    buf[length] = '\0';
    *len = (size_t)length;
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Starting and watching the app                                                               */

enum step { STEP_RLIMIT = 1, STEP_GROUPS, STEP_GID, STEP_UID, STEP_CWD, STEP_EXEC, STEP_OTHER, STEP_STDIO, STEP_CAPS };

/* Capabilities the app and everything it starts lose for good (dropped from the bounding set, so
 * no execve, not even of a setuid-root program, gives them back): with CAP_SYS_RAWIO a root app
 * could ioperm() the status port (or open /dev/port) and write its own outcome; with
 * CAP_SYS_PTRACE it could attach to init (which is not dumpable) and make init write it. */
#ifndef CAP_SYS_RAWIO
#define CAP_SYS_RAWIO 17
#endif
#ifndef CAP_SYS_PTRACE
#define CAP_SYS_PTRACE 19
#endif
static const struct {
    int cap;
    const char *name;
} DROPPED_CAPS[] = {{CAP_SYS_RAWIO, "CAP_SYS_RAWIO"}, {CAP_SYS_PTRACE, "CAP_SYS_PTRACE"}};
#define DROPPED_CAPS_COUNT (sizeof DROPPED_CAPS / sizeof DROPPED_CAPS[0])

struct child_report {
    int step;
    int err;
    int detail; /* rlimit index for STEP_RLIMIT, port for STEP_STDIO */
};

static const int FORWARDED[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define FORWARDED_COUNT (sizeof FORWARDED / sizeof FORWARDED[0])

static _Noreturn void child_fail(int fd, int step, int err, int detail) {
    struct child_report r = {step, err, detail};
    ssize_t ignored = write(fd, &r, sizeof r);
    (void)ignored;
    _exit(127);
}

static _Noreturn void run_child(const struct spec *s, int report_fd) {
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) child_fail(report_fd, STEP_OTHER, errno, 0);
    ioperm(STATUS_PORT, STATUS_PORT_COUNT, 0); /* the status ports are init's alone: the app must not forge lines */
    for (size_t i = 0; i < DROPPED_CAPS_COUNT; i++)
        if (prctl(PR_CAPBSET_DROP, DROPPED_CAPS[i].cap, 0, 0, 0) != 0) child_fail(report_fd, STEP_CAPS, errno, (int)i);
    setsid();
    int port;
    if (vport_stdio && attach_virtio_stdio(s->stderr_to_stdout, &port) != 0) child_fail(report_fd, STEP_STDIO, errno, port);
    for (size_t i = 0; i < s->nrlimits; i++)
        if (setrlimit(RLIMITS[s->rlimits[i].index].resource, &s->rlimits[i].value) != 0)
            child_fail(report_fd, STEP_RLIMIT, errno, (int)s->rlimits[i].index);
    if (s->has_gid || s->has_uid) {
        if (setgroups(0, NULL) != 0) child_fail(report_fd, STEP_GROUPS, errno, 0);
    }
    if (s->has_gid && setgid(s->gid) != 0) child_fail(report_fd, STEP_GID, errno, 0);
    if (s->has_uid && setuid(s->uid) != 0) child_fail(report_fd, STEP_UID, errno, 0);
    if (chdir(s->cwd ? s->cwd : "/") != 0) child_fail(report_fd, STEP_CWD, errno, 0);
    execve(s->exec, s->argv, s->envp);
    child_fail(report_fd, STEP_EXEC, errno, 0);
}

static _Noreturn void report_start_failure(const struct spec *s, const struct child_report *r) {
    const char *why = strerror(r->err);
    switch (r->step) {
    case STEP_RLIMIT:
        status("start-failed", "setrlimit %s: %s", RLIMITS[r->detail].name, why);
        break;
    case STEP_GROUPS: status("start-failed", "setgroups: %s", why); break;
    case STEP_CAPS: status("start-failed", "dropping %s from the app's capabilities: %s", DROPPED_CAPS[r->detail].name, why); break;
    case STEP_GID: status("start-failed", "setgid %llu: %s", (unsigned long long)s->gid, why); break;
    case STEP_UID: status("start-failed", "setuid %llu: %s", (unsigned long long)s->uid, why); break;
    case STEP_STDIO:
        status("start-failed", "virtio console: %s %s (%s): %s",
               r->err == ETIMEDOUT ? "the host end did not connect to" : "opening", vport_node[r->detail],
               VPORT_NAMES[r->detail], why);
        break;
    case STEP_CWD:
        status("start-failed", "chdir %s: %s", s->cwd ? s->cwd : "/", why);
        break;
    case STEP_EXEC: {
        struct stat st;
        int exists = stat(s->exec, &st) == 0;
        if ((r->err == ENOENT || r->err == ENOTDIR) && !exists) {
            status("not-found", "%s: %s", s->exec, why);
        } else if (r->err == ENOENT) {
            status("exec-format",
                   "%s: its interpreter (ELF PT_INTERP or #! line) is missing in the guest: link "
                   "the program statically", s->exec);
        } else if (r->err == EACCES || r->err == EPERM) {
            status("not-executable", "%s: %s%s", s->exec, why,
                   exists && !S_ISREG(st.st_mode) ? " (not a regular file)"
                   : exists && (st.st_mode & 0111) == 0 ? " (no execute permission)" : "");
        } else if (r->err == ENOEXEC || r->err == ELIBBAD) {
            status("exec-format", "%s: %s (not an x86-64 ELF program?)", s->exec, why);
        } else {
            status("start-failed", "execve %s: %s", s->exec, why);
        }
        break;
    }
    default: status("start-failed", "preparing %s: %s", s->exec, why); break;
    }
    halt_vm(0);
}

/* The app runs only on an image that arrived whole: see "Image check" above. */
static void check_image(void) {
    char msg[768];
    struct manifest_totals totals;
    if (manifest_verify("", &totals, msg, sizeof msg) != 0) {
        struct sysinfo si;
        struct statfs fs;
        unsigned long long unit = 1;
        unsigned long long ram = 0, free_ram = 0;
        if (sysinfo(&si) == 0) {
            unit = si.mem_unit ? si.mem_unit : 1;
            ram = (unsigned long long)si.totalram * unit >> 20;
            free_ram = (unsigned long long)si.freeram * unit >> 20;
        }
        if (statfs("/", &fs) == 0 && fs.f_blocks > 0) {
            unsigned long long bs = (unsigned long long)fs.f_bsize;
            status("image-incomplete", "%s; guest RAM %llu MiB (%llu MiB free), root file system %llu of %llu MiB used",
                   msg, ram, free_ram, (unsigned long long)(fs.f_blocks - fs.f_bfree) * bs >> 20,
                   (unsigned long long)fs.f_blocks * bs >> 20);
        } else {
            status("image-incomplete", "%s; guest RAM %llu MiB (%llu MiB free)", msg, ram, free_ram);
        }
        halt_vm(0);
    }
    mark("image-checked");
}

static int check_image_main(const char *root) {
    char msg[768];
    struct manifest_totals totals;
    if (manifest_verify(root, &totals, msg, sizeof msg) != 0) {
        fprintf(stderr, "arrow-init: image incomplete: %s\n", msg);
        return 1;
    }
    printf("ok %llu %llu\n", totals.entries, totals.bytes);
    return fflush(stdout) == 0 ? 0 : 1;
}

static void noop_handler(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--check-spec") == 0) return check_spec_main(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--check-image") == 0) return check_image_main(argv[2]);
    if (argc == 4 && strcmp(argv[1], "--check-copy-out") == 0) return check_copy_out_main(argv[2], argv[3]);
    if (getpid() != 1) {
        fprintf(stderr, "arrow-init: runs only as PID 1 of an Arrow guest "
                        "(or: arrow-init --check-spec FILE | --check-image DIR | --check-copy-out MAX PATH)\n");
        return 2;
    }

    /* All signals blocked: init takes them one at a time with sigwaitinfo. Handlers make sure
     * the kernel queues them for PID 1, which otherwise drops signals left at SIG_DFL. */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = noop_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    for (size_t i = 0; i < FORWARDED_COUNT; i++) sigaction(FORWARDED[i], &sa, NULL);

    status_port_ok = ioperm(STATUS_PORT, STATUS_PORT_COUNT, 1) == 0;
    for (char **e = environ; *e != NULL; e++)
        if (strcmp(*e, BYTEWISE_STATUS_PARAMETER) == 0) status_bytewise = 1;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* no ptrace of init (and no /proc/1/mem) without CAP_SYS_PTRACE */
    mark("init-start");
    check_image();
    mount_all();
    setup_console();

    char err[512];
    size_t len;
    char *buf = read_file(SPEC_PATH, &len, err, sizeof err);
    if (buf == NULL) fail("%s", err);
    struct spec spec;
    if (parse_spec(buf, len, &spec) != 0) fail("malformed spec %s: %s", SPEC_PATH, spec_error);
    mount_images(&spec); /* a template's too: its clones share them */
    if (spec.template_init) {
        setup_virtio_stdio();
        mark("template-point"); /* the VMM freezes the template here; each clone goes on with its own spec */
        free(spec.envp);
        free(buf);
        buf = receive_launch(&len);
        if (parse_spec(buf, len, &spec) != 0) fail("malformed spec from %s: %s", VPORT_NAMES[VPORT_CONTROL], spec_error);
        if (spec.template_init || !spec.stdio_virtio || spec.nimages || spec.nmapped)
            fail("malformed spec from %s: a launch spec needs 'stdio virtio' and no 'template', 'image' or 'mapped'",
                 VPORT_NAMES[VPORT_CONTROL]);
    }
    if (!spec.stdio_virtio && console_raw_error != 0) /* the app's output would be changed on its way */
        fail("console /dev/console: cannot switch to raw mode: %s", strerror(console_raw_error));
    if (spec.hostname && sethostname(spec.hostname, strlen(spec.hostname)) != 0)
        fail("sethostname %s: %s", spec.hostname, strerror(errno));
    write_user_files(&spec); /* before the network's files: a user's /etc/hosts wins */
    setup_network(&spec.net, spec.hostname);
    if (spec.stdio_virtio && !vport_stdio) setup_virtio_stdio();
    apply_clock_and_entropy(&spec);

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) fail("pipe2: %s", strerror(errno));
    pid_t app = fork();
    if (app < 0) fail("fork: %s", strerror(errno));
    if (app == 0) {
        close(pipefd[0]);
        run_child(&spec, pipefd[1]);
    }
    close(pipefd[1]);
    struct child_report report;
    ssize_t got;
    do {
        got = read(pipefd[0], &report, sizeof report);
    } while (got < 0 && errno == EINTR);
    close(pipefd[0]);
    if (got == (ssize_t)sizeof report) {
        waitpid(app, NULL, 0);
        report_start_failure(&spec, &report);
    }
    if (got != 0) {
        kill(app, SIGKILL);
        fail("reading the start report of %s: %s", spec.exec,
             got < 0 ? strerror(errno) : "short read");
    }
    mark("app-exec");

    sigset_t waitset;
    sigemptyset(&waitset);
    sigaddset(&waitset, SIGCHLD);
    for (size_t i = 0; i < FORWARDED_COUNT; i++) sigaddset(&waitset, FORWARDED[i]);
    int app_status = 0;
    int app_done = 0;
    unsigned ready_port = spec.ready_port; /* watched until found */
    while (!app_done) {
        if (ready_port != 0 && port_listening(ready_port)) {
            mark("app-ready"); /* the VMM may freeze an app-point template here */
            ready_port = 0;
        }
        siginfo_t info;
        int sig = wait_signal(&waitset, &info, app, ready_port != 0 ? READY_POLL_MS : -1);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            pid_t p;
            int st;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p == app) {
                    app_status = st;
                    app_done = 1;
                }
            }
        } else {
            kill(app, sig);
        }
    }
    mark("app-exit");
    drain_console(); /* the app's output reaches the host before its status does */
    if (WIFEXITED(app_status)) status("exited", "%d", WEXITSTATUS(app_status));
    else if (WIFSIGNALED(app_status)) status("signaled", "%d", WTERMSIG(app_status));
    else status("start-failed", "app ended with wait status 0x%x", (unsigned)app_status);
    if (spec.ncopy_out > 0) {
        stop_leftovers(spec.grace_ms); /* the files stop changing */
        copy_out_on_exit(&spec);
    }
    halt_vm(spec.grace_ms);
}
