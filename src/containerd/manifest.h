/* Image manifests, indexes and image configs (Docker v2 schema 2 and OCI), as
 * the registry sends them: pure parsing over the JSON reader, no I/O, so the
 * pull's decisions (which platform, which layers, which diff ids) are unit-
 * tested on fixtures. Bad or missing fields fail with INVALID_ARGUMENT naming
 * the field. Only sha256 digests are accepted (reg_desc holds 80 bytes). */
#ifndef CS_CONTAINERD_MANIFEST_H
#define CS_CONTAINERD_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "containerd/registry.h"
#include "util/arena.h"
#include "util/error.h"

#define MF_INDEX_OCI "application/vnd.oci.image.index.v1+json"
#define MF_INDEX_DOCKER "application/vnd.docker.distribution.manifest.list.v2+json"
#define MF_MANIFEST_OCI "application/vnd.oci.image.manifest.v1+json"
#define MF_MANIFEST_DOCKER "application/vnd.docker.distribution.manifest.v2+json"
#define MF_CONFIG_OCI "application/vnd.oci.image.config.v1+json"
#define MF_CONFIG_DOCKER "application/vnd.docker.container.image.v1+json"

bool mf_is_index(const char *media_type);
/* A single-platform manifest media type (Docker v2 or OCI). */
bool mf_is_manifest(const char *media_type);
/* "sha256:" and 64 lowercase hex digits. */
bool mf_digest_valid(const char *digest);

/* From an index, the manifest for os/arch (variant ignored for amd64; for
 * other architectures the first entry of that os/arch); NOT_FOUND naming the
 * platform. */
int mf_index_select(const char *body, size_t len, const char *os, const char *arch, reg_desc *out, cs_error *err);

typedef struct mf_manifest {
    reg_desc config;
    reg_desc *layers; /* in arena */
    size_t n_layers;
} mf_manifest;
int mf_manifest_parse(const char *body, size_t len, cs_arena *a, mf_manifest *out, cs_error *err);

/* Every string and array in arena a; absent fields are NULL / 0. */
typedef struct mf_image_config {
    const char **diff_ids; /* rootfs.diff_ids */
    size_t n_diff_ids;
    const char *user, *working_dir, *stop_signal;
    const char **env, **entrypoint, **cmd;
    size_t n_env, n_entrypoint, n_cmd;
    const char **volumes; /* config.Volumes keys */
    size_t n_volumes;
    const char *os, *arch;
    int64_t created_ns;
} mf_image_config;
int mf_config_parse(const char *body, size_t len, cs_arena *a, mf_image_config *out, cs_error *err);

/* Chain ids: c0 = d0, cn = sha256(c(n-1) + " " + dn), as "sha256:<hex>";
 * out[i] in arena. INVALID_ARGUMENT naming a diff id that is not a sha256
 * digest. */
int mf_chain_ids(const char *const *diff_ids, size_t n, cs_arena *a, const char ***out, cs_error *err);

/* sha256 of data as "sha256:<hex>" into out (at least 72 bytes). */
void mf_sha256_digest(const void *data, size_t len, char out[72]);

#endif
