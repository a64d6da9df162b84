/* The capped buffer; see buf.h. */
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

size_t cs_buf_append(cs_buf *b, const void *data, size_t len)
{
    size_t keep = len;
    if (b->max && b->len + keep > b->max)
        keep = b->max > b->len ? b->max - b->len : 0;
    cs_xgrow(&b->data, &b->cap, b->len + keep + 1, 4096);
    memcpy(b->data + b->len, data, keep);
    b->len += keep;
    b->data[b->len] = '\0';
    return len - keep;
}

void cs_buf_free(cs_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
