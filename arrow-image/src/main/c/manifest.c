/*
 * Checks the unpacked initramfs against /arrow/manifest (format in manifest.h).
 */
#define _GNU_SOURCE
#include "manifest.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* CRC-32C                                                                                     */

#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t crc_table[8][256];
static int crc_ready;
static int crc_hardware;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (c & 1u)));
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFFu];
    unsigned a, b, c, d;
    /* ARROW_CRC32C_SOFTWARE (host check mode, tests): the table code even where SSE4.2 exists. */
    crc_hardware = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2) != 0 && getenv("ARROW_CRC32C_SOFTWARE") == NULL;
    crc_ready = 1;
}

/* Slicing by 8: the fallback for CPUs without SSE4.2. */
static uint32_t crc_software(uint32_t c, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xFFu] ^ crc_table[6][(lo >> 8) & 0xFFu] ^ crc_table[5][(lo >> 16) & 0xFFu] ^
            crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xFFu];
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const unsigned char *p, size_t n) {
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n-- > 0) c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len) {
    if (!crc_ready) crc_init();
    uint32_t c = ~crc;
    c = crc_hardware ? crc_sse42(c, buf, len) : crc_software(c, buf, len);
    return ~c;
}

/* ------------------------------------------------------------------------------------------ */
/* Checking                                                                                    */

#define READ_CHUNK (256u * 1024u)
static unsigned char read_buffer[READ_CHUNK];

static int verify_fail(char *msg, size_t msglen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Strict unsigned decimal (no sign, no leading zeros) in 0..max; advances *p past it. */
static int take_decimal(const char **p, unsigned long long max, unsigned long long *out) {
    const char *s = *p;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9')) return -1;
    unsigned long long v = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10u) return -1;
        v = v * 10u + d;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

static int take_char(const char **p, char c) {
    if (**p != c) return -1;
    (*p)++;
    return 0;
}

struct record {
    char kind;
    unsigned mode;
    unsigned long long uid, gid, size, major, minor;
    uint32_t crc;
    const char *path;
};

static int parse_record(const char *s, struct record *r) {
    if (strchr("dflcb", s[0]) == NULL || s[0] == '\0') return -1;
    r->kind = *s++;
    if (take_char(&s, ' ') != 0) return -1;
    r->mode = 0;
    for (int i = 0; i < 4; i++) {
        if (*s < '0' || *s > '7') return -1;
        r->mode = r->mode * 8u + (unsigned)(*s++ - '0');
    }
    if (take_char(&s, ' ') || take_decimal(&s, UINT32_MAX, &r->uid) || take_char(&s, ' ') ||
        take_decimal(&s, UINT32_MAX, &r->gid) || take_char(&s, ' ') || take_decimal(&s, UINT32_MAX, &r->size) ||
        take_char(&s, ' '))
        return -1;
    r->crc = 0;
    for (int i = 0; i < 8; i++) {
        char c = *s++;
        unsigned v;
        if (c >= '0' && c <= '9') v = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v = (unsigned)(c - 'a' + 10);
        else return -1;
        r->crc = r->crc << 4 | v;
    }
    if (take_char(&s, ' ') || take_decimal(&s, 0xFFFu, &r->major) || take_char(&s, ' ') ||
        take_decimal(&s, 0xFFFFFu, &r->minor) || take_char(&s, ' '))
        return -1;
    if (s[0] != '/') return -1;
    r->path = s;
    return 0;
}

static const char *kind_name(char kind) {
    switch (kind) {
    case 'd': return "a directory";
    case 'f': return "a regular file";
    case 'l': return "a symbolic link";
    case 'c': return "a character device";
    case 'b': return "a block device";
    default: return "something else";
    }
}

static char kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return 'd';
    if (S_ISREG(mode)) return 'f';
    if (S_ISLNK(mode)) return 'l';
    if (S_ISCHR(mode)) return 'c';
    if (S_ISBLK(mode)) return 'b';
    return '?';
}

/* The CRC-32C and length of a file's content, read to its end. */
static int sum_file(const char *path, uint32_t *crc, unsigned long long *length) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    uint32_t c = 0;
    unsigned long long n = 0;
    for (;;) {
        ssize_t got = read(fd, read_buffer, sizeof read_buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (got == 0) break;
        c = crc32c(c, read_buffer, (size_t)got);
        n += (unsigned long long)got;
    }
    close(fd);
    *crc = c;
    *length = n;
    return 0;
}

