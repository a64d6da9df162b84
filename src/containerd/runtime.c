/* Container records, snapshots and tasks as typed calls (runtime.h). Each
 * function is one containerd request: building it, sending it, and turning
 * the reply into plain C in the caller's arena. What "absent is success"
 * means is decided here once, so the sandbox and container code never look
 * at a gRPC code to be idempotent. */
#include "containerd/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "backend/state.h"
#include "containerd/api/services/containers/v1/containers.pb-c.h"
#include "containerd/api/services/snapshots/v1/snapshots.pb-c.h"
#include "containerd/api/services/tasks/v1/tasks.pb-c.h"
#include "containerd/content.h"
#include "containerd/runtime/v2/runc/options/oci.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#define CONTAINERS(m) "/containerd.services.containers.v1.Containers/" m
#define SNAPSHOTS(m) "/containerd.services.snapshots.v1.Snapshots/" m
#define TASKS(m) "/containerd.services.tasks.v1.Tasks/" m
#define RUNC_OPTIONS_TYPE "containerd.runc.v1.Options"

typedef Containerd__Services__Containers__V1__Container ctr_pb;

/* ---- helpers ---- */

static Google__Protobuf__Any *any_of(cs_arena *a, const char *type_url, const void *data, size_t len)
{
    Google__Protobuf__Any *any = cs_arena_alloc(a, sizeof *any);
    google__protobuf__any__init(any);
    any->type_url = (char *)type_url;
    any->value.data = (uint8_t *)data;
    any->value.len = len;
    return any;
}

static Google__Protobuf__Any *any_json(cs_arena *a, const char *type_url, const char *json)
{
    return any_of(a, type_url, json, strlen(json));
}

static const char *any_text(cs_arena *a, const Google__Protobuf__Any *any)
{
    if (!any || !any->value.data)
        return NULL;
    return cs_arena_strndup(a, (const char *)any->value.data, any->value.len);
}

/* Go's zero time (year 1) comes as a large negative number of seconds:
 * anything before the epoch means "not set". */
static int64_t ts_ns(const Google__Protobuf__Timestamp *t)
{
    return t && t->seconds > 0 ? t->seconds * 1000000000 + t->nanos : 0;
}

/* Runs a unary call whose reply we don't read; NOT_FOUND counts as success
 * when absent_ok. */
static int call_ignore(ctrd_backend *d, const cs_ctx *ctx, const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *reply, bool absent_ok, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    ProtobufCMessage *r;
    cs_error e;
    int rc = ctrd_unary(d->client, ctx, method, req, reply, NULL, a, &r, &e);
    cs_arena_free(a);
    if (rc == 0 || (absent_ok && e.code == CS_ERR_NOT_FOUND))
        return 0;
    if (err)
        *err = e;
    return -1;
}

/* ---- container records ---- */

static void record_from(const ctr_pb *c, bool with_spec, cs_arena *a, ctrd_record *out)
{
    memset(out, 0, sizeof *out);
    out->id = c->id;
    out->image = c->image ? c->image : "";
    out->snapshot_key = c->snapshot_key ? c->snapshot_key : "";
    out->created_ns = ts_ns(c->created_at);
    out->labels.n = c->n_labels;
    out->labels.items = cs_arena_array(a, c->n_labels + 1, sizeof *out->labels.items);
    for (size_t i = 0; i < c->n_labels; i++) {
        out->labels.items[i].key = c->labels[i]->key;
        out->labels.items[i].value = c->labels[i]->value;
    }
    for (size_t i = 0; i < c->n_extensions; i++)
        if (c->extensions[i]->key && !strcmp(c->extensions[i]->key, CTRD_EXT_STATE))
            out->state_json = any_text(a, c->extensions[i]->value);
    if (with_spec)
        out->spec_json = any_text(a, c->spec);
}

/* The runc shim's options: only the cgroup driver differs from its defaults. */
static Google__Protobuf__Any *runc_options(ctrd_backend *d, cs_arena *a)
{
    if (d->cgroup_driver != CS_CGROUP_SYSTEMD)
        return NULL;
    Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
    o.systemd_cgroup = true;
    size_t len = protobuf_c_message_get_packed_size(&o.base);
    uint8_t *buf = cs_arena_alloc(a, len + 1);
    protobuf_c_message_pack(&o.base, buf);
    return any_of(a, RUNC_OPTIONS_TYPE, buf, len);
}

