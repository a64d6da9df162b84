/* One growable byte buffer with a size cap, for every place that gathers
 * bytes it must bound (an exec's output that has to fit one gRPC reply):
 * what comes past the cap is dropped, never grown into. */
#ifndef CS_BUF_H
#define CS_BUF_H

#include <stddef.h>

typedef struct cs_buf {
    char *data; /* NUL-terminated while non-NULL; malloc'd */
    size_t len, cap;
    size_t max; /* 0: no cap */
} cs_buf;

/* Appends what fits under the cap; returns how many bytes were dropped. */
size_t cs_buf_append(cs_buf *b, const void *data, size_t len);
void cs_buf_free(cs_buf *b);

#endif
