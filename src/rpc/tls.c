/* Reloading SSL server credentials; see tls.h. */
#include "rpc/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/log.h"
#include "util/mem.h"

#define TLS_MAX_PEM (1024 * 1024)

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

struct cs_tls {
    char *path[3]; /* cert, key, client CA (may be NULL) */
    pthread_mutex_t mu;
    file_id seen[3]; /* what the served config was read from */
    bool loaded;
};

static void file_id_of(const struct stat *st, file_id *id)
{
    memset(id, 0, sizeof *id);
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
}

static bool file_id_eq(const file_id *a, const file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static char *read_pem(const char *path, file_id *id, cs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cs_error_errno(err, CS_ERR_INVALID, errno, "TLS file %s", path);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size > TLS_MAX_PEM || st.st_size == 0) {
        fclose(f);
        cs_error_set(err, CS_ERR_INVALID, "TLS file %s: empty or larger than 1 MiB", path);
        return NULL;
    }
    file_id_of(&st, id);
    char *buf = cs_xmalloc((size_t)st.st_size + 1);
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    buf[n] = '\0';
    if (!strstr(buf, "-----BEGIN ")) {
        free(buf);
        cs_error_set(err, CS_ERR_INVALID, "TLS file %s: not PEM", path);
        return NULL;
    }
    return buf;
}

/* Reads the three files into a grpc certificate config. */
static grpc_ssl_server_certificate_config *load(cs_tls *t, file_id ids[3], cs_error *err)
{
    char *pem[3] = {NULL, NULL, NULL};
    grpc_ssl_server_certificate_config *cfg = NULL;
    for (int i = 0; i < 3; i++)
        if (t->path[i] && !(pem[i] = read_pem(t->path[i], &ids[i], err)))
            goto out;
    grpc_ssl_pem_key_cert_pair pair = {.private_key = pem[1], .cert_chain = pem[0]};
    /* gRPC 1.51 asserts that a fetched config has root certificates even
     * when no client certificate is asked for; then they are never used, so
     * the server's own chain stands in. */
    cfg = grpc_ssl_server_certificate_config_create(pem[2] ? pem[2] : pem[0], &pair, 1);
out:
    for (int i = 0; i < 3; i++) {
        if (pem[i])
            memset(pem[i], 0, strlen(pem[i])); /* the key should not linger in freed memory */
        free(pem[i]);
    }
    return cfg;
}

static grpc_ssl_certificate_config_reload_status fetch(void *user, grpc_ssl_server_certificate_config **config)
{
    cs_tls *t = user;
    grpc_ssl_certificate_config_reload_status rs = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    pthread_mutex_lock(&t->mu);
    bool changed = !t->loaded;
    for (int i = 0; i < 3 && !changed; i++) {
        struct stat st;
        file_id id;
        if (!t->path[i])
            continue;
        if (stat(t->path[i], &st) != 0)
            continue; /* mid-rotation: keep serving what we have */
        file_id_of(&st, &id);
        changed = !file_id_eq(&id, &t->seen[i]);
    }
    if (changed) {
        cs_error err;
        cs_error_clear(&err);
        file_id ids[3];
        memset(ids, 0, sizeof ids);
        grpc_ssl_server_certificate_config *c = load(t, ids, &err);
        if (c) {
            *config = c;
            memcpy(t->seen, ids, sizeof ids);
            if (t->loaded)
                cs_info("TLS certificate reloaded", "cert", t->path[0], NULL);
            t->loaded = true;
            rs = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
        } else {
            /* A half-written file: the old certificate stays until a good one. */
            cs_warn("TLS files changed but do not load; keeping the old certificate", "error", err.msg, NULL);
            rs = t->loaded ? GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED : GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return rs;
}

int cs_tls_new(const cs_tls_files *files, cs_tls **out, cs_error *err)
{
    cs_tls *t = cs_xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->path[0] = cs_xstrdup(files->cert);
    t->path[1] = cs_xstrdup(files->key);
    t->path[2] = cs_xstrdup(files->client_ca);
    /* Fail at start-up on unreadable files rather than at the first handshake. */
    file_id ids[3];
    grpc_ssl_server_certificate_config *c = load(t, ids, err);
    if (!c) {
        cs_tls_free(t);
        return -1;
    }
    grpc_ssl_server_certificate_config_destroy(c);
    *out = t;
    return 0;
}

grpc_server_credentials *cs_tls_server_credentials(cs_tls *t)
{
    grpc_ssl_client_certificate_request_type req = t->path[2]
                                                       ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                       : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    grpc_ssl_server_credentials_options *o =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(req, fetch, t);
    return grpc_ssl_server_credentials_create_with_options(o); /* takes o */
}

bool cs_tls_mutual(const cs_tls *t)
{
    return t->path[2] != NULL;
}

void cs_tls_free(cs_tls *t)
{
    if (!t)
        return;
    for (int i = 0; i < 3; i++)
        free(t->path[i]);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
