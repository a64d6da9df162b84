/* crishim-bench-steps: the pod lifecycle step by step on containerd,
 * crishim beside containerd's own CRI plugin on the same kind of private
 * containerd. Both answer runtime.v1, so each round sends the very same
 * requests to one and then the other (alternating, so drift in the machine
 * hits both alike); p50/p99 per step and the ratio of crishim's p50 to the
 * plugin's (≤ 1.0 is the goal). Run through scripts/bench-containerd.sh:
 *
 *   crishim-bench-steps --crishim unix:/crishim.sock --cri unix:/containerd.sock --image REF [--rounds N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cristeps.h"
#include "runtime/v1/api.pb-c.h"
#include "samples.h"

static void pull(tc_client *c, const char *image)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    ProtobufCMessage *r = NULL;
    tc_result res;
    tc_unary(c, "/runtime.v1.ImageService/PullImage", &req.base, &runtime__v1__pull_image_response__descriptor, &r,
             300000, &res);
    if (res.code != GRPC_STATUS_OK) {
        fprintf(stderr, "bench: pull %s: %s\n", image, res.details);
        exit(1);
    }
    protobuf_c_message_free_unpacked(r, NULL);
}

int main(int argc, char **argv)
{
    const char *crishim = NULL, *cri = NULL, *image = NULL;
    int rounds = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--crishim"))
            crishim = argv[i + 1];
        else if (!strcmp(argv[i], "--cri"))
            cri = argv[i + 1];
        else if (!strcmp(argv[i], "--image"))
            image = argv[i + 1];
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
    }
    if (!crishim || !cri || !image || rounds < 1) {
        fprintf(stderr, "usage: crishim-bench-steps --crishim TARGET --cri TARGET --image REF [--rounds N]\n");
        return 2;
    }
    tc_client *a = tc_connect(crishim), *b = tc_connect(cri);
    pull(a, image);
    pull(b, image);
    samples sa[NSTEPS], sb[NSTEPS];
    for (int k = 0; k < NSTEPS; k++) {
        sa[k] = (samples){.mu = PTHREAD_MUTEX_INITIALIZER};
        sb[k] = (samples){.mu = PTHREAD_MUTEX_INITIALIZER};
    }
    /* One untimed round each: the first sandbox pays for one-off work
     * (the pause image, CNI's first ADD) on both sides. */
    samples warm[NSTEPS] = {0};
    cri_steps(a, image, 0, warm, NULL, NULL);
    cri_steps(b, image, 0, warm, NULL, NULL);
    for (int i = 1; i <= rounds; i++) {
        cri_steps(a, image, i, sa, NULL, NULL);
        cri_steps(b, image, i, sb, NULL, NULL);
    }
    printf("\npod lifecycle on containerd, step by step (%d rounds, one client, the same CRI requests): crishim beside "
           "containerd's own CRI plugin\n\n",
           rounds);
    printf("| step | crishim p50 ms | p99 ms | containerd CRI p50 ms | p99 ms | ratio p50 |\n");
    printf("|---|---|---|---|---|---|\n");
    cri_steps_print(sa, sb, NULL);
    for (int k = 0; k < NSTEPS; k++) {
        free(sa[k].ms);
        free(sb[k].ms);
        free(warm[k].ms);
    }
    tc_close(a);
    tc_close(b);
    return 0;
}