static Containerd__Services__Containers__V1__Container__ExtensionsEntry **state_extension(cs_arena *a,
                                                                                           const char *json)
{
    Containerd__Services__Containers__V1__Container__ExtensionsEntry **v = cs_arena_array(a, 2, sizeof *v);
    v[0] = cs_arena_alloc(a, sizeof *v[0]);
    containerd__services__containers__v1__container__extensions_entry__init(v[0]);
    v[0]->key = CTRD_EXT_STATE;
    v[0]->value = any_json(a, CTRD_EXT_STATE_TYPE, json);
    return v;
}

int ctrd_record_new_id(cs_arena *a, const char **id, cs_error *err)
{
    unsigned char r[32];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return cs_error_errno(err, CS_ERR_INTERNAL, errno, "getrandom");
    char *s = cs_arena_alloc(a, 2 * sizeof r + 1);
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(s + 2 * i, 3, "%02x", r[i]);
    *id = s;
    return 0;
}

int ctrd_record_create(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const ctrd_record_new *r, cs_arena *a,
                       cs_error *err)
{
    ctr_pb c = CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
    Containerd__Services__Containers__V1__Container__Runtime rt =
        CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__RUNTIME__INIT;
    rt.name = CTRD_RUNTIME;
    rt.options = runc_options(d, a);
    c.id = (char *)r->id;
    c.runtime = &rt;
    c.image = (char *)(r->image ? r->image : "");
    if (r->labels) {
        c.n_labels = r->labels->n;
        c.labels = (Containerd__Services__Containers__V1__Container__LabelsEntry **)ctrd_map_entries(
            a, &containerd__services__containers__v1__container__labels_entry__descriptor, r->labels->items,
            r->labels->n);
    }
    c.spec = any_json(a, CTRD_SPEC_TYPE, r->spec_json ? r->spec_json : "{}");
    if (r->snapshot_key) {
        c.snapshotter = d->snapshotter;
        c.snapshot_key = (char *)r->snapshot_key;
    }
    if (r->state_json) {
        c.n_extensions = 1;
        c.extensions = state_extension(a, r->state_json);
    }
    Containerd__Services__Containers__V1__CreateContainerRequest req =
        CONTAINERD__SERVICES__CONTAINERS__V1__CREATE_CONTAINER_REQUEST__INIT;
    req.container = &c;
    ProtobufCMessage *reply;
    return ctrd_unary(d->client, ctx, CONTAINERS("Create"), &req.base,
                      &containerd__services__containers__v1__create_container_response__descriptor, lease, a, &reply,
                      err);
}

int ctrd_record_get(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_arena *a, ctrd_record *out,
                    cs_error *err)
{
    Containerd__Services__Containers__V1__GetContainerRequest req =
        CONTAINERD__SERVICES__CONTAINERS__V1__GET_CONTAINER_REQUEST__INIT;
    req.id = (char *)id;
    Containerd__Services__Containers__V1__GetContainerResponse *r;
    if (ctrd_unary(d->client, ctx, CONTAINERS("Get"), &req.base,
                   &containerd__services__containers__v1__get_container_response__descriptor, NULL, a,
                   (ProtobufCMessage **)&r, err) != 0)
        return -1;
    if (!r->container)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "container %s: not found", id);
    record_from(r->container, true, a, out);
    return 0;
}

/* A filter value in containerd's syntax: quoted, with " and \ escaped. */
static char *filter_quote(const char *v, cs_arena *a)
{
    size_t n = 0;
    for (const char *p = v; *p; p++)
        n += (*p == '"' || *p == '\\') ? 2 : 1;
    char *out = cs_arena_alloc(a, n + 3), *o = out;
    *o++ = '"';
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '"';
    return out;
}

