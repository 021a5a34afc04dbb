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
 *   guestapp fork           starts a child that sleeps for ever, exits 5 before it
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (strcmp(mode, "fork") == 0) {
        pid_t child = fork();
        if (child == 0) {
            for (;;) pause();
        }
        printf("parent %s\n", child > 0 ? "forked" : "fork failed");
        return 5;
    }
    fprintf(stderr, "guestapp: unknown mode %s\n", mode);
    return 2;
}
