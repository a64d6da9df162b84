/* State shared by the files of the Docker backend. */
#ifndef CS_DOCKER_INTERNAL_H
#define CS_DOCKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend/backend.h"
#include "backend/security.h"
#include "docker/http.h"
#include "util/json.h"

typedef struct docker_logs docker_logs;

typedef struct docker_backend {
    cs_backend base; /* first: a cs_backend* is a docker_backend* */
    docker_client *http;
    char *pause_image;  /* the sandbox image */
    char *pause_binary; /* imported as pause_image when it is missing */
    /* pause_image was seen present: RunPodSandbox skips the check until a
     * create says it is gone (sandbox.c). */
    atomic_bool pause_present;
    docker_logs *logs;  /* CRI log files, one stream per running container */
    /* Host capabilities this engine doesn't know (Docker 20.10 predates
     * CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE): left out of expansions. */
    _Atomic uint64_t unknown_caps;
    /* Stats composition and its samples (backend/stats.h). */
    struct cs_stats *stats;
    /* image id → the repo digest ContainerStatus reports (containers.c): an
     * id is content-addressed, so its digest never changes. */
    pthread_mutex_t refs_mu;
    struct {
        char id[80];
        char ref[400];
    } refs[64];
    unsigned refs_next;
    /* Container events (events.c). */
    cs_event_hub *events;
    docker_streamset *events_set;
    pthread_t events_thread;
    bool events_started;
    atomic_bool events_stop;
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
/* A stop or delete: 404 (already gone) and 304 (already stopped) are success,
 * as CRI's idempotent stop and remove want. */
int docker_call_idempotent(docker_backend *d, const cs_ctx *ctx, const char *method, const char *path, cs_error *err);
/* DELETE /containers/{id}?force=1&v=1, idempotently; when another removal
 * of it is already in progress (Docker's 409), waits (a bounded poll) for
 * that one to finish: two concurrent removals both succeed. */
int docker_remove_container(docker_backend *d, const cs_ctx *ctx, const char *id, cs_error *err);

/* security.c */
/* "key": ["a", "b"] in an open object. */
void docker_put_strs(cs_jw *w, const char *key, const cs_strs *s);
/* CapAdd, CapDrop, SecurityOpt, ReadonlyRootfs, MaskedPaths, ReadonlyPaths,
 * GroupAdd members of an open HostConfig object. */
void docker_write_security(cs_jw *w, const cs_security_policy *p, cs_arena *a);
/* Remembers a capability the engine refused by name ("unknown capability:
 * \"CAP_X\""); true when it is newly learned, so the caller may retry. */
bool docker_note_unknown_cap(docker_backend *d, const char *msg);

/* containers.c: CpuPeriod … CpusetMems members of an open object */
void docker_put_resources(cs_jw *w, const cs_resources *r);

/* pause.c */
int docker_ensure_pause_image(docker_backend *d, const cs_ctx *ctx, cs_error *err);

/* sandbox.c */
int docker_sandbox_run(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_config *cfg, cs_arena *a, const char **id,
                       cs_error *err);
int docker_sandbox_stop(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
int docker_sandbox_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
int docker_sandbox_netns(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, const char **path,
                         cs_error *err);
int docker_sandbox_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                          cs_sandbox **out, cs_error *err);
int docker_sandbox_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a, cs_sandbox ***out,
                        size_t *n, cs_error *err);

/* containers.c */
int docker_container_create(cs_backend *b, const cs_ctx *ctx, const cs_container_config *cfg, cs_arena *a,
                            const char **id, cs_error *err);
int docker_container_start(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
int docker_container_stop(cs_backend *b, const cs_ctx *ctx, const char *id, int64_t timeout_s, cs_error *err);
int docker_container_remove(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
int docker_container_status(cs_backend *b, const cs_ctx *ctx, const char *id, bool verbose, cs_arena *a,
                            cs_container **out, cs_error *err);
int docker_container_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                          cs_container ***out, size_t *n, cs_error *err);
int docker_container_update(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_resources *r, cs_error *err);
int docker_container_reopen_log(cs_backend *b, const cs_ctx *ctx, const char *id, cs_error *err);
/* Stops (force-removes) every crishim container of a sandbox. */
int docker_sandbox_containers(docker_backend *d, const cs_ctx *ctx, const char *sandbox_id, bool remove,
                              cs_error *err);

/* stats.c */
struct cs_stats *docker_stats_new(docker_backend *d);
int docker_container_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_container_stats **out,
                           cs_error *err);
int docker_container_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_container_filter *f, cs_arena *a,
                                 cs_container_stats ***out, size_t *n, cs_error *err);

int docker_sandbox_stats(cs_backend *b, const cs_ctx *ctx, const char *id, cs_arena *a, cs_sandbox_stats **out,
                         cs_error *err);
int docker_sandbox_stats_list(cs_backend *b, const cs_ctx *ctx, const cs_sandbox_filter *f, cs_arena *a,
                              cs_sandbox_stats ***out, size_t *n, cs_error *err);
int docker_sandbox_metrics_list(cs_backend *b, const cs_ctx *ctx, cs_arena *a, cs_sandbox_stats ***out, size_t *n,
                                cs_error *err);

/* events.c */
void docker_events_start(docker_backend *d);
void docker_events_stop(docker_backend *d);
cs_event_hub *docker_events(cs_backend *b);

/* hijack.c: a POST whose connection becomes a raw stream (*fd, caller closes) */
int docker_hijack(docker_backend *d, const cs_ctx *ctx, const char *path, const char *body, int *fd, cs_error *err);

/* stdio.c */
int docker_exec_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, const cs_stdio_opts *o,
                     cs_stdio **out, cs_error *err);
int docker_attach_open(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_stdio_opts *o, cs_stdio **out,
                       cs_error *err);

/* exec.c */
/* Docker has no "kill exec": signals the exec's process, which runs on this host. */
void docker_exec_kill(docker_backend *d, const char *eid, const char *why);
int docker_exec_sync(cs_backend *b, const cs_ctx *ctx, const char *id, const cs_strs *cmd, int64_t timeout_s,
                     cs_arena *a, cs_exec_result *out, cs_error *err);

/* logs.c: CRI log files written from Docker's log streams, one thread for all */
docker_logs *docker_logs_new(docker_backend *d);
void docker_logs_free(docker_logs *l);
/* Opens the container's log file and makes its exit wait for the stream
 * (no-op if known). Before the engine starts the container: -1 when there is
 * nothing to follow (no path, the file can't be opened). */
int docker_logs_register(docker_logs *l, const char *id, const char *log_path);
/* Starts the registered container's stream (once the engine started it). */
void docker_logs_follow(docker_logs *l, const char *id);
/* The start failed: drops a registered container that is not followed. */
void docker_logs_forget(docker_logs *l, const char *id);
int docker_logs_reopen(docker_logs *l, const char *id, cs_error *err);
/* Before reporting these (full) ids as exited: waits until each one's log is
 * drained (every byte in the file), at most 2 s in all and never past ctx's
 * deadline (ctx may be NULL). Also waits for the pass that resumes the
 * streams after a restart. */
void docker_logs_wait_drained(docker_logs *l, const char *const *ids, size_t n, const cs_ctx *ctx);

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
