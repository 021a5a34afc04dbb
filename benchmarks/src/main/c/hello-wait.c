/* The memory benchmark's arrow: greets like the hello arrow, then stays alive until a line (or
 * end of input) arrives on stdin, so that many booted arrows can be alive at once. */
#include <stdio.h>
#include <sys/utsname.h>

int main(void) {
    struct utsname u;
    uname(&u);
    printf("Hello from an arrow! (Linux %s on %s)\n", u.release, u.machine);
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) return 1;
    return 0;
}
