/* Allocation wrappers that abort on failure; see mem.h. */
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cs_die(const char *what)
{
    fprintf(stderr, "crishim: fatal: %s\n", what);
    abort();
}

void *cs_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        cs_die("out of memory");
    return p;
}

void *cs_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        cs_die("out of memory");
    return p;
}

void cs_xgrow(char **buf, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    *buf = cs_xrealloc(*buf, c);
    *cap = c;
}

void *cs_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        cs_die("out of memory");
    return q;
}

char *cs_xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        cs_die("out of memory");
    return p;
}

char *cs_xstrndup(const char *s, size_t n)
{
    char *p = cs_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cs_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        cs_die("out of memory");
    return p;
}

void cs_freep(void *pp)
{
    free(*(void **)pp);
}
