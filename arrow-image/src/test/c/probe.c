/*
 * Guest test program for arrow-image's tier-3 tests: one static binary, behaviour chosen by argv[1].
 *   probe hello ARGS...   prints argc, argv and the environment; exits 0
 *   probe exit N          exits with N
 *   probe signal N        kills itself with signal N
 *   probe fork            starts two children (one handles SIGTERM, one ignores it), exits 0 first
 *   probe info            prints uid, gid, cwd, hostname, RLIMIT_NOFILE; exits 0
 *   probe forward         sends SIGTERM to PID 1 (init) and exits 42 when init forwards it back
 *   probe forward-int     the same with SIGINT, exits 43
 *   probe orphans         leaves orphaned zombies to init, then counts zombies in /proc
 *   probe stdio           reads a line from stdin, writes "out: LINE" to stdout and "err: LINE" to
 *                         stderr, reports whether fd 1 is a tty; exits 0
 *   probe wait            waits for a signal (default actions apply)
 *   probe forge           tries to reach init's status ports (ioperm, iopl, /dev/port, an outb to each of
 *                         0xF4..0xF7 with the access it inherited) and to attach to init (ptrace); prints
 *                         "forge <how> <errno name, signal name or ok>" for each, writes
 *                         "arrow-status exited 0" where it got access, then exits 7
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/io.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void forge_report(const char *how, int rc) {
    printf("forge %s %s\n", how, rc == 0 ? "ok" : strerror(errno));
    fflush(stdout);
}

static void forge_line(void) {
    static const char line[] = "arrow-status exited 0\n";
    for (size_t i = 0; i < sizeof line - 1; i++) outb((unsigned char)line[i], 0xF4);
}

/* Every way a root app could write its own outcome; each must fail. */
static int forge_mode(void) {
    int rc = ioperm(0xF4, 1, 1);
    forge_report("ioperm", rc);
    if (rc == 0) forge_line();
    rc = iopl(3);
    forge_report("iopl", rc);
    if (rc == 0) forge_line();
    int fd = open("/dev/port", O_WRONLY);
    forge_report("dev-port", fd >= 0 ? 0 : -1);
    if (fd >= 0) {
        static const char line[] = "arrow-status exited 0\n";
        for (size_t i = 0; i < sizeof line - 1; i++) {
            if (pwrite(fd, &line[i], 1, 0xF4) != 1) break;
        }
        close(fd);
    }
    for (unsigned port = 0xF4; port <= 0xF7; port++) { /* init's own access must not have come along */
        pid_t pid = fork();
        if (pid == 0) {
            outb('\n', port); /* a line break, should it get through: it would end a forged line */
            _exit(0);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid) {
            printf("forge outb-0x%x %s\n", port, strerror(errno));
        } else {
            printf("forge outb-0x%x %s\n", port, WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "ok");
        }
        fflush(stdout);
    }
    rc = (int)ptrace(PTRACE_ATTACH, 1, NULL, NULL);
    forge_report("ptrace-init", rc);
    if (rc == 0) ptrace(PTRACE_DETACH, 1, NULL, NULL);
    return 7;
}

static void on_term(int sig) {
    (void)sig;
    static const char msg[] = "probe-child1 got SIGTERM\n";
    ssize_t ignored = write(1, msg, sizeof msg - 1);
    (void)ignored;
    _exit(0);
}

static void on_forwarded(int sig) {
    (void)sig;
    static const char msg[] = "probe got forwarded SIGTERM\n";
    ssize_t ignored = write(1, msg, sizeof msg - 1);
    (void)ignored;
    _exit(42);
}

static void on_forwarded_int(int sig) {
    (void)sig;
    static const char msg[] = "probe got forwarded SIGINT\n";
    ssize_t ignored = write(1, msg, sizeof msg - 1);
    (void)ignored;
    _exit(43);
}