int ctrd_record_list(ctrd_backend *d, const cs_ctx *ctx, const char *kind, const char *key, const char *value,
                     cs_arena *a, ctrd_record **out, size_t *n, cs_error *err)
{
    Containerd__Services__Containers__V1__ListContainersRequest req =
        CONTAINERD__SERVICES__CONTAINERS__V1__LIST_CONTAINERS_REQUEST__INIT;
    /* Conditions in one filter are ANDed; filters in the list are ORed. */
    char *f = cs_arena_printf(a, "labels.\"%s\"", CS_STATE_KIND);
    if (kind)
        f = cs_arena_printf(a, "%s==%s", f, filter_quote(kind, a));
    if (key)
        f = cs_arena_printf(a, "%s,labels.\"%s\"==%s", f, key, filter_quote(value ? value : "", a));
    char *filters[] = {f};
    req.n_filters = 1;
    req.filters = filters;
    Containerd__Services__Containers__V1__ListContainersResponse *r;
    if (ctrd_unary(d->client, ctx, CONTAINERS("List"), &req.base,
                   &containerd__services__containers__v1__list_containers_response__descriptor, NULL, a,
                   (ProtobufCMessage **)&r, err) != 0)
        return -1;
    *out = cs_arena_array(a, r->n_containers + 1, sizeof **out);
    *n = r->n_containers;
    for (size_t i = 0; i < r->n_containers; i++)
        record_from(r->containers[i], false, a, &(*out)[i]);
    return 0;
}

int ctrd_record_set_state(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *state_json, cs_arena *a,
                          cs_error *err)
{
    ctr_pb c = CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
    c.id = (char *)id;
    c.n_extensions = 1;
    c.extensions = state_extension(a, state_json);
    char *paths[] = {"extensions." CTRD_EXT_STATE};
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.n_paths = 1;
    mask.paths = paths;
    Containerd__Services__Containers__V1__UpdateContainerRequest req =
        CONTAINERD__SERVICES__CONTAINERS__V1__UPDATE_CONTAINER_REQUEST__INIT;
    req.container = &c;
    req.update_mask = &mask;
    ProtobufCMessage *reply;
    return ctrd_unary(d->client, ctx, CONTAINERS("Update"), &req.base,
                      &containerd__services__containers__v1__update_container_response__descriptor, NULL, a, &reply,
                      err);
}

int ctrd_record_delete(ctrd_backend *d, const cs_ctx *ctx, const char *id, cs_error *err)
{
    Containerd__Services__Containers__V1__DeleteContainerRequest req =
        CONTAINERD__SERVICES__CONTAINERS__V1__DELETE_CONTAINER_REQUEST__INIT;
    req.id = (char *)id;
    return call_ignore(d, ctx, CONTAINERS("Delete"), &req.base, &google__protobuf__empty__descriptor, true, err);
}

/* ---- snapshots ---- */

static void mounts_from(Containerd__Types__Mount **m, size_t n, cs_arena *a, ctrd_mount **out, size_t *nout)
{
    *out = cs_arena_array(a, n + 1, sizeof **out);
    *nout = n;
    for (size_t i = 0; i < n; i++) {
        (*out)[i].type = m[i]->type;
        (*out)[i].source = m[i]->source;
        (*out)[i].options = (const char **)m[i]->options;
        (*out)[i].n_options = m[i]->n_options;
    }
}

int ctrd_snapshot_prepare(ctrd_backend *d, const cs_ctx *ctx, const char *lease, const char *key,
                          const char *parent, cs_arena *a, ctrd_mount **mounts, size_t *n, cs_error *err)
{
    Containerd__Services__Snapshots__V1__PrepareSnapshotRequest req =
        CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
    req.snapshotter = d->snapshotter;
    req.key = (char *)key;
    req.parent = (char *)(parent ? parent : "");
    Containerd__Services__Snapshots__V1__PrepareSnapshotResponse *r;
    if (ctrd_unary(d->client, ctx, SNAPSHOTS("Prepare"), &req.base,
                   &containerd__services__snapshots__v1__prepare_snapshot_response__descriptor, lease, a,
                   (ProtobufCMessage **)&r, err) != 0)
        return -1;
    mounts_from(r->mounts, r->n_mounts, a, mounts, n);
    return 0;
}

int ctrd_snapshot_mounts(ctrd_backend *d, const cs_ctx *ctx, const char *key, cs_arena *a, ctrd_mount **mounts,
                         size_t *n, cs_error *err)
{
    Containerd__Services__Snapshots__V1__MountsRequest req = CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_REQUEST__INIT;
    req.snapshotter = d->snapshotter;
    req.key = (char *)key;
    Containerd__Services__Snapshots__V1__MountsResponse *r;
    if (ctrd_unary(d->client, ctx, SNAPSHOTS("Mounts"), &req.base,
                   &containerd__services__snapshots__v1__mounts_response__descriptor, NULL, a,
                   (ProtobufCMessage **)&r, err) != 0)
        return -1;
    mounts_from(r->mounts, r->n_mounts, a, mounts, n);
    return 0;
}

