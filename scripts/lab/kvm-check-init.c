/* PID 1 of the lab's KVM check guest: say hello on the serial port, then reset the machine. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void) {
    static const char msg[] = "arrow-lab-check: hello from a KVM guest\n";
    mount("dev", "/dev", "devtmpfs", 0, 0);
    int fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY);
    if (fd >= 0) write(fd, msg, strlen(msg));
    sync();
    reboot(RB_AUTOBOOT);
    for (;;) pause();
}
