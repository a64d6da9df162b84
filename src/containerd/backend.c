/* The containerd backend's vtable and constructor. Ops not written yet stay
 * NULL, so the CRI layer answers UNIMPLEMENTED naming the method. */
#include "containerd/containerd.h"

#include <stdlib.h>
#include <string.h>

#include "backend/imageref.h"
#include "containerd/containers.h"
#include "containerd/events.h"
#include "containerd/imagecache.h"
#include "containerd/images.h"
#include "containerd/internal.h"
#include "containerd/registry.h"
#include "containerd/sandbox.h"
#include "util/mem.h"
#include "util/time.h"

static void ctrd_destroy(cs_backend *b)
{
    ctrd_backend *d = ctrd_of(b);
    /* The feed first: its exit hooks use everything below. */
    ctrd_events_stop(d);
    ctrd_io_free(d->io); /* its resume pass calls containerd: before the client goes */
    if (d->cache_started)
        ctrd_image_cache_stop(d);
    ctrd_stats_free(d);
    reg_client_free(d->registry);
    ctrd_views_free(d);
    pthread_mutex_destroy(&d->views_mu);
    pthread_mutex_destroy(&d->version_mu);
    free(d->version);
    ctrd_client_free(d->client);
    ctrd_pods_free(d);
    free(d->state_dir);
    free(d->cni_conf_dir);
    free(d->cni_bin_dir);
    free(d->snapshotter);
    free(d->pause_image);
    free(d->pause_binary);
    free(d);
}

static const cs_backend_ops ctrd_ops = {
    .name = "containerd",
    .destroy = ctrd_destroy,
    .version = ctrd_version,
    .info = ctrd_info,
    .status = ctrd_status,
    .image_list = ctrd_image_list,
    .image_status = ctrd_image_status,
    .image_pull = ctrd_image_pull,
    .image_remove = ctrd_image_remove,
    .image_fs_info = ctrd_image_fs_info,
    .sandbox_run = ctrd_sandbox_run,
    .sandbox_stop = ctrd_sandbox_stop,
    .sandbox_remove = ctrd_sandbox_remove,
    .sandbox_status = ctrd_sandbox_status,
    .sandbox_netns = ctrd_sandbox_netns,
    .sandbox_list = ctrd_sandbox_list,
    .container_create = ctrd_container_create,
    .container_start = ctrd_container_start,
    .container_stop = ctrd_container_stop,
    .container_remove = ctrd_container_remove,
    .container_status = ctrd_container_status,
    .container_list = ctrd_container_list,
    .container_update = ctrd_container_update,
    .container_reopen_log = ctrd_container_reopen_log,
    .events = ctrd_events,
    .container_exec_sync = ctrd_exec_sync,
    .exec_open = ctrd_exec_open,
    .attach_open = ctrd_attach_open,
    .container_stats = ctrd_container_stats,
    .container_stats_list = ctrd_container_stats_list,
    .sandbox_stats = ctrd_sandbox_stats,
    .sandbox_stats_list = ctrd_sandbox_stats_list,
    .sandbox_metrics_list = ctrd_sandbox_metrics_list,
};

int containerd_backend_new(const containerd_options *opts, cs_backend **out, cs_error *err)
{
    const char *ns = opts->ns && *opts->ns ? opts->ns : CTRD_DEFAULT_NAMESPACE;
    /* containerd's own CRI plugin owns k8s.io and reloads what it finds there. */
    if (!strcmp(ns, "k8s.io"))
        return cs_error_set(err, CS_ERR_INVALID,
                            "containerd namespace k8s.io belongs to containerd's own CRI plugin; use another");
    ctrd_backend *d = cs_xcalloc(1, sizeof *d);
    d->base.ops = &ctrd_ops;
    if (ctrd_client_new(opts->address ? opts->address : "/run/containerd/containerd.sock", ns, &d->client, err) !=
        0) {
        free(d);
        return -1;
    }
    d->cgroup_driver = opts->cgroup_driver;
    d->state_dir = cs_xasprintf("%s/%s", opts->state_dir ? opts->state_dir : "/run/crishim", ns);
    d->cni_conf_dir = opts->cni_conf_dir ? cs_xstrdup(opts->cni_conf_dir) : NULL;
    d->cni_bin_dir = opts->cni_bin_dir ? cs_xstrdup(opts->cni_bin_dir) : NULL;
    d->snapshotter = cs_xstrdup(CTRD_DEFAULT_SNAPSHOTTER);
    d->pause_image = cs_xstrdup(opts->pause_image ? opts->pause_image : "localhost/crishim/pause:latest");
    d->pause_binary = opts->pause_binary ? cs_xstrdup(opts->pause_binary) : NULL;
    /* Our own default lives under localhost/: built, never pulled (as the
     * Docker backend imports it). */
    cs_imageref pr;
    d->pause_is_default = d->pause_binary && cs_imageref_parse(d->pause_image, &pr, NULL) == 0 &&
                          !strcmp(pr.domain, "localhost");
    pthread_mutex_init(&d->views_mu, NULL);
    pthread_mutex_init(&d->version_mu, NULL);
    ctrd_pods_init(d);
    /* Zero fields keep the registry client's defaults. */
    reg_options ro = {.progress_timeout_ms = opts->progress_timeout_ms,
                      .max_concurrent_downloads = opts->max_concurrent_downloads};
    if (reg_client_new(&ro, &d->registry, err) != 0) {
        ctrd_destroy(&d->base);
        return -1;
    }
    ctrd_image_cache_start(d);
    d->cache_started = true;
    d->io = ctrd_io_new(ctrd_containers_resume, d);
    d->logdrain = ctrd_io_drain(d->io);
    ctrd_stats_new(d);
    ctrd_events_start(d);
    *out = &d->base;
    return 0;
}

int containerd_backend_probe(const char *address, int64_t timeout_ms, cs_arena *a, cs_engine_version *out,
                             cs_error *err)
{
    ctrd_backend d = {0};
    if (ctrd_client_new(address ? address : "/run/containerd/containerd.sock", CTRD_DEFAULT_NAMESPACE, &d.client,
                        err) != 0)
        return -1;
    cs_ctx ctx = {.deadline_ms = cs_time_mono_ms() + timeout_ms};
    int rc = ctrd_version(&d.base, &ctx, a, out, err);
    ctrd_client_free(d.client);
    return rc;
}
