/* crishim-test-regproxy: the test registry proxy (regproxy.h) as a program,
 * for suites that drive crishim as a daemon and want blob GETs counted or
 * shaped at the registry:
 *     crishim-test-regproxy --upstream 127.0.0.1:PORT [--port-file FILE]
 * Prints "PORT STORAGE_PORT" on stdout (and into FILE), then serves until
 * SIGTERM/SIGINT. Knobs and counters over HTTP on PORT:
 *     GET /_proxy/set?bearer=1&redirect=1&throttle_bytes=N&throttle_ms=N&stall_after=N&ignore_range=1&delay_ms=N
 *     GET /_proxy/reset
 *     GET /_proxy/stats?digest=sha256:...  -> {"gets","bytes","max_concurrent","token_requests",...} */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regproxy.h"

int main(int argc, char **argv)
{
    const char *upstream = NULL, *port_file = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--upstream"))
            upstream = argv[i + 1];
        else if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
    }
    if (!upstream) {
        fprintf(stderr, "usage: %s --upstream HOST:PORT [--port-file FILE]\n", argv[0]);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit it; sigwait below takes them */
    rp_proxy *p = rp_start(upstream);
    if (!p)
        return 1;
    printf("%d %d\n", rp_port(p), rp_storage_port(p));
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "%d %d\n", rp_port(p), rp_storage_port(p));
            fclose(f);
        }
    }
    int sig;
    sigwait(&set, &sig);
    rp_stop(p);
    return 0;
}
