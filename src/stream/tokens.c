/* The token cache (see tokens.h). At most a thousand entries, so a flat
 * array scanned under a mutex is as fast as anything cleverer. */
#include "stream/tokens.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/base64.h"
#include "util/mem.h"
#include "util/time.h"

typedef struct entry {
    char token[STRM_TOKEN_LEN + 1];
    int64_t expires_ms; /* monotonic */
    strm_request *req;
} entry;

struct strm_tokens {
    pthread_mutex_t mu;
    size_t max, n;
    int64_t ttl_ms;
    entry *entries;
};

static const char *const kind_names[] = {"exec", "attach", "portforward"};

const char *strm_kind_name(strm_kind k)
{
    return (unsigned)k < 3 ? kind_names[k] : "?";
}

void strm_request_free(strm_request *r)
{
    if (!r)
        return;
    free(r->id);
    for (size_t i = 0; i < r->ncmd; i++)
        free(r->cmd[i]);
    free(r->cmd);
    free(r->ports);
    free(r);
}

strm_tokens *strm_tokens_new(size_t max, int64_t ttl_ms)
{
    strm_tokens *t = cs_xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->max = max;
    t->ttl_ms = ttl_ms;
    t->entries = cs_xcalloc(max ? max : 1, sizeof *t->entries);
    return t;
}

void strm_tokens_free(strm_tokens *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        strm_request_free(t->entries[i].req);
    free(t->entries);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static void drop_at(strm_tokens *t, size_t i)
{
    t->entries[i] = t->entries[--t->n];
}

static void purge_expired(strm_tokens *t, int64_t now)
{
    for (size_t i = 0; i < t->n;) {
        if (t->entries[i].expires_ms <= now) {
            strm_request_free(t->entries[i].req);
            drop_at(t, i);
        } else {
            i++;
        }
    }
}

static int new_token(char out[STRM_TOKEN_LEN + 1], cs_error *err)
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return cs_error_set(err, CS_ERR_INTERNAL, "no randomness for a streaming token");
    char *b = cs_base64_encode(raw, sizeof raw, true);
    memcpy(out, b, STRM_TOKEN_LEN); /* drops the "==" padding */
    out[STRM_TOKEN_LEN] = '\0';
    free(b);
    return 0;
}

int strm_tokens_put(strm_tokens *t, strm_request *r, char token[STRM_TOKEN_LEN + 1], cs_error *err)
{
    if (new_token(token, err) != 0) {
        strm_request_free(r);
        return -1;
    }
    int64_t now = cs_time_mono_ms();
    pthread_mutex_lock(&t->mu);
    purge_expired(t, now);
    if (t->n >= t->max) {
        pthread_mutex_unlock(&t->mu);
        strm_request_free(r);
        return cs_error_set(err, CS_ERR_RESOURCE, "%zu streaming requests are already waiting for a connection",
                            t->max);
    }
    entry *e = &t->entries[t->n++];
    memcpy(e->token, token, sizeof e->token);
    e->expires_ms = now + t->ttl_ms;
    e->req = r;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

strm_request *strm_tokens_take(strm_tokens *t, const char *token)
{
    if (!token || strlen(token) != STRM_TOKEN_LEN)
        return NULL;
    strm_request *r = NULL;
    int64_t now = cs_time_mono_ms();
    pthread_mutex_lock(&t->mu);
    purge_expired(t, now);
    for (size_t i = 0; i < t->n; i++) {
        if (memcmp(t->entries[i].token, token, STRM_TOKEN_LEN) == 0) {
            r = t->entries[i].req;
            drop_at(t, i);
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}

size_t strm_tokens_outstanding(strm_tokens *t)
{
    pthread_mutex_lock(&t->mu);
    purge_expired(t, cs_time_mono_ms());
    size_t n = t->n;
    pthread_mutex_unlock(&t->mu);
    return n;
}
