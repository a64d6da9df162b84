/* crishim-pause: the first process (PID 1) of a crishim pod sandbox.
 *
 * It holds the pod's namespaces open and does nothing else: it sleeps until
 * SIGTERM or SIGINT, then exits 0; it reaps the zombies re-parented to it when
 * the pod shares one PID namespace; it ignores job-control and other stray
 * signals. `-v` prints the version. Link it statically so that the pause
 * image is this binary alone:
 *
 *     gcc -O2 -static -Wall -Wextra -o crishim-pause pause/pause.c
 *
 * Signals stay blocked except inside sigsuspend(), so none is lost between
 * checking a flag and going back to sleep. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "1.0"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t child_exited;

static void on_signal(int sig)
{
    if (sig == SIGCHLD)
        child_exited = 1;
    else
        stop_requested = 1;
}

static int handle(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigfillset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    static const int ignored[] = {SIGHUP, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU, SIGTSTP};
    sigset_t watched, sleeping;

    if (argc == 2 && strcmp(argv[1], "-v") == 0) {
        printf("crishim-pause %s\n", PAUSE_VERSION);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: %s [-v]\n", argv[0]);
        return 2;
    }

    sigemptyset(&watched);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGINT);
    sigaddset(&watched, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &watched, &sleeping) != 0 || handle(SIGTERM, on_signal, 0) != 0 ||
        handle(SIGINT, on_signal, 0) != 0 || handle(SIGCHLD, on_signal, SA_NOCLDSTOP) != 0) {
        perror("crishim-pause: signal setup");
        return 1;
    }
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        handle(ignored[i], SIG_IGN, 0);
    sigdelset(&sleeping, SIGTERM);
    sigdelset(&sleeping, SIGINT);
    sigdelset(&sleeping, SIGCHLD);

    if (getpid() != 1)
        fprintf(stderr, "crishim-pause: warning: not running as PID 1\n");

    while (!stop_requested) {
        sigsuspend(&sleeping); /* returns -1/EINTR after a handler ran */
        if (child_exited) {
            child_exited = 0;
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        }
    }
    return 0;
}
