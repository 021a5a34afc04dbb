/*
 * Guest program for arrow-core's boot tests (tier 4): one static binary, behaviour by argv[1].
 *   guestapp hello ARGS...  prints "hello" and its arguments, exits 0
 *   guestapp exit N         exits with N
 *   guestapp signal N       kills itself with signal N
 *   guestapp sleep N        sleeps N seconds, exits 0
 *   guestapp echo-line      reads one line from stdin, prints "got: LINE", exits 0
 *   guestapp cpus           prints the number of online CPUs
 *   guestapp env NAME       prints NAME=value of one variable
 *   guestapp stderr         writes "to-stdout" to stdout and "to-stderr" to stderr
 *   guestapp alternate N    writes N lines, one write(2) each, "out I" to stdout for even I and
 *                           "err I" to stderr for odd I
 *   guestapp fork           starts a child that sleeps for ever, exits 5 before it
 *   guestapp streams N      writes N bytes to stdout and N to stderr, interleaved in chunks of
 *                           varying size; byte i of stream s (1, 2) is pattern(i, s), see below
 *   guestapp echo           copies stdin to stdout until end-of-file, exits 0
 *   guestapp echo-file      as echo; then writes /echo-file (64 KiB: zeros, with pattern(i, 3) in its
 *                           pages 1 and 9), reads it back and prints "file ok" (exits 0) or what
 *                           differs (exits 3)
 *   guestapp entropy        reports whether the kernel's random pool is ready at start, the
 *                           current hwrng, 64 bytes from /dev/hwrng, how long a blocking
 *                           getrandom(GRND_RANDOM) took, how long reading 32 bytes of
 *                           /dev/random took, and entropy_avail
 *   guestapp term-exit N    prints "waiting", waits for SIGTERM, prints "terminating", exits N
 *   guestapp udp-echo PORT  binds UDP PORT, prints "listening", sends the first datagram back to
 *                           its sender, prints "echoed: TEXT", exits 0
 * Failures (GuestFailureBootTest):
 *   guestapp sysrq-crash    writes 'c' to /proc/sysrq-trigger (a kernel panic); exits 3 if it returns
 *   guestapp kill-init N    sends SIGKILL to PID 1, prints "init alive after SIGKILL" if PID 1 still
 *                           exists 100 ms later, exits N
 *   guestapp fill-ram       touches 1 MiB after another, printing "filled N MiB" every 8 MiB, until
 *                           the kernel stops it; exits 3 if an allocation fails instead
 *   guestapp serial-flood   writes the line "f" to /dev/ttyS0 for ever (many lines for few bytes, as
 *                           the serial port is slow); exits 3 on an error
 *   guestapp hwrng-read N   reads N bytes from /dev/hwrng, prints "hwrng: N bytes in M ms", exits 0
 *
 * pattern(i, s) = ((uint32_t) i * 2654435761) >> 24 ^ (s * 0x5a), as a byte.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static unsigned char pattern(uint32_t i, int stream) {
    return (unsigned char)(((i * 2654435761u) >> 24) ^ (uint32_t)(stream * 0x5a));
}

static int write_all(int fd, const unsigned char *p, size_t n) {
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

/* stdout and stderr, N bytes each, alternating chunks of sizes that do not line up with pages. */
static int streams(long total) {
    static const size_t sizes[] = {1, 100, 4096, 32768, 65536, 7, 12345, 40000};
    static unsigned char buf[65536];
    long done[3] = {0, 0, 0};
    for (size_t k = 0; done[1] < total || done[2] < total; k++) {
        for (int s = 1; s <= 2; s++) {
            size_t n = sizes[(k + (size_t)s) % (sizeof sizes / sizeof sizes[0])];
            if ((long)n > total - done[s]) n = (size_t)(total - done[s]);
            for (size_t j = 0; j < n; j++) buf[j] = pattern((uint32_t)(done[s] + (long)j), s);
            if (n > 0 && write_all(s, buf, n) != 0) return 1;
            done[s] += (long)n;
        }
    }
    return 0;
}

static int echo(void) {
    static unsigned char buf[65536];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 1;
        if (n == 0) return 0;
        if (write_all(1, buf, (size_t)n) != 0) return 1;
    }
}

/* The byte at offset i of echo-file's file: zero but in its pages 1 and 9. */
static unsigned char file_byte(uint32_t i) {
    uint32_t page = i / 4096;
    return page == 1 || page == 9 ? pattern(i, 3) : 0;
}

static int echo_file(void) {
    if (echo() != 0) return 1;
    static unsigned char buf[65536];
    for (uint32_t i = 0; i < sizeof buf; i++) buf[i] = file_byte(i);
    int fd = open("/echo-file", O_CREAT | O_TRUNC | O_RDWR, 0600);
    if (fd < 0 || write_all(fd, buf, sizeof buf) != 0) {
        printf("file not written: %s\n", strerror(errno));
        return 3;
    }
    memset(buf, 0xee, sizeof buf);
    if (pread(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf) {
        printf("file not read back: %s\n", strerror(errno));
        return 3;
    }
    close(fd);
    for (uint32_t i = 0; i < sizeof buf; i++) {
        if (buf[i] != file_byte(i)) {
            printf("file differs at %u: %u, not %u\n", i, buf[i], file_byte(i));
            return 3;
        }
    }
    printf("file ok\n");
    return 0;
}

static void print_file(const char *label, const char *path) {
    char text[128] = "";
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, text, sizeof text - 1);
        text[n > 0 ? n : 0] = '\0';
        text[strcspn(text, "\n")] = '\0';
        close(fd);
    } else {
        snprintf(text, sizeof text, "(%s)", strerror(errno));
    }
    printf("%s: %s\n", label, text);
}

