/* How crishim keeps its state in Docker: labels on the containers. A restart
 * of crishim rebuilds everything by listing the engine. CRI labels and
 * annotations travel under their own prefixes so a user's key can never
 * collide with ours. */
#ifndef CS_DOCKER_LABELS_H
#define CS_DOCKER_LABELS_H

#include "backend/backend.h"
#include "docker/http.h"
#include "util/json.h"

#define DL_KIND "io.crishim.kind" /* "sandbox" or "container" */
#define DL_KIND_SANDBOX "sandbox"
#define DL_KIND_CONTAINER "container"
#define DL_SANDBOX_ID "io.crishim.sandbox-id"
#define DL_NAME "io.crishim.name" /* pod name (sandbox) or container name */
#define DL_POD_NAME "io.crishim.pod-name"
#define DL_POD_NAMESPACE "io.crishim.pod-namespace"
#define DL_POD_UID "io.crishim.pod-uid"
#define DL_ATTEMPT "io.crishim.attempt"
#define DL_CREATED "io.crishim.created" /* ns since the epoch, set by crishim */
#define DL_LOG_DIRECTORY "io.crishim.log-directory"
#define DL_LOG_PATH "io.crishim.log-path" /* absolute */
#define DL_IMAGE "io.crishim.image"       /* as the client named it */
#define DL_NS_MODES "io.crishim.namespaces" /* "net,pid,ipc" as CRI numbers */
#define DL_HANDLER "io.crishim.runtime-handler"
#define DL_MOUNTS "io.crishim.mounts" /* JSON: the CRI mounts as requested */
#define DL_LABEL_PREFIX "io.crishim.label."
#define DL_ANNOTATION_PREFIX "io.crishim.annotation."

/* The label value, NULL when absent. */
char *docker_label(const cs_json *j, int labels, const char *key, cs_arena *a);
/* Labels under prefix, with the prefix stripped. */
cs_kvs docker_labels_prefixed(const cs_json *j, int labels, const char *prefix, cs_arena *a);
/* Writes every item of kvs as "prefix+key": value members of an open object. */
void docker_labels_put(cs_jw *w, const char *prefix, const cs_kvs *kvs);
/* All of want's pairs are in have. */
bool docker_labels_match(const cs_kvs *have, const cs_kvs *want);
/* "pid:2" style helpers for the namespace modes label. */
char *docker_ns_modes_format(cs_ns_mode net, cs_ns_mode pid, cs_ns_mode ipc, cs_arena *a);
void docker_ns_modes_parse(const char *s, cs_ns_mode *net, cs_ns_mode *pid, cs_ns_mode *ipc);

/* GET /containers/json for crishim's containers of one kind, optionally of one
 * sandbox. The caller releases with docker_json_release. */
struct docker_backend;
int docker_list_kind(struct docker_backend *d, const cs_ctx *ctx, const char *kind, const char *sandbox_id,
                     docker_response *resp, cs_json **json, cs_error *err);
/* 64 lowercase hex digits: an engine id as kubelet sends it. */
bool docker_is_full_id(const char *id);
/* Resolves an id or unique prefix among crishim's containers of a kind to the
 * full id. NOT_FOUND when none, INVALID when ambiguous. */
int docker_resolve_id(struct docker_backend *d, const cs_ctx *ctx, const char *kind, const char *id, cs_arena *a,
                      const char **full, cs_error *err);

#endif
