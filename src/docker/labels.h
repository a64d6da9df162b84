/* crishim's state in Docker: the labels of backend/state.h read from and
 * written to Docker's JSON, and the engine calls that find crishim's
 * containers by them. */
#ifndef CS_DOCKER_LABELS_H
#define CS_DOCKER_LABELS_H

#include "backend/backend.h"
#include "backend/state.h"
#include "docker/http.h"
#include "util/json.h"

/* The Docker files' short names for the state keys (backend/state.h). */
#define DL_KIND CS_STATE_KIND
#define DL_KIND_SANDBOX CS_STATE_KIND_SANDBOX
#define DL_KIND_CONTAINER CS_STATE_KIND_CONTAINER
#define DL_SANDBOX_ID CS_STATE_SANDBOX_ID
#define DL_LOG_DIRECTORY CS_STATE_LOG_DIRECTORY
#define DL_LOG_PATH CS_STATE_LOG_PATH
#define DL_MOUNTS CS_STATE_MOUNTS

/* The label value, NULL when absent. */
char *docker_label(const cs_json *j, int labels, const char *key, cs_arena *a);
/* Every label of a Labels object (a missing object gives none). */
cs_kvs docker_labels_of(const cs_json *j, int labels, cs_arena *a);
/* Writes every item of kvs as "prefix+key": value members of an open object. */
void docker_labels_put(cs_jw *w, const char *prefix, const cs_kvs *kvs);

/* GET /containers/json for crishim's containers of one kind, optionally of one
 * sandbox. The caller releases with docker_json_release. */
struct docker_backend;
int docker_list_kind(struct docker_backend *d, const cs_ctx *ctx, const char *kind, const char *sandbox_id,
                     docker_response *resp, cs_json **json, cs_error *err);
/* Resolves an id or unique prefix among crishim's containers of a kind to the
 * full id. NOT_FOUND when none, INVALID when ambiguous. */
int docker_resolve_id(struct docker_backend *d, const cs_ctx *ctx, const char *kind, const char *id, cs_arena *a,
                      const char **full, cs_error *err);

#endif