/* The context switches (voluntary + involuntary) of the kernel thread named comm so far; -1 if there is none. */
static long task_switches(const char *comm) {
    DIR *proc = opendir("/proc");
    struct dirent *e;
    long switches = -1;
    while (proc && switches < 0 && (e = readdir(proc)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[300], text[2048];
        snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, text, 63);
        close(fd);
        text[n > 0 ? n : 0] = '\0';
        text[strcspn(text, "\n")] = '\0';
        if (strcmp(text, comm) != 0) continue;
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        n = read(fd, text, sizeof text - 1);
        close(fd);
        text[n > 0 ? n : 0] = '\0';
        const char *v = strstr(text, "\nvoluntary_ctxt_switches:");
        const char *nv = strstr(text, "\nnonvoluntary_ctxt_switches:");
        if (v && nv) switches = atol(strchr(v, ':') + 1) + atol(strchr(nv, ':') + 1);
    }
    if (proc) closedir(proc);
    return switches;
}

static int entropy(void) {
    unsigned char buf[64];
    ssize_t r = getrandom(buf, 16, GRND_NONBLOCK);
    printf("getrandom-nonblock: %s\n", r == 16 ? "ok" : strerror(errno));
    print_file("hwrng-current", "/sys/class/misc/hw_random/rng_current");
    int fd = open("/dev/hwrng", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    int nonzero = 0;
    for (ssize_t i = 0; i < n; i++) nonzero |= buf[i];
    printf("hwrng-bytes: %zd%s\n", n, n > 0 && !nonzero ? " (all zero)" : "");
    if (fd >= 0) close(fd);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = getrandom(buf, 16, GRND_RANDOM);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("random-ms: %ld%s\n", (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000,
           r == 16 ? "" : " (failed)");
    /* what a program that knows nothing of getrandom() does: read /dev/random, which blocks until
       the pool is initialized */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fd = open("/dev/random", O_RDONLY);
    n = 0;
    while (fd >= 0 && n < 32) {
        ssize_t got = read(fd, buf + n, 32 - n);
        if (got <= 0) break;
        n += got;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (n == 32) {
        printf("dev-random: 32 bytes in %ld ms\n", (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    } else {
        printf("dev-random: (failed after %zd bytes: %s)\n", n, strerror(errno));
    }
    if (fd >= 0) close(fd);
    print_file("entropy-avail", "/proc/sys/kernel/random/entropy_avail");
    /* the hw_random core's thread: does it wake up again to fetch from the device? (the 6.1 kernel's does every
       max(1 s, uptime / 2); Arrow's guest kernel lets it sleep once the CRNG is seeded) */
    long before = task_switches("hwrng");
    sleep(3);
    long after = task_switches("hwrng");
    if (before < 0 || after < 0) {
        printf("hwrng-wakeups-3s: (no hwrng thread)\n");
    } else {
        printf("hwrng-wakeups-3s: %ld\n", after - before);
    }
    return 0;
}

static int udp_echo(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short) port),
                               .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (fd < 0 || bind(fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
        fprintf(stderr, "udp-echo: cannot bind port %d: %s\n", port, strerror(errno));
        return 3;
    }
    printf("listening\n");
    fflush(stdout);
    char buf[2048];
    struct sockaddr_in from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *) &from, &from_len);
    if (n < 0 || sendto(fd, buf, (size_t) n, 0, (struct sockaddr *) &from, from_len) != n) {
        fprintf(stderr, "udp-echo: %s\n", strerror(errno));
        return 4;
    }
    buf[n] = '\0';
    printf("echoed: %s\n", buf);
    return 0;
}

static long elapsed_ms(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static int sysrq_crash(void) {
    int fd = open("/proc/sysrq-trigger", O_WRONLY);
    if (fd < 0 || write(fd, "c", 1) != 1) {
        fprintf(stderr, "sysrq-crash: %s\n", strerror(errno));
        return 3;
    }
    fprintf(stderr, "sysrq-crash: the kernel went on\n");
    return 3;
}

static int kill_init(int code) {
    if (kill(1, SIGKILL) != 0) printf("kill(1, SIGKILL): %s\n", strerror(errno));
    struct timespec pause_100ms = {0, 100 * 1000 * 1000};
    nanosleep(&pause_100ms, NULL);
    if (kill(1, 0) == 0) printf("init alive after SIGKILL\n");
    return code;
}

/* The chain of fill_ram's blocks: reachable, so the compiler keeps every allocation and write. */
static void *volatile filled;

static int fill_ram(void) {
    const size_t mib = 1 << 20;
    for (long n = 1;; n++) {
        unsigned char *p = malloc(mib);
        if (p == NULL) {
            printf("allocation failed after %ld MiB\n", n - 1);
            return 3;
        }
        memset(p, (int) n, mib);
        *(void **) p = filled;
        filled = p;
        if (n % 8 == 0) {
            printf("filled %ld MiB\n", n);
            fflush(stdout);
        }
    }
}

static int serial_flood(void) {
    int fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr, "serial-flood: /dev/ttyS0: %s\n", strerror(errno));
        return 3;
    }
    static unsigned char lines[1024];
    for (size_t i = 0; i < sizeof lines; i += 2) {
        lines[i] = 'f';
        lines[i + 1] = '\n';
    }
    for (;;) {
        if (write_all(fd, lines, sizeof lines) != 0) {
            fprintf(stderr, "serial-flood: %s\n", strerror(errno));
            return 3;
        }
    }
}

static int hwrng_read(long total) {
    static unsigned char buf[4096];
    int fd = open("/dev/hwrng", O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "hwrng-read: /dev/hwrng: %s\n", strerror(errno));
        return 3;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long done = 0;
    while (done < total) {
        size_t want = total - done < (long) sizeof buf ? (size_t)(total - done) : sizeof buf;
        ssize_t n = read(fd, buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fprintf(stderr, "hwrng-read: %s after %ld bytes\n", n < 0 ? strerror(errno) : "end of file", done);
            return 3;
        }
        done += n;
    }
    printf("hwrng: %ld bytes in %ld ms\n", done, elapsed_ms(&t0));
    return 0;
}

static volatile sig_atomic_t terminated;

static void on_term(int sig) {
    (void)sig;
    terminated = 1;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "hello";
    if (strcmp(mode, "hello") == 0) {
        printf("hello");
        for (int i = 2; i < argc; i++) printf(" %s", argv[i]);
        printf("\n");
        return 0;
    }
    if (strcmp(mode, "exit") == 0 && argc > 2) return atoi(argv[2]);
    if (strcmp(mode, "signal") == 0 && argc > 2) {
        fflush(stdout);
        signal(atoi(argv[2]), SIG_DFL);
        kill(getpid(), atoi(argv[2]));
        pause();
        return 99;
    }
    if (strcmp(mode, "sleep") == 0 && argc > 2) {
        sleep((unsigned) atoi(argv[2]));
        return 0;
    }
    if (strcmp(mode, "echo-line") == 0) {
        char line[256];
        if (fgets(line, sizeof line, stdin) == NULL) return 1;
        line[strcspn(line, "\r\n")] = '\0';
        printf("got: %s\n", line);
        return 0;
    }
    if (strcmp(mode, "cpus") == 0) {
        printf("cpus: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
        return 0;
    }
    if (strcmp(mode, "env") == 0 && argc > 2) {
        const char *v = getenv(argv[2]);
        printf("%s=%s\n", argv[2], v ? v : "(unset)");
        return 0;
    }
    if (strcmp(mode, "stderr") == 0) {
        printf("to-stdout\n");
        fflush(stdout);
        fprintf(stderr, "to-stderr\n");
        return 0;
    }
    if (strcmp(mode, "alternate") == 0 && argc > 2) {
        long n = atol(argv[2]);
        for (long i = 0; i < n; i++) {
            char line[32];
            int len = snprintf(line, sizeof line, "%s %ld\n", i % 2 == 0 ? "out" : "err", i);
            if (write_all(i % 2 == 0 ? 1 : 2, (const unsigned char *)line, (size_t)len) != 0) return 3;
        }
        return 0;
    }
    if (strcmp(mode, "fork") == 0) {
        pid_t child = fork();
        if (child == 0) {
            for (;;) pause();
        }
        printf("parent %s\n", child > 0 ? "forked" : "fork failed");
        return 5;
    }
    if (strcmp(mode, "streams") == 0 && argc > 2) return streams(atol(argv[2]));
    if (strcmp(mode, "echo") == 0) return echo();
    if (strcmp(mode, "echo-file") == 0) return echo_file();
    if (strcmp(mode, "entropy") == 0) return entropy();
    if (strcmp(mode, "udp-echo") == 0 && argc > 2) return udp_echo(atoi(argv[2]));
    if (strcmp(mode, "sysrq-crash") == 0) return sysrq_crash();
    if (strcmp(mode, "kill-init") == 0 && argc > 2) return kill_init(atoi(argv[2]));
    if (strcmp(mode, "fill-ram") == 0) return fill_ram();
    if (strcmp(mode, "serial-flood") == 0) return serial_flood();
    if (strcmp(mode, "hwrng-read") == 0 && argc > 2) return hwrng_read(atol(argv[2]));
    if (strcmp(mode, "term-exit") == 0 && argc > 2) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
        printf("waiting\n");
        fflush(stdout);
        while (!terminated) pause();
        printf("terminating\n");
        return atoi(argv[2]);
    }
    fprintf(stderr, "guestapp: unknown mode %s\n", mode);
    return 2;
}
