/* State shared by the files of the Docker backend. */
#ifndef CS_DOCKER_INTERNAL_H
#define CS_DOCKER_INTERNAL_H

#include "backend/backend.h"
#include "docker/http.h"
#include "util/json.h"

typedef struct docker_backend {
    cs_backend base; /* first: a cs_backend* is a docker_backend* */
    docker_client *http;
} docker_backend;

static inline docker_backend *docker_of(cs_backend *b)
{
    return (docker_backend *)b;
}

/* GET path and parse the JSON body (>= 400 becomes an error). The document
 * borrows resp->body: free both with docker_json_release. */
int docker_get_json(docker_backend *d, const cs_ctx *ctx, const char *path, docker_response *resp, cs_json **json,
                    cs_error *err);
void docker_json_release(docker_response *resp, cs_json *json);

/* system.c */
int docker_version(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_version *out, cs_error *err);
int docker_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_info *out, cs_error *err);
void docker_status(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_engine_status *out);

/* images.c */
int docker_image_list(cs_backend *b, const cs_ctx *ctx, const char *filter_ref, cs_arena *a, cs_image ***out,
                      size_t *n, cs_error *err);
int docker_image_status(cs_backend *b, const cs_ctx *ctx, const char *ref, bool verbose, cs_arena *a, cs_image **out,
                        cs_error *err);
int docker_image_pull(cs_backend *b, const cs_ctx *ctx, const char *ref, const cs_auth *auth, cs_arena *a,
                      const char **image_id, cs_error *err);
int docker_image_remove(cs_backend *b, const cs_ctx *ctx, const char *ref, cs_error *err);
int docker_image_fs_info(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_fs_usage *image_fs,
                         cs_fs_usage *container_fs, bool *has_container_fs, cs_error *err);

#endif
