/* Labels as state; see state.h. */
#include "backend/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

/* ---- the label map ---- */

const char *cs_state_get(const cs_kvs *labels, const char *key)
{
    for (size_t i = 0; i < labels->n; i++)
        if (labels->items[i].key && !strcmp(labels->items[i].key, key))
            return labels->items[i].value;
    return NULL;
}

cs_kvs cs_state_prefixed(const cs_kvs *labels, const char *prefix, cs_arena *a)
{
    cs_kvs out = {.items = cs_arena_array(a, labels->n + 1, sizeof *out.items)};
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < labels->n; i++) {
        const cs_kv *kv = &labels->items[i];
        if (!kv->key || strncmp(kv->key, prefix, plen) != 0)
            continue;
        out.items[out.n].key = kv->key + plen;
        out.items[out.n].value = kv->value ? kv->value : "";
        out.n++;
    }
    return out;
}

bool cs_state_labels_match(const cs_kvs *have, const cs_kvs *want)
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

/* ---- encode ---- */

typedef struct kvs_builder {
    cs_kvs kvs;
    size_t cap;
} kvs_builder;

static void kb_init(kvs_builder *b, size_t cap, cs_arena *a)
{
    b->kvs.items = cs_arena_array(a, cap + 1, sizeof *b->kvs.items);
    b->kvs.n = 0;
    b->cap = cap;
}

static void kb_put(kvs_builder *b, const char *key, const char *value)
{
    if (b->kvs.n < b->cap)
        b->kvs.items[b->kvs.n++] = (cs_kv){.key = key, .value = value};
}

/* The user's pairs under our prefix. */
static void kb_put_prefixed(kvs_builder *b, const char *prefix, const cs_kvs *kvs, cs_arena *a)
{
    for (size_t i = 0; i < kvs->n; i++)
        kb_put(b, cs_arena_printf(a, "%s%s", prefix, kvs->items[i].key), kvs->items[i].value);
}

char *cs_state_ns_modes_format(cs_ns_mode net, cs_ns_mode pid, cs_ns_mode ipc, cs_arena *a)
{
    return cs_arena_printf(a, "%d,%d,%d", (int)net, (int)pid, (int)ipc);
}

void cs_state_ns_modes_parse(const char *s, cs_ns_mode *net, cs_ns_mode *pid, cs_ns_mode *ipc)
{
    int n = 0, p = 0, i = 0;
    if (s)
        sscanf(s, "%d,%d,%d", &n, &p, &i);
    *net = (cs_ns_mode)n;
    *pid = (cs_ns_mode)p;
    *ipc = (cs_ns_mode)i;
}

cs_kvs cs_state_sandbox_labels(const cs_sandbox_config *c, int64_t created_ns, cs_arena *a)
{
    kvs_builder b;
    kb_init(&b, 10 + c->labels.n + c->annotations.n, a);
    kb_put(&b, CS_STATE_KIND, CS_STATE_KIND_SANDBOX);
    kb_put(&b, CS_STATE_NAME, c->name);
    kb_put(&b, CS_STATE_POD_NAME, c->name);
    kb_put(&b, CS_STATE_POD_NAMESPACE, c->ns);
    kb_put(&b, CS_STATE_POD_UID, c->uid);
    kb_put(&b, CS_STATE_ATTEMPT, cs_arena_printf(a, "%u", c->attempt));
    kb_put(&b, CS_STATE_CREATED, cs_arena_printf(a, "%lld", (long long)created_ns));
    kb_put(&b, CS_STATE_LOG_DIRECTORY, c->log_directory ? c->log_directory : "");
    kb_put(&b, CS_STATE_NS_MODES, cs_state_ns_modes_format(c->net, c->pid, c->ipc, a));
    kb_put(&b, CS_STATE_HANDLER, c->runtime_handler ? c->runtime_handler : "");
    kb_put_prefixed(&b, CS_STATE_LABEL_PREFIX, &c->labels, a);
    kb_put_prefixed(&b, CS_STATE_ANNOTATION_PREFIX, &c->annotations, a);
    return b.kvs;
}

