/* Allocation that cannot fail: a daemon out of memory can't answer anyway, so
 * we abort with a message instead of threading NULL checks through every path. */
#ifndef CS_MEM_H
#define CS_MEM_H

#include <stddef.h>

void *cs_xmalloc(size_t size);
void *cs_xcalloc(size_t n, size_t size);
void *cs_xrealloc(void *p, size_t size);
/* Makes *buf (of *cap bytes) hold at least need bytes, doubling from first
 * (or from *cap): the one growth rule of every growable byte buffer. */
void cs_xgrow(char **buf, size_t *cap, size_t need, size_t first);
char *cs_xstrdup(const char *s);  /* NULL -> NULL */
char *cs_xstrndup(const char *s, size_t n);
char *cs_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cs_die(const char *what) __attribute__((noreturn));

/* cleanup attribute helpers, as in crun: a local owns its buffer until moved. */
void cs_freep(void *pp);
#define cs_cleanup_free __attribute__((cleanup(cs_freep)))

#endif