int ctrd_snapshot_remove(ctrd_backend *d, const cs_ctx *ctx, const char *key, cs_error *err)
{
    Containerd__Services__Snapshots__V1__RemoveSnapshotRequest req =
        CONTAINERD__SERVICES__SNAPSHOTS__V1__REMOVE_SNAPSHOT_REQUEST__INIT;
    req.snapshotter = d->snapshotter;
    req.key = (char *)key;
    return call_ignore(d, ctx, SNAPSHOTS("Remove"), &req.base, &google__protobuf__empty__descriptor, true, err);
}

const char *ctrd_snapshot_upperdir(const ctrd_mount *m, size_t n, cs_arena *a)
{
    for (size_t i = 0; i < n; i++) {
        if (!m[i].type || strcmp(m[i].type, "overlay"))
            continue;
        for (size_t j = 0; j < m[i].n_options; j++)
            if (!strncmp(m[i].options[j], "upperdir=", 9))
                return cs_arena_strdup(a, m[i].options[j] + 9);
    }
    return NULL;
}

/* ---- tasks ---- */

static void task_from(const Containerd__V1__Types__Process *p, ctrd_task *out)
{
    out->status = (ctrd_task_status)p->status;
    out->pid = p->pid;
    out->exit_status = p->exit_status;
    out->exited_ns = ts_ns(p->exited_at);
}

static char *path_or_empty(const char *p)
{
    return (char *)(p ? p : "");
}

int ctrd_task_create(ctrd_backend *d, const cs_ctx *ctx, const char *id, const ctrd_mount *rootfs, size_t n_rootfs,
                     const ctrd_stdio_paths *io, uint32_t *pid, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    Containerd__Services__Tasks__V1__CreateTaskRequest req =
        CONTAINERD__SERVICES__TASKS__V1__CREATE_TASK_REQUEST__INIT;
    req.container_id = (char *)id;
    req.n_rootfs = n_rootfs;
    req.rootfs = cs_arena_array(a, n_rootfs + 1, sizeof *req.rootfs);
    for (size_t i = 0; i < n_rootfs; i++) {
        Containerd__Types__Mount *m = cs_arena_alloc(a, sizeof *m);
        containerd__types__mount__init(m);
        m->type = (char *)rootfs[i].type;
        m->source = (char *)rootfs[i].source;
        m->options = (char **)rootfs[i].options;
        m->n_options = rootfs[i].n_options;
        req.rootfs[i] = m;
    }
    if (io) {
        req.stdin = path_or_empty(io->in);
        req.stdout = path_or_empty(io->out);
        req.stderr = path_or_empty(io->err);
        req.terminal = io->terminal;
    }
    req.options = runc_options(d, a);
    Containerd__Services__Tasks__V1__CreateTaskResponse *r;
    int rc = ctrd_unary(d->client, ctx, TASKS("Create"), &req.base,
                        &containerd__services__tasks__v1__create_task_response__descriptor, NULL, a,
                        (ProtobufCMessage **)&r, err);
    if (rc == 0 && pid)
        *pid = r->pid;
    cs_arena_free(a);
    return rc;
}

int ctrd_task_start(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, uint32_t *pid,
                    cs_error *err)
{
    cs_arena *a = cs_arena_new();
    Containerd__Services__Tasks__V1__StartRequest req = CONTAINERD__SERVICES__TASKS__V1__START_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = path_or_empty(exec_id);
    Containerd__Services__Tasks__V1__StartResponse *r;
    int rc = ctrd_unary(d->client, ctx, TASKS("Start"), &req.base,
                        &containerd__services__tasks__v1__start_response__descriptor, NULL, a,
                        (ProtobufCMessage **)&r, err);
    if (rc == 0 && pid)
        *pid = r->pid;
    cs_arena_free(a);
    return rc;
}