/* Short keys keep the label small: it rides on every list item. */
char *cs_state_mounts_format(const cs_mount *mounts, size_t n, cs_arena *a)
{
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        const cs_mount *m = &mounts[i];
        cs_jw_obj_begin(&w);
        cs_jw_kv_str(&w, "c", m->container_path);
        cs_jw_kv_str(&w, "h", m->host_path);
        cs_jw_kv_bool(&w, "ro", m->readonly);
        cs_jw_kv_bool(&w, "z", m->selinux_relabel);
        cs_jw_kv_int(&w, "p", m->propagation);
        cs_jw_obj_end(&w);
    }
    cs_jw_arr_end(&w);
    char *s = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return s;
}

void cs_state_mounts_parse(const char *json, cs_arena *a, cs_mount **out, size_t *n)
{
    cs_json *m;
    if (!json || cs_json_parse(json, strlen(json), &m, NULL) != 0)
        return;
    int count = cs_json_count(m, 0);
    *out = cs_arena_array(a, (size_t)(count > 0 ? count : 0) + 1, sizeof **out);
    *n = 0;
    for (int it = cs_json_first(m, 0); it >= 0; it = cs_json_next(m, 0, it)) {
        cs_mount *x = &(*out)[(*n)++];
        x->container_path = cs_json_get_str(m, it, "c", a);
        x->host_path = cs_json_get_str(m, it, "h", a);
        x->readonly = cs_json_get_bool(m, it, "ro", false);
        x->selinux_relabel = cs_json_get_bool(m, it, "z", false);
        x->propagation = (int)cs_json_get_int64(m, it, "p", 0);
    }
    cs_json_free(m);
}

cs_kvs cs_state_container_labels(const cs_container_config *c, const char *sandbox_id, const char *log_path,
                                 int64_t created_ns, cs_arena *a)
{
    kvs_builder b;
    kb_init(&b, 8 + c->labels.n + c->annotations.n, a);
    kb_put(&b, CS_STATE_KIND, CS_STATE_KIND_CONTAINER);
    kb_put(&b, CS_STATE_SANDBOX_ID, sandbox_id);
    kb_put(&b, CS_STATE_NAME, c->name);
    kb_put(&b, CS_STATE_ATTEMPT, cs_arena_printf(a, "%u", c->attempt));
    kb_put(&b, CS_STATE_CREATED, cs_arena_printf(a, "%lld", (long long)created_ns));
    kb_put(&b, CS_STATE_IMAGE, c->image);
    kb_put(&b, CS_STATE_LOG_PATH, log_path);
    kb_put(&b, CS_STATE_MOUNTS, cs_state_mounts_format(c->mounts, c->n_mounts, a));
    kb_put_prefixed(&b, CS_STATE_LABEL_PREFIX, &c->labels, a);
    kb_put_prefixed(&b, CS_STATE_ANNOTATION_PREFIX, &c->annotations, a);
    return b.kvs;
}

/* ---- decode ---- */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static uint32_t attempt_of(const cs_kvs *labels)
{
    const char *att = cs_state_get(labels, CS_STATE_ATTEMPT);
    return att ? (uint32_t)strtoul(att, NULL, 10) : 0;
}

static int64_t created_of(const cs_kvs *labels)
{
    const char *created = cs_state_get(labels, CS_STATE_CREATED);
    return created ? strtoll(created, NULL, 10) : 0;
}

void cs_state_sandbox_decode(const cs_kvs *labels, cs_sandbox *s, cs_arena *a)
{
    s->name = or_empty(cs_state_get(labels, CS_STATE_POD_NAME));
    s->ns = or_empty(cs_state_get(labels, CS_STATE_POD_NAMESPACE));
    s->uid = or_empty(cs_state_get(labels, CS_STATE_POD_UID));
    s->attempt = attempt_of(labels);
    s->created_ns = created_of(labels);
    cs_state_ns_modes_parse(cs_state_get(labels, CS_STATE_NS_MODES), &s->net, &s->pid, &s->ipc);
    s->labels = cs_state_prefixed(labels, CS_STATE_LABEL_PREFIX, a);
    s->annotations = cs_state_prefixed(labels, CS_STATE_ANNOTATION_PREFIX, a);
    s->runtime_handler = or_empty(cs_state_get(labels, CS_STATE_HANDLER));
    s->log_directory = or_empty(cs_state_get(labels, CS_STATE_LOG_DIRECTORY));
}

