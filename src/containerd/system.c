/* System operations of the containerd backend: version, info (snapshotter,
 * runtime and plugins from introspection), readiness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "containerd/api/services/introspection/v1/introspection.pb-c.h"
#include "containerd/api/services/version/v1/version.pb-c.h"
#include "containerd/internal.h"
#include "containerd/sandbox.h"
#include "google/protobuf/empty.pb-c.h"
#include "util/json.h"
#include "util/mem.h"

#define VERSION_METHOD "/containerd.services.version.v1.Version/Version"
#define PLUGINS_METHOD "/containerd.services.introspection.v1.Introspection/Plugins"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const char *ctrd_api_version(const char *version, cs_arena *a)
{
    const char *v = version[0] == 'v' ? version + 1 : version;
    int major = 0, minor = 0;
    if (sscanf(v, "%d.%d", &major, &minor) != 2 || major < 1)
        return "unknown";
    if (major == 1)
        return cs_arena_printf(a, "1.%d", minor);
    return cs_arena_printf(a, "1.%d", 8 + minor); /* 2.0 speaks 1.8, 2.1 1.9 (2.x only so far) */
}

/* containerd's version is read once per event-feed connection, as Docker's
 * comes with the API negotiation: a restart (an upgrade) breaks the
 * subscription, which bumps d->gen (as any image event does: one more read
 * then), so the next Version asks again. Without a subscription every call
 * asks containerd. */
int ctrd_version(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_version *out, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    out->engine = "containerd";
    uint64_t g = atomic_load(&d->gen);
    bool live = atomic_load(&d->events_ok);
    pthread_mutex_lock(&d->version_mu);
    const char *known = live && d->version && d->version_gen == g ? cs_arena_strdup(a, d->version) : NULL;
    pthread_mutex_unlock(&d->version_mu);
    if (!known) {
        Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
        Containerd__Services__Version__V1__VersionResponse *r;
        if (ctrd_unary(d->client, ctx, VERSION_METHOD, &req.base,
                       &containerd__services__version__v1__version_response__descriptor, NULL, a,
                       (ProtobufCMessage **)&r, err) != 0)
            return -1;
        known = r->version && *r->version ? r->version : "unknown";
        if (live) {
            pthread_mutex_lock(&d->version_mu);
            free(d->version);
            d->version = cs_xstrdup(known);
            d->version_gen = g;
            pthread_mutex_unlock(&d->version_mu);
        }
    }
    out->version = known;
    out->api_version = ctrd_api_version(out->version, a);
    return 0;
}

static int cgroup_version(void)
{
    struct statfs sf;
    if (statfs("/sys/fs/cgroup", &sf) != 0)
        return 0;
    return sf.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
}

/* The plugins as crictl info shows them: "type.id" with ok or the init error. */
static void plugins_json(cs_jw *w, const Containerd__Services__Introspection__V1__PluginsResponse *r)
{
    cs_jw_key(w, "plugins");
    cs_jw_arr_begin(w);
    for (size_t i = 0; i < r->n_plugins; i++) {
        const Containerd__Services__Introspection__V1__Plugin *p = r->plugins[i];
        cs_jw_obj_begin(w);
        cs_jw_kv_str(w, "type", p->type);
        cs_jw_kv_str(w, "id", p->id);
        cs_jw_kv_str(w, "status", p->init_err ? "error" : "ok");
        if (p->init_err)
            cs_jw_kv_str(w, "error", p->init_err->message);
        cs_jw_obj_end(w);
    }
    cs_jw_arr_end(w);
}

int ctrd_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_info *out, cs_error *err)
{
    ctrd_backend *d = ctrd_of(b);
    memset(out, 0, sizeof *out);
    if (ctrd_version(b, ctx, a, &out->version, err) != 0)
        return -1;
    out->cgroup_driver = d->cgroup_driver;
    out->cgroup_version = cgroup_version();
    out->storage_driver = d->snapshotter;
    out->endpoint = cs_arena_printf(a, "unix://%s", ctrd_client_address(d->client));

    Containerd__Services__Introspection__V1__PluginsRequest req =
        CONTAINERD__SERVICES__INTROSPECTION__V1__PLUGINS_REQUEST__INIT;
    Containerd__Services__Introspection__V1__PluginsResponse *r;
    if (ctrd_unary(d->client, ctx, PLUGINS_METHOD, &req.base,
                   &containerd__services__introspection__v1__plugins_response__descriptor, NULL, a,
                   (ProtobufCMessage **)&r, err) != 0)
        return -1;
    /* The snapshotter's root is <containerd root>/io.containerd.snapshotter.v1.<name>. */
    char snap_type[] = "io.containerd.snapshotter.v1";
    for (size_t i = 0; i < r->n_plugins; i++) {
        const Containerd__Services__Introspection__V1__Plugin *p = r->plugins[i];
        if (strcmp(p->type, snap_type) || strcmp(p->id, d->snapshotter))
            continue;
        for (size_t k = 0; k < p->n_exports; k++) {
            if (strcmp(p->exports[k]->key, "root"))
                continue;
            out->snapshotter_root = p->exports[k]->value;
            char *root = cs_arena_strdup(a, p->exports[k]->value);
            char *slash = strrchr(root, '/');
            if (slash && slash != root)
                *slash = '\0';
            out->root_dir = root;
        }
    }
    cs_jw w;
    cs_jw_init(&w);
    cs_jw_obj_begin(&w);
    cs_jw_kv_str(&w, "namespace", ctrd_client_namespace(d->client));
    cs_jw_kv_str(&w, "snapshotter", d->snapshotter);
    cs_jw_kv_str(&w, "runtime", CTRD_RUNTIME);
    plugins_json(&w, r);
    cs_jw_obj_end(&w);
    out->detail_json = cs_arena_strdup(a, cs_jw_str_view(&w));
    cs_jw_free(&w);
    return 0;
}

void ctrd_status(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_status *out)
{
    memset(out, 0, sizeof *out);
    cs_engine_version v;
    cs_error err;
    if (ctrd_version(b, ctx, a, &v, &err) != 0) {
        out->runtime_reason = "ContainerdNotReady";
        out->runtime_message = cs_arena_strdup(a, err.msg);
        out->network_reason = "ContainerdNotReady";
        out->network_message = "containerd does not answer";
        return;
    }
    out->runtime_ready = true;
    ctrd_network_status(ctrd_of(b), a, out);
}
