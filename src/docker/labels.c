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

cs_kvs docker_labels_prefixed(const cs_json *j, int labels, const char *prefix, cs_arena *a)
{
    cs_kvs out = {0};
    int count = cs_json_count(j, labels);
    out.items = cs_arena_array(a, (size_t)count + 1, sizeof *out.items);
    size_t plen = strlen(prefix);
    int k;
    for (int v = cs_json_first_member(j, labels, &k); v >= 0; v = cs_json_next_member(j, labels, v, &k)) {
        char *key = cs_json_str(j, k, a);
        if (!key || strncmp(key, prefix, plen) != 0)
            continue;
        out.items[out.n].key = key + plen;
        out.items[out.n].value = cs_json_str(j, v, a);
        if (!out.items[out.n].value)
            out.items[out.n].value = "";
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

bool docker_labels_match(const cs_kvs *have, const cs_kvs *want)
{
    for (size_t i = 0; i < want->n; i++) {
        bool found = false;
        for (size_t k = 0; k < have->n && !found; k++)
            found = !strcmp(have->items[k].key, want->items[i].key) &&
                    !strcmp(have->items[k].value, want->items[i].value);
        if (!found)
            return false;
    }
    return true;
}

char *docker_ns_modes_format(cs_ns_mode net, cs_ns_mode pid, cs_ns_mode ipc, cs_arena *a)
{
    return cs_arena_printf(a, "%d,%d,%d", (int)net, (int)pid, (int)ipc);
}

void docker_ns_modes_parse(const char *s, cs_ns_mode *net, cs_ns_mode *pid, cs_ns_mode *ipc)
{
    int n = 0, p = 0, i = 0;
    if (s)
        sscanf(s, "%d,%d,%d", &n, &p, &i);
    *net = (cs_ns_mode)n;
    *pid = (cs_ns_mode)p;
    *ipc = (cs_ns_mode)i;
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

bool docker_is_full_id(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++)
        if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
            return false;
    return n == 64;
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
    if (docker_is_full_id(id)) {
        if (resolve_full(d, ctx, kind, id, err) != 0)
            return -1;
        *full = cs_arena_strdup(a, id);
        return 0;
    }
    docker_response resp = {0};
    cs_json *j;
    if (docker_list_kind(d, ctx, kind, NULL, &resp, &j, err) != 0)
        return -1;
    size_t len = strlen(id);
    const char *found = NULL;
    int matches = 0;
    for (int it = cs_json_first(j, 0); it >= 0; it = cs_json_next(j, 0, it)) {
        char *cid = cs_json_get_str(j, it, "Id", a);
        if (cid && !strncmp(cid, id, len)) {
            matches++;
            found = cid;
            if (strlen(cid) == len) { /* exact beats prefix */
                matches = 1;
                break;
            }
        }
    }
    docker_json_release(&resp, j);
    if (matches == 0)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "%s %s not found", kind, id);
    if (matches > 1)
        return cs_error_set(err, CS_ERR_INVALID, "%s id prefix %s is ambiguous", kind, id);
    *full = found;
    return 0;
}
