/*
 * The lab's DNS responder (see scripts/lab/init): answers A queries for a fixed table of names,
 * authoritatively, over UDP, and nothing else. The lab's network is restricted and has no DNS of
 * its own; this gives its resolver something to ask.
 *
 *   lab-dns ADDRESS PORT NAME=IPV4 [NAME=IPV4...]
 *
 * One datagram in, one out. A name in the table: its address for QTYPE A or ANY (class IN), no
 * answer for other types. Any other name: NXDOMAIN. A query that cannot be parsed: FORMERR if its
 * header is readable, else nothing. Quiet: one line on start, and errors, to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { HEADER = 12, MAX_PACKET = 512, MAX_NAME = 255, MAX_LABEL = 63 };
enum { NOERROR = 0, FORMERR = 1, NXDOMAIN = 3, NOTIMP = 4 };
enum { TYPE_A = 1, TYPE_ANY = 255, CLASS_IN = 1 };

struct entry {
    unsigned char wire[MAX_NAME]; /* the name in wire form, so that dots inside labels never match */
    size_t len;
    struct in_addr addr;
};

static struct entry *table;
static size_t entries;

static int usage(void) {
    fprintf(stderr, "usage: lab-dns ADDRESS PORT NAME=IPV4 [NAME=IPV4...]\n");
    return 2;
}

/* ASCII only: DNS compares names case-insensitively in ASCII, whatever the locale says. */
static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* Writes NAME (dotted, optional trailing dot) in wire form; returns its length, 0 if invalid. */
static size_t to_wire(const char *name, size_t n, unsigned char *out) {
    if (n > 0 && name[n - 1] == '.') n--;
    if (n == 0 || n + 2 > MAX_NAME) return 0;
    size_t o = 0;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && name[j] != '.') j++;
        if (j == i || j - i > MAX_LABEL) return 0;
        out[o++] = (unsigned char)(j - i);
        for (size_t k = i; k < j; k++) out[o++] = lower((unsigned char)name[k]);
        i = j + 1;
    }
    out[o++] = 0;
    return o;
}

static const struct entry *lookup(const unsigned char *name, size_t len) {
    for (size_t i = 0; i < entries; i++) {
        if (table[i].len != len) continue;
        size_t k = 0;
        while (k < len && lower(name[k]) == table[i].wire[k]) k++;
        if (k == len) return &table[i];
    }
    return NULL;
}

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Builds the response to query Q (N bytes) in R; returns its length, 0 for no response. */
static size_t respond(const unsigned char *q, size_t n, unsigned char *r) {
    if (n < HEADER || q[2] & 0x80) return 0; /* no header, or a response: answering could loop */
    memset(r, 0, HEADER);
    memcpy(r, q, 2);
    r[2] = 0x80 | (q[2] & 0x79); /* QR; the opcode and RD as asked */
    r[3] = 0x80;                 /* RA */
    if (q[2] & 0x78) { r[3] |= NOTIMP; return HEADER; }
    if (get16(q + 4) != 1) { r[3] |= FORMERR; return HEADER; }

    size_t off = HEADER;
    for (;;) {
        if (off >= n) { r[3] |= FORMERR; return HEADER; }
        size_t label = q[off];
        if (label & 0xc0) { r[3] |= FORMERR; return HEADER; } /* a pointer, or a label over 63 */
        if (off + 1 + label > n) { r[3] |= FORMERR; return HEADER; }
        off += 1 + label;
        if (label == 0) break;
        if (off - HEADER >= MAX_NAME) { r[3] |= FORMERR; return HEADER; } /* no room for the final 0 */
    }
    if (off + 4 > n) { r[3] |= FORMERR; return HEADER; }
    size_t name_len = off - HEADER;
    unsigned qtype = get16(q + off), qclass = get16(q + off + 2);
    off += 4;

    memcpy(r + HEADER, q + HEADER, off - HEADER);
    put16(r + 4, 1);
    r[2] |= 0x04; /* AA, for names out of the table too: the table is all there is */
    const struct entry *e = lookup(q + HEADER, name_len);
    if (!e) { r[3] |= NXDOMAIN; return off; }
    if (qclass != CLASS_IN || (qtype != TYPE_A && qtype != TYPE_ANY)) return off;

    static const unsigned char answer[] = {0xc0, 0x0c, 0, TYPE_A, 0, CLASS_IN, 0, 0, 0, 60, 0, 4};
    memcpy(r + off, answer, sizeof answer);
    memcpy(r + off + sizeof answer, &e->addr, 4);
    put16(r + 6, 1);
    return off + sizeof answer + 4;
}

int main(int argc, char **argv) {
    if (argc < 4) return usage();

    union { struct sockaddr sa; struct sockaddr_in in4; struct sockaddr_in6 in6; } bind_addr;
    memset(&bind_addr, 0, sizeof bind_addr);
    char *end;
    errno = 0;
    unsigned long port = strtoul(argv[2], &end, 10);
    if (errno || *end || end == argv[2] || port == 0 || port > 65535) {
        fprintf(stderr, "lab-dns: bad port '%s'\n", argv[2]);
        return usage();
    }
    socklen_t addr_len;
    if (inet_pton(AF_INET, argv[1], &bind_addr.in4.sin_addr) == 1) {
        bind_addr.in4.sin_family = AF_INET;
        bind_addr.in4.sin_port = htons((unsigned short)port);
        addr_len = sizeof bind_addr.in4;
    } else if (inet_pton(AF_INET6, argv[1], &bind_addr.in6.sin6_addr) == 1) {
        bind_addr.in6.sin6_family = AF_INET6;
        bind_addr.in6.sin6_port = htons((unsigned short)port);
        addr_len = sizeof bind_addr.in6;
    } else {
        fprintf(stderr, "lab-dns: bad address '%s' (an IPv4 or IPv6 address)\n", argv[1]);
        return usage();
    }

    table = calloc((size_t)argc - 3, sizeof *table);
    if (!table) { perror("lab-dns: calloc"); return 1; }
    for (int i = 3; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        struct entry *e = &table[entries++];
        if (!eq || !(e->len = to_wire(argv[i], (size_t)(eq - argv[i]), e->wire)) ||
            inet_pton(AF_INET, eq + 1, &e->addr) != 1) {
            fprintf(stderr, "lab-dns: bad entry '%s' (NAME=IPV4, labels of 1 to 63 characters)\n", argv[i]);
            return usage();
        }
    }

    int fd = socket(bind_addr.sa.sa_family, SOCK_DGRAM, 0);
    if (fd < 0) { perror("lab-dns: socket"); return 1; }
    if (bind(fd, &bind_addr.sa, addr_len) < 0) {
        fprintf(stderr, "lab-dns: cannot bind %s port %lu: %s\n", argv[1], port, strerror(errno));
        return 1;
    }
    fprintf(stderr, "[lab-dns] answering %zu names on %s:%lu\n", entries, argv[1], port);

    for (;;) {
        unsigned char q[MAX_PACKET], r[MAX_PACKET];
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&peer, &peer_len);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("lab-dns: recvfrom");
            return 1;
        }
        size_t len = respond(q, (size_t)n, r);
        if (len && sendto(fd, r, len, 0, (struct sockaddr *)&peer, peer_len) < 0)
            perror("lab-dns: sendto");
    }
}
