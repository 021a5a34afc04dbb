/* The console benchmark's guest program: writes BYTES bytes to stdout, timed by the host.
 *
 *   console-flood BYTES
 *
 * It prints "ready\n", waits for one byte on stdin (the host's go, sent once it has read the
 * VMM's counters), writes BYTES bytes of letters in writes of up to 64 KiB, then waits for one
 * more byte or the end of stdin (so the host can read the counters again before the guest shuts
 * down) and exits 0. The same program runs with stdio on the virtio console and on the serial
 * port: there the console is raw, so every byte reaches the host as written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static char chunk[CHUNK];

static int write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

static int read_byte(void) {
    char c;
    for (;;) {
        ssize_t r = read(0, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        return (int) r;
    }
}

int main(int argc, char **argv) {
    char *end;
    if (argc != 2) {
        fprintf(stderr, "usage: console-flood BYTES\n");
        return 2;
    }
    errno = 0;
    unsigned long long total = strtoull(argv[1], &end, 10);
    if (errno != 0 || *end != '\0' || end == argv[1]) {
        fprintf(stderr, "console-flood: '%s' is not a byte count\n", argv[1]);
        return 2;
    }
    for (size_t i = 0; i < CHUNK; i++) chunk[i] = (char) ('a' + i % 26);
    if (write_all("ready\n", 6) != 0) return 3;
    if (read_byte() != 1) {
        fprintf(stderr, "console-flood: no go byte on stdin\n");
        return 4;
    }
    for (unsigned long long left = total; left > 0;) {
        size_t n = left < CHUNK ? (size_t) left : CHUNK;
        if (write_all(chunk, n) != 0) {
            fprintf(stderr, "console-flood: write failed: %s\n", strerror(errno));
            return 5;
        }
        left -= n;
    }
    read_byte();
    return 0;
}
