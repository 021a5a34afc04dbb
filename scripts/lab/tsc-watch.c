/*
 * The lab's TSC watch (started by scripts/lab/init): once a second, compares how far the lab's
 * TSC advanced with how far its kernel's raw monotonic clock advanced (HPET-based in the lab, see
 * scripts/lab/run), and reports any difference of more than a tenth of a second to the kernel's
 * log, where scripts/lab/boot-tests finds it. QEMU TCG's TSC for the lab has been seen to jump
 * minutes ahead (docs/lab.md); this records when and by how much.
 *
 *   tsc-watch TSC_KHZ
 *
 * Quiet otherwise: one line to the kernel's log on start, and one per jump.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

enum { REPORT_NS = 100 * 1000 * 1000 };

static int kmsg = -1;

/* One line to the kernel's log (warning level), or to stderr when that cannot be opened. */
static void report(const char *format, ...) {
    char line[256];
    int n = snprintf(line, sizeof line, "<4>arrow tsc-watch: ");
    va_list args;
    va_start(args, format);
    n += vsnprintf(line + n, sizeof line - (size_t)n, format, args);
    va_end(args);
    if (n >= (int)sizeof line) n = (int)sizeof line - 1;
    if (kmsg < 0 || write(kmsg, line, (size_t)n) < 0) fprintf(stderr, "%s\n", line + 3);
}

static int64_t raw_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_RAW, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/*
 * The clock and the TSC at one moment: the TSC is read on both sides of the clock, and a pair whose
 * two TSC reads lie more than a millisecond apart (this program was preempted in between) is
 * read again, so that a pause is never taken for a jump.
 */
static void sample(long khz, int64_t *ns, uint64_t *tsc) {
    for (int tries = 0;; tries++) {
        uint64_t before = __rdtsc();
        *ns = raw_ns();
        uint64_t after = __rdtsc();
        *tsc = before + (after - before) / 2;
        if (after - before <= (uint64_t)khz || tries == 100) return;
    }
}

int main(int argc, char **argv) {
    char *end = NULL;
    long khz = argc == 2 ? strtol(argv[1], &end, 10) : 0;
    if (khz <= 0 || end == NULL || *end != '\0') {
        fprintf(stderr, "usage: tsc-watch TSC_KHZ (a positive number of kHz)\n");
        return 2;
    }
    kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    report("watching the TSC (%ld kHz) against CLOCK_MONOTONIC_RAW", khz);
    int64_t last_ns;
    uint64_t last_tsc;
    sample(khz, &last_ns, &last_tsc);
    const struct timespec second = {1, 0};
    for (;;) {
        nanosleep(&second, NULL);
        int64_t now_ns;
        uint64_t now_tsc;
        sample(khz, &now_ns, &now_tsc);
        /* signed: a TSC that went back shows as a negative advance */
        int64_t tsc_ns = (int64_t)(now_tsc - last_tsc) / khz * 1000000
                + (int64_t)(now_tsc - last_tsc) % khz * 1000000 / khz;
        int64_t clock_ns = now_ns - last_ns;
        int64_t jump = tsc_ns - clock_ns;
        if (jump > REPORT_NS || jump < -REPORT_NS) {
            report("the TSC advanced %lld ms while CLOCK_MONOTONIC_RAW advanced %lld ms (a jump of %+lld ms)",
                    (long long)(tsc_ns / 1000000), (long long)(clock_ns / 1000000), (long long)(jump / 1000000));
        }
        last_ns = now_ns;
        last_tsc = now_tsc;
    }
}
