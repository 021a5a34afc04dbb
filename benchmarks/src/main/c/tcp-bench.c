/* The network benchmark's guest program: a TCP sink and source for the host, through passt.
 *
 *   tcp-bench PORT
 *
 * Listens on PORT (all IPv4 addresses), prints "listening PORT\n" on stdout once it does, then
 * serves one connection at a time. Each connection starts with one command line:
 *   sink N     read until N bytes or the end of the stream, answer "received COUNT\n", close
 *   source N   write N bytes (stopping early when the peer goes away), close
 *   quit       answer "bye\n", exit 0
 * Anything else is answered with "error ...\n" and closed. After each sink and source the guest's view
 * of the connection (TCP_INFO: round-trip time, congestion window, retransmissions) goes to stderr,
 * which tells a slow network from a lossy one. */
#define _GNU_SOURCE /* struct tcp_info */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER (256 * 1024)
#define MAX_LINE 64

static char buffer[BUFFER];

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

static void reply(int fd, const char *text) {
    send_all(fd, text, strlen(text));
}

/* The command line, without its newline; -1 if the peer sent none. */
static int read_line(int fd, char *line) {
    int n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        if (c == '\n') break;
        if (n == MAX_LINE - 1) return -1;
        line[n++] = c;
    }
    line[n] = '\0';
    return n;
}

static int parse_count(const char *text, unsigned long long *count) {
    char *end;
    errno = 0;
    *count = strtoull(text, &end, 10);
    return errno == 0 && end != text && *end == '\0' ? 0 : -1;
}

static void report_tcp_info(int fd, const char *what, unsigned long long bytes) {
    struct tcp_info info;
    socklen_t length = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) {
        fprintf(stderr, "tcp-bench: %s: no TCP_INFO: %s\n", what, strerror(errno));
        return;
    }
    fprintf(stderr, "tcp_info %s %llu bytes: rtt %u us (var %u), rcv_rtt %u us, snd_cwnd %u, retransmits %u, "
            "lost %u, rcv_space %u, snd_mss %u, rcv_mss %u\n", what, bytes, info.tcpi_rtt, info.tcpi_rttvar,
            info.tcpi_rcv_rtt, info.tcpi_snd_cwnd, info.tcpi_total_retrans, info.tcpi_lost, info.tcpi_rcv_space,
            info.tcpi_snd_mss, info.tcpi_rcv_mss);
}

static void sink(int fd, unsigned long long want) {
    unsigned long long got = 0;
    while (got < want) {
        size_t n = want - got < BUFFER ? (size_t) (want - got) : BUFFER;
        ssize_t r = read(fd, buffer, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (unsigned long long) r;
    }
    char text[48];
    snprintf(text, sizeof text, "received %llu\n", got);
    reply(fd, text);
    report_tcp_info(fd, "sink", got);
}

static void source(int fd, unsigned long long want) {
    unsigned long long left = want;
    while (left > 0) {
        size_t n = left < BUFFER ? (size_t) left : BUFFER;
        if (send_all(fd, buffer, n) != 0) break; /* the host stopped reading: its time was up */
        left -= n;
    }
    report_tcp_info(fd, "source", want - left);
}

int main(int argc, char **argv) {
    unsigned long long port;
    if (argc != 2 || parse_count(argv[1], &port) != 0 || port == 0 || port > 65535) {
        fprintf(stderr, "usage: tcp-bench PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < BUFFER; i++) buffer[i] = (char) i;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short) port),
                               .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
            || bind(listener, (struct sockaddr *) &addr, sizeof addr) != 0 || listen(listener, 4) != 0) {
        fprintf(stderr, "tcp-bench: cannot listen on port %llu: %s\n", port, strerror(errno));
        return 3;
    }
    printf("listening %llu\n", port);
    fflush(stdout);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            fprintf(stderr, "tcp-bench: accept failed: %s\n", strerror(errno));
            return 4;
        }
        char line[MAX_LINE];
        unsigned long long count;
        if (read_line(fd, line) < 0) {
            reply(fd, "error no command line\n");
        } else if (strncmp(line, "sink ", 5) == 0 && parse_count(line + 5, &count) == 0) {
            sink(fd, count);
        } else if (strncmp(line, "source ", 7) == 0 && parse_count(line + 7, &count) == 0) {
            source(fd, count);
        } else if (strcmp(line, "quit") == 0) {
            reply(fd, "bye\n");
            close(fd);
            return 0;
        } else {
            reply(fd, "error unknown command\n");
        }
        close(fd);
    }
}