int ctrd_task_get(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, ctrd_task *out,
                  cs_error *err)
{
    cs_arena *a = cs_arena_new();
    Containerd__Services__Tasks__V1__GetRequest req = CONTAINERD__SERVICES__TASKS__V1__GET_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = path_or_empty(exec_id);
    Containerd__Services__Tasks__V1__GetResponse *r;
    int rc = ctrd_unary(d->client, ctx, TASKS("Get"), &req.base,
                        &containerd__services__tasks__v1__get_response__descriptor, NULL, a, (ProtobufCMessage **)&r,
                        err);
    if (rc == 0 && !r->process)
        rc = cs_error_set(err, CS_ERR_NOT_FOUND, "task %s: not found", id);
    if (rc == 0)
        task_from(r->process, out);
    cs_arena_free(a);
    return rc;
}

int ctrd_task_list(ctrd_backend *d, const cs_ctx *ctx, cs_arena *a, const char ***ids, ctrd_task **tasks, size_t *n,
                   cs_error *err)
{
    Containerd__Services__Tasks__V1__ListTasksRequest req = CONTAINERD__SERVICES__TASKS__V1__LIST_TASKS_REQUEST__INIT;
    Containerd__Services__Tasks__V1__ListTasksResponse *r;
    if (ctrd_unary(d->client, ctx, TASKS("List"), &req.base,
                   &containerd__services__tasks__v1__list_tasks_response__descriptor, NULL, a,
                   (ProtobufCMessage **)&r, err) != 0)
        return -1;
    *ids = cs_arena_array(a, r->n_tasks + 1, sizeof **ids);
    *tasks = cs_arena_array(a, r->n_tasks + 1, sizeof **tasks);
    *n = r->n_tasks;
    for (size_t i = 0; i < r->n_tasks; i++) {
        /* List answers with the container id in `id` (and container_id
         * empty in 1.6): take whichever is set. */
        const Containerd__V1__Types__Process *p = r->tasks[i];
        (*ids)[i] = p->container_id && *p->container_id ? p->container_id : p->id;
        task_from(p, &(*tasks)[i]);
    }
    return 0;
}

int ctrd_task_kill(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, int signal, bool all,
                   cs_error *err)
{
    Containerd__Services__Tasks__V1__KillRequest req = CONTAINERD__SERVICES__TASKS__V1__KILL_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = path_or_empty(exec_id);
    req.signal = (uint32_t)signal;
    req.all = all;
    /* A process that has finished answers NOT_FOUND ("process already
     * finished"): what the caller wanted has happened. */
    return call_ignore(d, ctx, TASKS("Kill"), &req.base, &google__protobuf__empty__descriptor, true, err);
}

/* A call about a task that another thread deleted meanwhile (the event
 * feed's exit hook, a stop) hears "ttrpc: closed" from the shim going away
 * rather than NOT_FOUND: true when the task is gone now. */
static bool gone_meanwhile(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id,
                           const cs_error *e)
{
    if (e->code == CS_ERR_DEADLINE || e->code == CS_ERR_CANCELLED || cs_ctx_done(ctx))
        return false;
    ctrd_task t;
    cs_error gone;
    return ctrd_task_get(d, ctx, id, exec_id, &t, &gone) != 0 && gone.code == CS_ERR_NOT_FOUND;
}

int ctrd_task_delete(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, ctrd_task *out,
                     cs_error *err)
{
    cs_arena *a = cs_arena_new();
    ProtobufCMessage *reply;
    cs_error e;
    int rc;
    if (exec_id && *exec_id) {
        Containerd__Services__Tasks__V1__DeleteProcessRequest req =
            CONTAINERD__SERVICES__TASKS__V1__DELETE_PROCESS_REQUEST__INIT;
        req.container_id = (char *)id;
        req.exec_id = (char *)exec_id;
        rc = ctrd_unary(d->client, ctx, TASKS("DeleteProcess"), &req.base,
                        &containerd__services__tasks__v1__delete_response__descriptor, NULL, a, &reply, &e);
    } else {
        Containerd__Services__Tasks__V1__DeleteTaskRequest req =
            CONTAINERD__SERVICES__TASKS__V1__DELETE_TASK_REQUEST__INIT;
        req.container_id = (char *)id;
        rc = ctrd_unary(d->client, ctx, TASKS("Delete"), &req.base,
                        &containerd__services__tasks__v1__delete_response__descriptor, NULL, a, &reply, &e);
    }
    if (out)
        memset(out, 0, sizeof *out);
    if (rc == 0 && out) {
        const Containerd__Services__Tasks__V1__DeleteResponse *r = (void *)reply;
        out->status = CTRD_TASK_STOPPED;
        out->pid = r->pid;
        out->exit_status = r->exit_status;
        out->exited_ns = ts_ns(r->exited_at);
    }
    cs_arena_free(a);
    if (rc == 0 || e.code == CS_ERR_NOT_FOUND)
        return 0;
    if (gone_meanwhile(d, ctx, id, exec_id, &e)) /* gone is what it wanted */
        return 0;
    if (err)
        *err = e;
    return -1;
}