void cs_state_container_decode(const cs_kvs *labels, cs_container *c, cs_arena *a)
{
    c->sandbox_id = or_empty(cs_state_get(labels, CS_STATE_SANDBOX_ID));
    c->name = or_empty(cs_state_get(labels, CS_STATE_NAME));
    c->attempt = attempt_of(labels);
    c->created_ns = created_of(labels);
    c->image = or_empty(cs_state_get(labels, CS_STATE_IMAGE));
    c->log_path = or_empty(cs_state_get(labels, CS_STATE_LOG_PATH));
    c->labels = cs_state_prefixed(labels, CS_STATE_LABEL_PREFIX, a);
    c->annotations = cs_state_prefixed(labels, CS_STATE_ANNOTATION_PREFIX, a);
    c->reason = c->message = "";
}

/* ---- names ---- */

char *cs_state_sandbox_name(const cs_sandbox_config *c, cs_arena *a)
{
    return cs_arena_printf(a, "k8s_POD_%s_%s_%s_%u", c->name, c->ns, c->uid, c->attempt);
}

char *cs_state_container_name(const char *container, uint32_t attempt, const char *pod, const char *ns,
                              const char *uid, cs_arena *a)
{
    return cs_arena_printf(a, "k8s_%s_%s_%s_%s_%u", container, pod, ns, uid, attempt);
}

/* ---- filters ---- */

static bool has_prefix(const char *s, const char *prefix)
{
    return !prefix || !*prefix || !strncmp(s ? s : "", prefix, strlen(prefix));
}

bool cs_state_sandbox_wanted(const cs_sandbox *s, const cs_sandbox_filter *f)
{
    if (!f)
        return true;
    if (!has_prefix(s->id, f->id))
        return false;
    if (f->has_state && s->state != f->state)
        return false;
    return cs_state_labels_match(&s->labels, &f->labels);
}

bool cs_state_container_wanted(const cs_container *c, const cs_container_filter *f)
{
    if (!f)
        return true;
    if (!has_prefix(c->id, f->id) || !has_prefix(c->sandbox_id, f->sandbox_id))
        return false;
    if (f->has_state && c->state != f->state)
        return false;
    return cs_state_labels_match(&c->labels, &f->labels);
}

/* ---- ids ---- */

bool cs_state_is_full_id(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++)
        if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
            return false;
    return n == 64;
}

int cs_state_resolve_prefix(const char *kind, const char *id, const char *const *ids, size_t n, const char **full,
                            cs_error *err)
{
    if (!id || !*id)
        return cs_error_set(err, CS_ERR_INVALID, "id is empty");
    size_t len = strlen(id);
    const char *found = NULL;
    int matches = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ids[i] || strncmp(ids[i], id, len) != 0)
            continue;
        matches++;
        found = ids[i];
        if (strlen(ids[i]) == len) { /* exact beats prefix */
            matches = 1;
            break;
        }
    }
    if (matches == 0)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "%s %s not found", kind, id);
    if (matches > 1)
        return cs_error_set(err, CS_ERR_INVALID, "%s id prefix %s is ambiguous", kind, id);
    *full = found;
    return 0;
}

/* ---- exit ---- */

void cs_state_exit_reason(bool oom_killed, int32_t exit_code, const char *engine_error, const char **reason,
                          const char **message)
{
    if (oom_killed)
        *reason = "OOMKilled";
    else
        *reason = exit_code == 0 ? "Completed" : "Error";
    *message = engine_error ? engine_error : "";
}