static int check_entry(const char *root, const struct record *r, struct manifest_totals *totals, char *msg,
                       size_t msglen) {
    char full[PATH_MAX + 256];
    if ((size_t)snprintf(full, sizeof full, "%s%s", root, r->path) >= sizeof full)
        return verify_fail(msg, msglen, "%.200s: path too long to check", r->path);
    struct stat st;
    if (lstat(full, &st) != 0)
        return verify_fail(msg, msglen, "%.200s: missing (%s)", r->path, strerror(errno));
    if (kind_of(st.st_mode) != r->kind)
        return verify_fail(msg, msglen, "%.200s: %s, expected %s", r->path, kind_name(kind_of(st.st_mode)),
                           kind_name(r->kind));
    if (r->kind != 'l' && (unsigned)(st.st_mode & 07777) != r->mode)
        return verify_fail(msg, msglen, "%.200s: mode %04o, expected %04o", r->path, (unsigned)(st.st_mode & 07777),
                           r->mode);
    if ((unsigned long long)st.st_uid != r->uid || (unsigned long long)st.st_gid != r->gid)
        return verify_fail(msg, msglen, "%.200s: owner %u:%u, expected %llu:%llu", r->path, (unsigned)st.st_uid,
                           (unsigned)st.st_gid, r->uid, r->gid);
    if (r->kind == 'f') {
        if ((unsigned long long)st.st_size != r->size)
            return verify_fail(msg, msglen, "%.200s: %lld bytes, expected %llu", r->path, (long long)st.st_size, r->size);
        uint32_t crc;
        unsigned long long length;
        if (sum_file(full, &crc, &length) != 0)
            return verify_fail(msg, msglen, "%.200s: cannot read it (%s)", r->path, strerror(errno));
        if (length != r->size)
            return verify_fail(msg, msglen, "%.200s: reads %llu bytes, expected %llu", r->path, length, r->size);
        if (crc != r->crc)
            return verify_fail(msg, msglen, "%.200s: content differs from the host's (crc32c %08x, expected %08x)",
                               r->path, crc, r->crc);
        totals->bytes += length;
    } else if (r->kind == 'l') {
        char target[PATH_MAX + 1];
        ssize_t n = readlink(full, target, sizeof target);
        if (n < 0) return verify_fail(msg, msglen, "%.200s: cannot read the link (%s)", r->path, strerror(errno));
        if ((unsigned long long)n != r->size || crc32c(0, target, (size_t)n) != r->crc)
            return verify_fail(msg, msglen, "%.200s: the link's target differs from the host's", r->path);
    } else if (r->kind == 'c' || r->kind == 'b') {
        if (major(st.st_rdev) != r->major || minor(st.st_rdev) != r->minor)
            return verify_fail(msg, msglen, "%.200s: device %u:%u, expected %llu:%llu", r->path, major(st.st_rdev),
                               minor(st.st_rdev), r->major, r->minor);
    }
    totals->entries++;
    return 0;
}

int manifest_verify(const char *root, struct manifest_totals *totals, char *msg, size_t msglen) {
    char path[PATH_MAX + 64];
    totals->entries = 0;
    totals->bytes = 0;
    snprintf(path, sizeof path, "%s%s", root, MANIFEST_PATH);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return verify_fail(msg, msglen, "%s: missing (%s)", MANIFEST_PATH, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > MANIFEST_MAX_BYTES) {
        close(fd);
        return verify_fail(msg, msglen, "%s: not a regular file of 1..%u bytes", MANIFEST_PATH, MANIFEST_MAX_BYTES);
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len);
    if (buf == NULL) {
        close(fd);
        return verify_fail(msg, msglen, "%s: no memory to read its %zu bytes", MANIFEST_PATH, len);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    int rc = -1;
    if (got != len) {
        verify_fail(msg, msglen, "%s: read %zu of %zu bytes", MANIFEST_PATH, got, len);
        goto out;
    }
    /* The end record is the last one: it closes the file and sums every byte before it. */
    if (buf[len - 1] != '\0') {
        verify_fail(msg, msglen, "%s: damaged (does not end with a complete record)", MANIFEST_PATH);
        goto out;
    }
    size_t end_at = len - 1;
    while (end_at > 0 && buf[end_at - 1] != '\0') end_at--;
    const char *end = buf + end_at;
    unsigned long long count;
    uint32_t want = 0;
    const char *p = end + 4;
    int bad_end = strncmp(end, "end ", 4) != 0 || take_decimal(&p, UINT32_MAX, &count) != 0 || take_char(&p, ' ') != 0;
    for (int i = 0; !bad_end && i < 8; i++) {
        char c = *p++;
        if (c >= '0' && c <= '9') want = want << 4 | (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') want = want << 4 | (uint32_t)(c - 'a' + 10);
        else bad_end = 1;
    }
    if (bad_end || *p != '\0') {
        verify_fail(msg, msglen, "%s: damaged (no valid end record)", MANIFEST_PATH);
        goto out;
    }
    uint32_t have = crc32c(0, buf, end_at);
    if (have != want) {
        verify_fail(msg, msglen, "%s: damaged (crc32c %08x, its end record says %08x)", MANIFEST_PATH, have, want);
        goto out;
    }
    size_t magic_len = strlen(MANIFEST_MAGIC) + 1;
    if (end_at < magic_len || memcmp(buf, MANIFEST_MAGIC, magic_len) != 0) {
        verify_fail(msg, msglen, "%s: not a manifest (no \"%s\" record first)", MANIFEST_PATH, MANIFEST_MAGIC);
        goto out;
    }
    unsigned long long seen = 0;
    for (size_t pos = magic_len; pos < end_at;) {
        const char *rec = buf + pos;
        size_t rlen = strlen(rec); /* the NUL before the end record bounds it */
        struct record r;
        if (parse_record(rec, &r) != 0) {
            verify_fail(msg, msglen, "%s: malformed record %llu at byte %zu", MANIFEST_PATH, seen + 1, pos);
            goto out;
        }
        if (check_entry(root, &r, totals, msg, msglen) != 0) goto out;
        seen++;
        pos += rlen + 1;
    }
    if (seen != count) {
        verify_fail(msg, msglen, "%s: %llu records, its end record says %llu", MANIFEST_PATH, seen, count);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}
