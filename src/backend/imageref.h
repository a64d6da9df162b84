/* Image references as kubelet and crictl send them, parsed and normalised the
 * way the Docker and containerd tools do (distribution's reference grammar):
 *     busybox                    -> docker.io/library/busybox:latest
 *     localhost:5000/a/b:1       -> localhost:5000/a/b:1
 *     repo@sha256:<64 hex>       -> docker.io/library/repo@sha256:...
 *     sha256:<64 hex>, <64 hex>  -> an image id
 * Backend-neutral: both engines report tags and digests in this form. */
#ifndef CS_IMAGEREF_H
#define CS_IMAGEREF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"
#include "util/error.h"

#define CS_IMAGEREF_DEFAULT_DOMAIN "docker.io"

typedef struct cs_imageref {
    bool is_id;        /* the whole string named an image id */
    char id[80];       /* "sha256:<64 hex>" when is_id */
    char domain[256];  /* "docker.io", "127.0.0.1:5000" */
    char path[256];    /* "library/busybox" */
    char tag[129];     /* "" when absent */
    char digest[140];  /* "sha256:<hex>", "" when absent */
} cs_imageref;

/* INVALID_ARGUMENT naming what is wrong for a malformed reference. */
int cs_imageref_parse(const char *s, cs_imageref *out, cs_error *err);

/* "domain/path" */
char *cs_imageref_repo(const cs_imageref *r, cs_arena *a);
/* Fully qualified: "domain/path@digest" when there is a digest, else
 * "domain/path:tag" (tag defaulting to latest). For ids, the id. */
char *cs_imageref_full(const cs_imageref *r, cs_arena *a);
/* The normalised form of a reference an engine reported ("busybox:latest"),
 * or NULL when it does not parse (e.g. Docker's "<none>:<none>"). */
char *cs_imageref_normalize(const char *s, cs_arena *a);

#endif