int ctrd_task_wait(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, ctrd_task *out,
                   cs_error *err)
{
    cs_arena *a = cs_arena_new();
    Containerd__Services__Tasks__V1__WaitRequest req = CONTAINERD__SERVICES__TASKS__V1__WAIT_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = path_or_empty(exec_id);
    Containerd__Services__Tasks__V1__WaitResponse *r;
    cs_error e;
    int rc = ctrd_unary(d->client, ctx, TASKS("Wait"), &req.base,
                        &containerd__services__tasks__v1__wait_response__descriptor, NULL, a, (ProtobufCMessage **)&r,
                        &e);
    if (rc != 0 && e.code != CS_ERR_NOT_FOUND && gone_meanwhile(d, ctx, id, exec_id, &e))
        cs_error_set(&e, CS_ERR_NOT_FOUND, "task %s is gone (deleted while waited for)", id);
    if (rc != 0 && err)
        *err = e;
    if (rc == 0 && out) {
        memset(out, 0, sizeof *out);
        out->status = CTRD_TASK_STOPPED;
        out->exit_status = r->exit_status;
        out->exited_ns = ts_ns(r->exited_at);
    }
    cs_arena_free(a);
    return rc;
}

int ctrd_task_exec(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, const char *process_json,
                   const ctrd_stdio_paths *io, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    Containerd__Services__Tasks__V1__ExecProcessRequest req =
        CONTAINERD__SERVICES__TASKS__V1__EXEC_PROCESS_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = (char *)exec_id;
    req.spec = any_json(a, CTRD_PROCESS_TYPE, process_json);
    if (io) {
        req.stdin = path_or_empty(io->in);
        req.stdout = path_or_empty(io->out);
        req.stderr = path_or_empty(io->err);
        req.terminal = io->terminal;
    }
    ProtobufCMessage *reply;
    int rc = ctrd_unary(d->client, ctx, TASKS("Exec"), &req.base,
                        &containerd__services__tasks__v1__exec_process_response__descriptor, NULL, a, &reply, err);
    cs_arena_free(a);
    return rc;
}

int ctrd_task_close_stdin(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, cs_error *err)
{
    Containerd__Services__Tasks__V1__CloseIORequest req = CONTAINERD__SERVICES__TASKS__V1__CLOSE_IOREQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = path_or_empty(exec_id);
    req.stdin = true;
    return call_ignore(d, ctx, TASKS("CloseIO"), &req.base, &google__protobuf__empty__descriptor, false, err);
}

int ctrd_task_resize(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *exec_id, uint32_t width,
                     uint32_t height, cs_error *err)
{
    Containerd__Services__Tasks__V1__ResizePtyRequest req = CONTAINERD__SERVICES__TASKS__V1__RESIZE_PTY_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = path_or_empty(exec_id);
    req.width = width;
    req.height = height;
    return call_ignore(d, ctx, TASKS("ResizePty"), &req.base, &google__protobuf__empty__descriptor, false, err);
}

int ctrd_task_update(ctrd_backend *d, const cs_ctx *ctx, const char *id, const char *resources_json, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    Containerd__Services__Tasks__V1__UpdateTaskRequest req =
        CONTAINERD__SERVICES__TASKS__V1__UPDATE_TASK_REQUEST__INIT;
    req.container_id = (char *)id;
    req.resources = any_json(a, CTRD_RESOURCES_TYPE, resources_json);
    int rc = call_ignore(d, ctx, TASKS("Update"), &req.base, &google__protobuf__empty__descriptor, false, err);
    cs_arena_free(a);
    return rc;
}
