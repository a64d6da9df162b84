/* How crishim keeps its state in an engine: labels on the engine's
 * containers. crishim is stateless; a restart rebuilds everything by listing
 * the engine, so these keys and value formats are a stored format: containers
 * made by an older build must still read back. CRI labels and annotations
 * travel under their own prefixes so a user's key can never collide with
 * ours. Also here: the names containers get, CRI's list filters, id-prefix
 * resolution and exit reasons, which every engine reports the same way.
 *
 * Everything works on cs_kvs (the engine's label map, however it was read),
 * allocated in the caller's arena. */
#ifndef CS_BACKEND_STATE_H
#define CS_BACKEND_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

#define CS_STATE_KIND "io.crishim.kind" /* "sandbox" or "container" */
#define CS_STATE_KIND_SANDBOX "sandbox"
#define CS_STATE_KIND_CONTAINER "container"
#define CS_STATE_SANDBOX_ID "io.crishim.sandbox-id"
#define CS_STATE_NAME "io.crishim.name" /* pod name (sandbox) or container name */
#define CS_STATE_POD_NAME "io.crishim.pod-name"
#define CS_STATE_POD_NAMESPACE "io.crishim.pod-namespace"
#define CS_STATE_POD_UID "io.crishim.pod-uid"
#define CS_STATE_ATTEMPT "io.crishim.attempt"
#define CS_STATE_CREATED "io.crishim.created" /* ns since the epoch, set by crishim */
#define CS_STATE_LOG_DIRECTORY "io.crishim.log-directory"
#define CS_STATE_LOG_PATH "io.crishim.log-path"     /* absolute */
#define CS_STATE_IMAGE "io.crishim.image"           /* as the client named it */
#define CS_STATE_NS_MODES "io.crishim.namespaces"   /* "net,pid,ipc" as CRI numbers */
#define CS_STATE_HANDLER "io.crishim.runtime-handler"
#define CS_STATE_MOUNTS "io.crishim.mounts" /* JSON: the CRI mounts as requested */
#define CS_STATE_LABEL_PREFIX "io.crishim.label."
#define CS_STATE_ANNOTATION_PREFIX "io.crishim.annotation."

/* ---- the label map ---- */

/* The value under key, NULL when absent. */
const char *cs_state_get(const cs_kvs *labels, const char *key);
/* The pairs whose key starts with prefix, the prefix stripped. */
cs_kvs cs_state_prefixed(const cs_kvs *labels, const char *prefix, cs_arena *a);
/* All of want's pairs are in have (CRI's label selector). */
bool cs_state_labels_match(const cs_kvs *have, const cs_kvs *want);

/* ---- encode: the labels an engine container carries ---- */

/* A sandbox's labels; created_ns is the creation time to record. */
cs_kvs cs_state_sandbox_labels(const cs_sandbox_config *c, int64_t created_ns, cs_arena *a);
/* A container's labels: sandbox_id is the full id of its sandbox, log_path
 * the absolute log file ("" for none). */
cs_kvs cs_state_container_labels(const cs_container_config *c, const char *sandbox_id, const char *log_path,
                                 int64_t created_ns, cs_arena *a);
/* "net,pid,ipc" as CRI numbers, and back (missing or bad: POD each). */
char *cs_state_ns_modes_format(cs_ns_mode net, cs_ns_mode pid, cs_ns_mode ipc, cs_arena *a);
void cs_state_ns_modes_parse(const char *s, cs_ns_mode *net, cs_ns_mode *pid, cs_ns_mode *ipc);
/* The mounts label: the CRI mounts as requested, for ContainerStatus. */
char *cs_state_mounts_format(const cs_mount *m, size_t n, cs_arena *a);
void cs_state_mounts_parse(const char *json, cs_arena *a, cs_mount **out, size_t *n);

/* ---- decode: what CRI reports back ---- */

/* Fills a sandbox's identity from its labels: name, namespace, uid, attempt,
 * created time, namespace modes, labels, annotations, handler and log
 * directory (absent strings become ""). Leaves id, state and ip alone. */
void cs_state_sandbox_decode(const cs_kvs *labels, cs_sandbox *s, cs_arena *a);
/* The same for a container: sandbox id, name, attempt, created time, image,
 * log path, labels, annotations, reason and message "" (the mounts are
 * decoded apart: only the status needs them). */
void cs_state_container_decode(const cs_kvs *labels, cs_container *c, cs_arena *a);

/* ---- names ---- */

/* dockershim's names, which tools still grep for:
 * k8s_POD_<pod>_<namespace>_<uid>_<attempt> and
 * k8s_<container>_<pod>_<namespace>_<uid>_<attempt>. */
char *cs_state_sandbox_name(const cs_sandbox_config *c, cs_arena *a);
char *cs_state_container_name(const char *container, uint32_t attempt, const char *pod, const char *ns,
                              const char *uid, cs_arena *a);

/* ---- filters ---- */

/* CRI's list filters: id prefix, (sandbox id prefix,) state, label selector.
 * A NULL filter matches everything. */
bool cs_state_sandbox_wanted(const cs_sandbox *s, const cs_sandbox_filter *f);
bool cs_state_container_wanted(const cs_container *c, const cs_container_filter *f);

/* ---- ids ---- */

/* 64 lowercase hex digits: an engine id as kubelet sends it. */
bool cs_state_is_full_id(const char *id);
/* Resolves id (full or a prefix) among ids of one kind ("sandbox",
 * "container": it names the object in errors). An exact match wins; else a
 * unique prefix. NOT_FOUND when none, INVALID when ambiguous or empty. *full
 * points into ids. */
int cs_state_resolve_prefix(const char *kind, const char *id, const char *const *ids, size_t n, const char **full,
                            cs_error *err);

/* ---- exit ---- */

/* CRI's reason for an exited container: OOMKilled, else Completed (code 0)
 * or Error; message is the engine's error text ("" when none). */
void cs_state_exit_reason(bool oom_killed, int32_t exit_code, const char *engine_error, const char **reason,
                          const char **message);

#endif
