/* CRI log files against a real engine (either backend): a container's output is in its log
 * file by the time anything reports it exited. Short-lived containers run
 * back to back (pod and host network), and each log is read the moment
 * ContainerStatus, ListContainers or StreamContainers says EXITED; a
 * GetContainerEvents subscriber reads the log when it sees the stop. This is
 * what kubelet does for finished Jobs and init containers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "pods.h"
#include "runtime/v1/api.pb-c.h"

#define BACK_TO_BACK 200
#define SUBSCRIBED 20

static tc_daemon crishim;
#define client (crishim.client)

static void setup(void)
{
    tc_daemon_up(&crishim, "logs", NULL);
    char logs[256];
    snprintf(logs, sizeof logs, "%s/pod-logs", tc_need_env("CRISHIM_TEST_DIR"));
    tp_use(&crishim, "logs", logs);
    tp_pull(tc_need_env("CRISHIM_TEST_IMG_BUSYBOX"));
}

static void teardown(void)
{
    tc_daemon_down(&crishim);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* The log holds both lines the script wrote. */
static void assert_complete(const char *path, int i, const char *how)
{
    char out[64], err[64];
    snprintf(out, sizeof out, " stdout F out-%d\n", i);
    snprintf(err, sizeof err, " stderr F err-%d\n", i);
    char *text = read_file(path);
    ck_assert_msg(text != NULL, "container %d: %s said EXITED and %s does not exist", i, how, path);
    ck_assert_msg(strstr(text, out) && strstr(text, err), "container %d: %s said EXITED and %s has only:\n%s", i, how,
                  path, text);
    free(text);
}

static void remove_container(const char *id)
{
    Runtime__V1__RemoveContainerRequest r = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    r.container_id = (char *)id;
    tp_call_drop(RT("RemoveContainer"), &r.base, &runtime__v1__remove_container_response__descriptor, GRPC_STATUS_OK,
                 NULL);
}

/* The state as one of the three reports has it. */
static Runtime__V1__ContainerState state_of(const char *id, int how)
{
    Runtime__V1__ContainerState st = RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
    Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
    f.id = (char *)id;
    if (how == 0) {
        Runtime__V1__ContainerStatusResponse *s = tp_status(id);
        st = s->status->state;
        protobuf_c_message_free_unpacked(&s->base, NULL);
    } else if (how == 1) {
        Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
        req.filter = &f;
        Runtime__V1__ListContainersResponse *r = TP_CALL_OK("ListContainers", req, Runtime__V1__ListContainersResponse,
                                                            &runtime__v1__list_containers_response__descriptor);
        ck_assert_uint_eq(r->n_containers, 1);
        st = r->containers[0]->state;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else {
        Runtime__V1__StreamContainersRequest req = RUNTIME__V1__STREAM_CONTAINERS_REQUEST__INIT;
        req.filter = &f;
        ProtobufCMessage **msgs;
        size_t n;
        tc_result res;
        tc_server_stream(client, RT("StreamContainers"), &req.base, &runtime__v1__stream_containers_response__descriptor,
                         &msgs, &n, 30000, &res);
        ck_assert_msg(res.code == GRPC_STATUS_OK, "StreamContainers: %d %s", res.code, res.details);
        for (size_t k = 0; k < n; k++) {
            Runtime__V1__StreamContainersResponse *r = (Runtime__V1__StreamContainersResponse *)msgs[k];
            for (size_t c = 0; c < r->n_containers; c++)
                st = r->containers[c]->state;
        }
        tc_free_messages(msgs, n);
    }
    return st;
}

static const char *const report_names[] = {"ContainerStatus", "ListContainers", "StreamContainers"};

START_TEST(log_complete_when_reported_exited)
{
    tp_pod pods[2];
    tp_pod_init(&pods[0], RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_init(&pods[1], RUNTIME__V1__NAMESPACE_MODE__NODE); /* host network */
    tp_pod_run(&pods[0]);
    tp_pod_run(&pods[1]);
    for (int i = 0; i < BACK_TO_BACK; i++) {
        tp_pod *p = &pods[i % 4 == 3]; /* every fourth on the host network */
        char name[32], script[96], path[512];
        snprintf(name, sizeof name, "c%d", i);
        snprintf(script, sizeof script, "echo out-%d; echo err-%d >&2", i, i);
        snprintf(path, sizeof path, "%s/%s/0.log", p->logdir, name);
        char *id = tp_container(p, name, script, 0, true);
        /* the file exists once StartContainer returned */
        ck_assert_msg(access(path, F_OK) == 0, "container %d: no %s after StartContainer", i, path);
        int how = i % 3;
        double t0 = tc_now_ms();
        while (state_of(id, how) != RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED) {
            ck_assert_msg(tc_now_ms() - t0 < 30000, "container %d did not exit", i);
            usleep(2000);
        }
        assert_complete(path, i, report_names[how]);
        remove_container(id);
        free(id);
    }
    tp_pod_remove(&pods[0]);
    tp_pod_remove(&pods[1]);
}
END_TEST

START_TEST(log_complete_when_the_stop_event_comes)
{
    tc_stream *events = tp_events(300000);
    tp_pod p;
    tp_pod_init(&p, RUNTIME__V1__NAMESPACE_MODE__POD);
    tp_pod_run(&p);
    char *ids[SUBSCRIBED];
    for (int i = 0; i < SUBSCRIBED; i++) {
        char name[32], script[96];
        snprintf(name, sizeof name, "e%d", i);
        snprintf(script, sizeof script, "echo out-%d; echo err-%d >&2", i, i);
        ids[i] = tp_container(&p, name, script, 0, true);
    }
    int stopped = 0;
    Runtime__V1__ContainerEventResponse *e;
    while (stopped < SUBSCRIBED && (e = (Runtime__V1__ContainerEventResponse *)tc_stream_recv(
                                        events, &runtime__v1__container_event_response__descriptor)) != NULL) {
        if (e->container_event_type == RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT) {
            for (int i = 0; i < SUBSCRIBED; i++) {
                if (strcmp(e->container_id, ids[i]) != 0)
                    continue;
                char path[512];
                snprintf(path, sizeof path, "%s/e%d/0.log", p.logdir, i);
                assert_complete(path, i, "GetContainerEvents");
                stopped++;
            }
        }
        protobuf_c_message_free_unpacked(&e->base, NULL);
    }
    ck_assert_int_eq(stopped, SUBSCRIBED);
    tc_result res;
    tc_stream_cancel(events);
    tc_stream_finish(events, &res);
    for (int i = 0; i < SUBSCRIBED; i++)
        free(ids[i]);
    tp_pod_remove(&p);
}
END_TEST

int main(void)
{
    tc_need_env("CRISHIM_TEST_IMG_BUSYBOX");
    Suite *s = suite_create("logs");
    TCase *tc = tcase_create("docker");
    tcase_set_timeout(tc, 600);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, log_complete_when_reported_exited);
    tcase_add_test(tc, log_complete_when_the_stop_event_comes);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, true);
}
