/* The hello arrow: a static program that greets, echoes its arguments and one variable. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>

int main(int argc, char **argv) {
    struct utsname u;
    uname(&u);
    printf("Hello from an arrow! (Linux %s on %s)\n", u.release, u.machine);
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    if (greeting) printf("GREETING=%s\n", greeting);
    return 0;
}
