/* The sandbox image. crishim ships its own static pause program; when the
 * configured pause image is missing, crishim imports that binary as a
 * one-file image, so sandboxes need no registry. Any other pause image is
 * pulled like a normal image. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/imageref.h"
#include "backend/tar.h"
#include "docker/internal.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/url.h"

#define PAUSE_MAX (8 * 1024 * 1024)

static int import_pause(docker_backend *d, const cs_ctx *ctx, const cs_imageref *r, cs_arena *a, cs_error *err)
{
    char *bin;
    size_t len;
    if (!d->pause_binary)
        return cs_error_set(err, CS_ERR_NOT_FOUND, "pause image %s is missing and no pause binary is configured",
                            d->pause_image);
    if (cs_read_file(d->pause_binary, PAUSE_MAX, &bin, &len, err) != 0)
        return cs_error_wrap(err, "pause image %s", d->pause_image);
    size_t tar_len;
    char *tar = cs_tar_one_file("pause", bin, len, &tar_len);
    free(bin);
    char *path = cs_arena_printf(a, "/images/create?fromSrc=-&repo=%s&tag=%s&changes=%s",
                                 cs_url_query_escape(cs_imageref_repo(r, a), a),
                                 cs_url_query_escape(r->tag[0] ? r->tag : "latest", a),
                                 cs_url_query_escape("ENTRYPOINT [\"/pause\"]", a));
    const char *headers[] = {"Content-Type: application/x-tar", NULL};
    docker_response resp;
    int rc = docker_request_ok(d->http, ctx, "POST", path, tar, tar_len, headers, &resp, err);
    free(tar);
    if (rc != 0)
        return cs_error_wrap(err, "import pause image %s", d->pause_image);
    docker_response_clear(&resp);
    cs_info("imported pause image", "image", d->pause_image, "from", d->pause_binary, NULL);
    return 0;
}

int docker_ensure_pause_image(docker_backend *d, const cs_ctx *ctx, cs_error *err)
{
    cs_arena *a = cs_arena_new();
    cs_image *img;
    int rc = docker_image_status(&d->base, ctx, d->pause_image, false, a, &img, err);
    if (rc == 0 && !img) {
        cs_imageref r;
        rc = cs_imageref_parse(d->pause_image, &r, err);
        /* Our own default lives under localhost/: import it. Others: pull. */
        if (rc == 0 && !strcmp(r.domain, "localhost") && d->pause_binary)
            rc = import_pause(d, ctx, &r, a, err);
        else if (rc == 0) {
            const char *id;
            rc = docker_image_pull(&d->base, ctx, d->pause_image, NULL, a, &id, err);
        }
    }
    cs_arena_free(a);
    return rc;
}