static int count_zombies(void) {
    DIR *proc = opendir("/proc");
    if (proc == NULL) return -1;
    int zombies = 0;
    struct dirent *d;
    while ((d = readdir(proc)) != NULL) {
        if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *close_paren = strrchr(buf, ')');
        if (close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z') zombies++;
    }
    closedir(proc);
    return zombies;
}

static int orphans_mode(void) {
    for (int i = 0; i < 3; i++) {
        pid_t c = fork();
        if (c < 0) return 20;
        if (c == 0) {
            if (fork() == 0) _exit(0); /* grandchild: orphaned, its zombie goes to init */
            _exit(0);
        }
        waitpid(c, NULL, 0);
    }
    struct timespec pause_ts = {0, 300 * 1000 * 1000};
    nanosleep(&pause_ts, NULL);
    printf("probe-zombies %d\n", count_zombies());
    fflush(stdout);
    return 0;
}

static int fork_mode(void) {
    int ready[2];
    if (pipe(ready) != 0) return 10;
    for (int i = 1; i <= 2; i++) {
        pid_t p = fork();
        if (p < 0) return 11;
        if (p == 0) {
            if (i == 1) signal(SIGTERM, on_term);
            else signal(SIGTERM, SIG_IGN);
            char c = 'r';
            if (write(ready[1], &c, 1) != 1) _exit(12);
            for (;;) pause();
        }
    }
    char buf[2];
    size_t got = 0;
    while (got < 2) {
        ssize_t r = read(ready[0], buf + got, 2 - got);
        if (r <= 0) return 13;
        got += (size_t)r;
    }
    printf("probe-parent exiting with 2 children alive\n");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: probe hello|exit N|signal N|fork|info\n");
        return 2;
    }
    if (strcmp(argv[1], "hello") == 0) {
        printf("probe-argc %d\n", argc);
        for (int i = 0; i < argc; i++) printf("probe-arg %d [%s]\n", i, argv[i]);
        for (char **e = environ; *e; e++) printf("probe-env [%s]\n", *e);
        fflush(stdout);
        return 0;
    }
    if (strcmp(argv[1], "exit") == 0 && argc == 3) return atoi(argv[2]);
    if (strcmp(argv[1], "forge") == 0) return forge_mode();
    if (strcmp(argv[1], "signal") == 0 && argc == 3) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        pause();
        return 99;
    }
    if (strcmp(argv[1], "fork") == 0) return fork_mode();
    if (strcmp(argv[1], "orphans") == 0) return orphans_mode();
    if (strcmp(argv[1], "forward") == 0) {
        signal(SIGTERM, on_forwarded);
        if (kill(1, SIGTERM) != 0) return 21;
        for (int i = 0; i < 100; i++) sleep(1);
        return 22;
    }
    if (strcmp(argv[1], "forward-int") == 0) {
        signal(SIGINT, on_forwarded_int);
        if (kill(1, SIGINT) != 0) return 21;
        for (int i = 0; i < 100; i++) sleep(1);
        return 22;
    }
    if (strcmp(argv[1], "info") == 0) {
        char cwd[256], host[128];
        struct rlimit nofile;
        if (getcwd(cwd, sizeof cwd) == NULL) strcpy(cwd, "?");
        if (gethostname(host, sizeof host) != 0) strcpy(host, "?");
        getrlimit(RLIMIT_NOFILE, &nofile);
        printf("probe-info uid=%u gid=%u cwd=%s hostname=%s nofile=%llu/%llu\n", (unsigned)getuid(),
               (unsigned)getgid(), cwd, host, (unsigned long long)nofile.rlim_cur,
               (unsigned long long)nofile.rlim_max);
        fflush(stdout);
        return 0;
    }
    if (strcmp(argv[1], "stdio") == 0) {
        char line[256];
        if (fgets(line, sizeof line, stdin) == NULL) strcpy(line, "(eof)");
        line[strcspn(line, "\n")] = '\0';
        printf("out: %s\nisatty: %d\n", line, isatty(1));
        fflush(stdout);
        fprintf(stderr, "err: %s\n", line);
        return 0;
    }
    if (strcmp(argv[1], "clone") == 0 && (argc == 3 || argc == 4)) { /* what a clone was given; [delay s] first */
        if (argc == 4) sleep((unsigned)atoi(argv[3]));
        struct stat st;
        char content[256] = "";
        FILE *f = fopen(argv[2], "r");
        size_t n = f ? fread(content, 1, sizeof content - 1, f) : 0;
        content[n] = '\0';
        if (f) fclose(f);
        unsigned char random[16];
        int have_random = getrandom(random, sizeof random, GRND_NONBLOCK) == (ssize_t)sizeof random;
        printf("probe-file %o %s\n", stat(argv[2], &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0u, content);
        printf("probe-time %lld\n", (long long)time(NULL));
        printf("probe-random ");
        for (size_t i = 0; have_random && i < sizeof random; i++) printf("%02x", random[i]);
        printf("%s\n", have_random ? "" : "none");
        for (char **e = environ; *e; e++) printf("probe-env [%s]\n", *e);
        fflush(stdout);
        return 0;
    }
    if (strcmp(argv[1], "listen") == 0 && argc == 3) { /* a server that never accepts: for ready-port */
        sleep(1); /* listening a second after execve: app-ready and app-exec marks are apart */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0) return 23;
        printf("probe listening\n");
        fflush(stdout);
        sleep(3);
        return 0;
    }
    if (strcmp(argv[1], "wait") == 0) {
        printf("probe waiting\n");
        fflush(stdout);
        for (;;) pause();
    }
    fprintf(stderr, "probe: unknown mode %s\n", argv[1]);
    return 2;
}
