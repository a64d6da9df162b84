/* The accept loop for inherited listeners; see adopt.h for why it exists. */
#include "rpc/adopt.h"

#include <errno.h>
#include <fcntl.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"

#define ADOPT_MAX_FDS 16

struct cs_adopter {
    grpc_server *server;
    grpc_server_credentials *creds;
    int fds[ADOPT_MAX_FDS];
    size_t nfds;
    int wake[2]; /* a pipe: a byte on it stops the loop */
    pthread_t thread;
};

static void *accept_loop(void *arg)
{
    cs_adopter *a = arg;
    struct pollfd pfd[ADOPT_MAX_FDS + 1];
    for (size_t i = 0; i < a->nfds; i++)
        pfd[i] = (struct pollfd){.fd = a->fds[i], .events = POLLIN};
    pfd[a->nfds] = (struct pollfd){.fd = a->wake[0], .events = POLLIN};
    for (;;) {
        if (poll(pfd, a->nfds + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            cs_err("inherited sockets: poll failed", "error", strerror(errno), NULL);
            return NULL;
        }
        if (pfd[a->nfds].revents)
            return NULL;
        for (size_t i = 0; i < a->nfds; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            int c = accept4(a->fds[i], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                    cs_warn("inherited socket: accept failed", "error", strerror(errno), NULL);
                    if (errno == EMFILE || errno == ENFILE)
                        usleep(100000); /* let fds free up rather than spin */
                }
                continue;
            }
            grpc_server_add_channel_from_fd(a->server, c, a->creds); /* grpc owns c now */
        }
    }
}

int cs_adopter_start(grpc_server *server, const int *fds, size_t nfds, cs_adopter **out, cs_error *err)
{
    if (nfds > ADOPT_MAX_FDS)
        return cs_error_set(err, CS_ERR_INVALID, "at most %d inherited sockets", ADOPT_MAX_FDS);
    cs_adopter *a = cs_xcalloc(1, sizeof *a);
    a->server = server;
    a->nfds = nfds;
    memcpy(a->fds, fds, nfds * sizeof *fds);
    for (size_t i = 0; i < nfds; i++)
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK); /* never block in accept */
    if (pipe2(a->wake, O_CLOEXEC) != 0) {
        free(a);
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "inherited sockets: pipe");
    }
    a->creds = grpc_insecure_server_credentials_create();
    if (pthread_create(&a->thread, NULL, accept_loop, a) != 0) {
        grpc_server_credentials_release(a->creds);
        close(a->wake[0]);
        close(a->wake[1]);
        free(a);
        return cs_error_set(err, CS_ERR_INTERNAL, "inherited sockets: cannot start the accept thread");
    }
    *out = a;
    return 0;
}

void cs_adopter_stop(cs_adopter *a)
{
    if (!a)
        return;
    char b = 1;
    while (write(a->wake[1], &b, 1) < 0 && errno == EINTR)
        ;
    pthread_join(a->thread, NULL);
    for (size_t i = 0; i < a->nfds; i++)
        close(a->fds[i]);
    close(a->wake[0]);
    close(a->wake[1]);
    grpc_server_credentials_release(a->creds);
    free(a);
}
