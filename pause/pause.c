/* crishim-pause: PID 1 of a pod sandbox. It holds the pod's namespaces open,
 * reaps zombies re-parented to it (when the pod shares its PID namespace) and
 * exits 0 on SIGTERM or SIGINT. Static, so the pause image is this file alone. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "1.0"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_child(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static int install(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "-v")) {
        printf("crishim-pause %s\n", PAUSE_VERSION);
        return 0;
    }
    if (install(SIGTERM, on_stop, 0) || install(SIGINT, on_stop, 0) ||
        install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART)) {
        perror("crishim-pause: sigaction");
        return 1;
    }
    if (getpid() != 1)
        fprintf(stderr, "crishim-pause: not running as PID 1\n");
    while (!stop)
        pause();
    return 0;
}
