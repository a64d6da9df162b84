/* crishim-bench-images: the ImageService on containerd, crishim beside
 * containerd's own CRI plugin. Both answer runtime.v1 on their sockets, so
 * the same calls go to each: PullImage of an image whose layers are present,
 * ImageStatus, ListImages; p50/p99 latency and calls/s, and the ratio of
 * crishim's p50 to the CRI plugin's (≤ 1.0 is the goal). Run it through
 * scripts/bench-containerd.sh, which starts both:
 *
 *   crishim-bench-images --crishim unix:/crishim.sock --cri unix:/containerd.sock --image REF
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "samples.h"
#include "runtime/v1/api.pb-c.h"

#define IMG(m) "/runtime.v1.ImageService/" m

static const char *image;


static void must(const tc_result *res, const char *what)
{
    if (res->code != GRPC_STATUS_OK) {
        fprintf(stderr, "bench: %s failed: %d %s\n", what, res->code, res->details);
        exit(1);
    }
}

static void call(tc_client *c, const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, method, req, d, &r, 120000, &res);
    must(&res, method);
    protobuf_c_message_free_unpacked(r, NULL);
}

static void op_pull(tc_client *c)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    call(c, IMG("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor);
}

static void op_status(tc_client *c)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    req.image = &spec;
    call(c, IMG("ImageStatus"), &req.base, &runtime__v1__image_status_response__descriptor);
}

static void op_list(tc_client *c)
{
    Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
    call(c, IMG("ListImages"), &req.base, &runtime__v1__list_images_response__descriptor);
}

typedef struct worker {
    pthread_t t;
    const char *target;
    void (*op)(tc_client *);
    int iterations;
    samples *s;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    tc_client *c = tc_connect(w->target);
    for (int i = 0; i < w->iterations; i++) {
        double t0 = tc_now_ms();
        w->op(c);
        add_sample(w->s, tc_now_ms() - t0);
    }
    tc_close(c);
    return NULL;
}

typedef struct result {
    double p50, p99, per_sec;
} result;

static result measure(const char *target, void (*op)(tc_client *), int clients, int total)
{
    samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    worker *w = calloc((size_t)clients, sizeof *w);
    int each = total / clients > 0 ? total / clients : 1;
    double t0 = tc_now_ms();
    for (int i = 0; i < clients; i++) {
        w[i] = (worker){.target = target, .op = op, .iterations = each, .s = &s};
        pthread_create(&w[i].t, NULL, work, &w[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(w[i].t, NULL);
    double secs = (tc_now_ms() - t0) / 1000;
    result r = {.p50 = pct(&s, 0.5), .p99 = pct(&s, 0.99), .per_sec = (double)s.n / secs};
    free(s.ms);
    free(w);
    return r;
}

static void row(const char *name, const char *crishim, const char *cri, void (*op)(tc_client *), int clients,
                int total)
{
    result a = measure(crishim, op, clients, total);
    result b = measure(cri, op, clients, total);
    printf("| %-24s | %3d | %9.3f | %9.3f | %8.0f | %9.3f | %9.3f | %8.0f | %5.2f |\n", name, clients, a.p50, a.p99,
           a.per_sec, b.p50, b.p99, b.per_sec, b.p50 > 0 ? a.p50 / b.p50 : 0);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *crishim = NULL, *cri = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--crishim"))
            crishim = argv[i + 1];
        else if (!strcmp(argv[i], "--cri"))
            cri = argv[i + 1];
        else if (!strcmp(argv[i], "--image"))
            image = argv[i + 1];
    }
    if (!crishim || !cri || !image) {
        fprintf(stderr, "usage: crishim-bench-images --crishim unix:/sock --cri unix:/sock --image REF\n");
        return 2;
    }
    /* Both pull once for real; the rows time pulls of present layers. */
    tc_client *c = tc_connect(crishim);
    op_pull(c);
    tc_close(c);
    c = tc_connect(cri);
    op_pull(c);
    tc_close(c);
    printf("| operation                | clients | crishim p50 ms | p99 ms | calls/s | containerd CRI p50 ms | p99 ms | "
           "calls/s | ratio |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    row("PullImage (present)", crishim, cri, op_pull, 1, 50);
    row("ImageStatus", crishim, cri, op_status, 1, 1000);
    row("ImageStatus", crishim, cri, op_status, 8, 2000);
    row("ListImages", crishim, cri, op_list, 1, 1000);
    row("ListImages", crishim, cri, op_list, 8, 2000);
    return 0;
}
