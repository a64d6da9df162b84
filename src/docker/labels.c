/* Labels as state; see labels.h. */
#include "docker/labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"
#include "util/url.h"

char *docker_label(const cs_json *j, int labels, const char *key, cs_arena *a)
{
    return cs_json_str(j, cs_json_key(j, labels, key), a);
}

cs_kvs docker_labels_of(const cs_json *j, int labels, cs_arena *a)
{
    cs_kvs out = {0};
    int count = cs_json_count(j, labels);
    out.items = cs_arena_array(a, (size_t)(count > 0 ? count : 0) + 1, sizeof *out.items);
    int k;
    for (int v = cs_json_first_member(j, labels, &k); v >= 0; v = cs_json_next_member(j, labels, v, &k)) {
        char *key = cs_json_str(j, k, a);
        if (!key)
            continue;
        out.items[out.n].key = key;
        out.items[out.n].value = cs_json_str(j, v, a);
        out.n++;
    }
    return out;
}

void docker_labels_put(cs_jw *w, const char *prefix, const cs_kvs *kvs)
{
    char key[1024];
    for (size_t i = 0; i < kvs->n; i++) {
        snprintf(key, sizeof key, "%s%s", prefix, kvs->items[i].key);
        cs_jw_kv_str(w, key, kvs->items[i].value);
    }
}

int docker_list_kind(docker_backend *d, const cs_ctx *ctx, const char *kind, const char *sandbox_id,
                     docker_response *resp, cs_json **json, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    char *filters = sandbox_id ? cs_arena_printf(a, "{\"label\":[\"%s=%s\",\"%s=%s\"]}", DL_KIND, kind,
                                                 DL_SANDBOX_ID, sandbox_id)
                               : cs_arena_printf(a, "{\"label\":[\"%s=%s\"]}", DL_KIND, kind);
    char *path = cs_arena_printf(a, "/containers/json?all=1&filters=%s", cs_url_query_escape(filters, a));
    int rc = docker_get_json(d, ctx, path, resp, json, err);
    cs_arena_free(a);
    return rc;
}

/* A full id (what kubelet always sends) is checked with one inspect instead
 * of a list of every container. */
static int resolve_full(docker_backend *d, const cs_ctx *ctx, const char *kind, const char *id, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    docker_response resp;
    int rc = docker_request(d->http, ctx, "GET", cs_arena_printf(a, "/containers/%s/json", id), NULL, 0, NULL, &resp,
                            err);
    if (rc == 0) {
        cs_json *j = NULL;
        if (resp.status == 404)
            rc = cs_error_set(err, CS_ERR_NOT_FOUND, "%s %s not found", kind, id);
        else if (resp.status >= 400)
            rc = docker_error_from_response(&resp, err);
        else if (cs_json_parse(resp.body, resp.body_len, &j, err) != 0)
            rc = -1;
        else if (!cs_json_str_eq(j, cs_json_key(j, cs_json_get(j, 0, "Config.Labels"), DL_KIND), kind))
            rc = cs_error_set(err, CS_ERR_NOT_FOUND, "%s %s not found", kind, id);
        cs_json_free(j);
        docker_response_clear(&resp);
    }
    cs_arena_free(a);
    return rc;
}

int docker_resolve_id(docker_backend *d, const cs_ctx *ctx, const char *kind, const char *id, cs_arena *a,
                      const char **full, cs_error *err)
{
    if (!id || !*id)
        return cs_error_set(err, CS_ERR_INVALID, "id is empty");
    if (cs_state_is_full_id(id)) {
        if (resolve_full(d, ctx, kind, id, err) != 0)
            return -1;
        *full = cs_arena_strdup(a, id);
        return 0;
    }
    docker_response resp = {0};
    cs_json *j;
    if (docker_list_kind(d, ctx, kind, NULL, &resp, &j, err) != 0)
        return -1;
    int count = cs_json_count(j, 0);
    const char **ids = cs_arena_array(a, (size_t)(count > 0 ? count : 0) + 1, sizeof *ids);
    size_t n = 0;
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it))
        ids[n++] = cs_json_get_str(j, it, "Id", a);
    docker_json_release(&resp, j);
    return cs_state_resolve_prefix(kind, id, ids, n, full, err);
}
