/* The CRI validation suite's web server images, rebuilt offline: a process
 * named nginx (the namespace specs look for it with `pidof nginx` and wait for
 * /var/run/nginx.pid) that answers every HTTP request with a small page.
 *   nginx [ARG...] [PORT]     (default 80; other arguments are ignored, so the
 *                              command line can read like nginx's own)
 * One connection at a time is plenty for the suite. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char page[] = "HTTP/1.0 200 OK\r\n"
                           "Content-Type: text/html\r\n"
                           "Content-Length: 44\r\n"
                           "Connection: close\r\n"
                           "\r\n"
                           "<html><body>Welcome to nginx!</body></html>\n";

int main(int argc, char **argv)
{
    int port = 80;
    for (int i = 1; i < argc; i++)
        if (atoi(argv[i]) > 0)
            port = atoi(argv[i]);
    signal(SIGPIPE, SIG_IGN);
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    int off = 0, on = 1;
    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off); /* v4 and v6 */
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port)};
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 64) != 0) {
        perror("nginx: bind");
        return 1;
    }
    FILE *pid = fopen("/var/run/nginx.pid", "w");
    if (pid) {
        fprintf(pid, "%d\n", (int)getpid());
        fclose(pid);
    }
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0)
            continue;
        char buf[4096];
        (void)read(c, buf, sizeof buf); /* the request line and headers: any request gets the page */
        (void)write(c, page, sizeof page - 1);
        close(c);
    }
}
