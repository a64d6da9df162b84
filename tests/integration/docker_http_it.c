/* Engine: $CRISHIM_TEST_DOCKER_HOST, else that key in the $CRISHIM_TEST_ENV file (test-env.sh); exit 77 if neither.
 *
 * The Docker HTTP client against a real dockerd: version negotiation, ping,
 * /info, Docker's error bodies mapped to codes, connection reuse, an engine
 * that is not there, deadline and cancel on a response that never ends, a
 * stall on a silent stream, /events read as lines to their `until`, and
 * several threads sharing one client. Leaves nothing behind in the engine. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "docker/http.h"
#include "util/json.h"
#include "util/time.h"

/* A filter nobody's events match, so "silent" streams stay silent even when
 * other suites use the same engine. */
#define QUIET_FILTER "filters=%7B%22container%22%3A%5B%22crishim-http-it-none%22%5D%7D"

static const char *host;

static docker_client *client(void)
{
    docker_client *c;
    cs_error err;
    ck_assert_msg(docker_client_new(host, &c, &err) == 0, "%s", err.msg);
    return c;
}

static cs_ctx ctx_ms(int64_t ms)
{
    return (cs_ctx){.deadline_ms = cs_time_mono_ms() + ms};
}

/* GET path and parse it; fails the test on any error. */
static cs_json *get_json(docker_client *c, const char *path, docker_response *r)
{
    cs_error err;
    cs_ctx ctx = ctx_ms(30000);
    ck_assert_msg(docker_request_ok(c, &ctx, "GET", path, NULL, 0, NULL, r, &err) == 0, "GET %s: %s", path, err.msg);
    cs_json *j;
    ck_assert_msg(cs_json_parse(r->body, r->body_len, &j, &err) == 0, "GET %s: %s in %s", path, err.msg, r->body);
    return j;
}

/* Id of some local image (caller frees). The test environment's images
 * (env.images) are normally loaded; if the engine has none, the busybox test
 * image is pulled from the private registry, and no image at all fails the
 * test rather than skipping what needs one. */
static char *any_image(docker_client *c)
{
    docker_response r;
    cs_json *j = get_json(c, "/images/json", &r);
    char *id = cs_json_str(j, cs_json_key(j, cs_json_at(j, 0, 0), "Id"), NULL);
    cs_json_free(j);
    docker_response_clear(&r);
    if (id)
        return id;
    const char *ref = tc_env("CRISHIM_TEST_IMG_BUSYBOX");
    ck_assert_msg(ref, "the engine has no image and CRISHIM_TEST_IMG_BUSYBOX is not set (env.images makes it)");
    char path[600];
    snprintf(path, sizeof path, "/images/create?fromImage=%s", ref);
    cs_error err;
    cs_ctx ctx = ctx_ms(120000);
    ck_assert_msg(docker_request_ok(c, &ctx, "POST", path, NULL, 0, NULL, &r, &err) == 0, "pull %s: %s", ref,
                  err.msg);
    docker_response_clear(&r);
    j = get_json(c, "/images/json", &r);
    id = cs_json_str(j, cs_json_key(j, cs_json_at(j, 0, 0), "Id"), NULL);
    cs_json_free(j);
    docker_response_clear(&r);
    ck_assert_msg(id, "no local image even after pulling %s", ref);
    return id;
}

START_TEST(negotiation)
{
    docker_client *c = client();
    cs_error err;
    cs_ctx ctx = ctx_ms(10000);
    char v[DOCKER_API_VERSION_SIZE];
    ck_assert(!docker_client_api_version_copy(c, v, sizeof v));
    ck_assert_msg(docker_client_negotiate(c, &ctx, v, sizeof v, &err) == 0, "%s", err.msg);

    /* what the engine says it speaks, read independently */
    docker_response r;
    cs_json *j = get_json(c, "/version", &r);
    char *max = cs_json_get_str(j, 0, "ApiVersion", NULL), *min = cs_json_get_str(j, 0, "MinAPIVersion", NULL);
    char *server = cs_json_get_str(j, 0, "Version", NULL);
    char want[DOCKER_API_VERSION_SIZE];
    docker_api_choose(max, min, want, sizeof want);
    printf("docker_http_it: engine %s speaks %s..%s; negotiated %s\n", server, min, max, v);
    ck_assert_str_eq(v, want);
    if (max && !strcmp(max, "1.41")) /* Debian's 20.10 */
        ck_assert_str_eq(v, "1.41");
    char again[DOCKER_API_VERSION_SIZE];
    ck_assert(docker_client_api_version_copy(c, again, sizeof again));
    ck_assert_str_eq(again, v);
    free(max);
    free(min);
    free(server);
    cs_json_free(j);
    docker_response_clear(&r);
    docker_client_free(c);
}
END_TEST

START_TEST(ping_and_info)
{
    docker_client *c = client();
    cs_error err;
    cs_ctx ctx = ctx_ms(10000);
    ck_assert_msg(docker_ping(c, &ctx, &err) == 0, "%s", err.msg);
    docker_response r;
    cs_json *j = get_json(c, "/info", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(cs_json_type_of(j, cs_json_key(j, 0, "ID")), CS_JSON_STRING);
    ck_assert_int_eq(cs_json_type_of(j, cs_json_key(j, 0, "ServerVersion")), CS_JSON_STRING);
    ck_assert_uint_eq(strlen(r.body), r.body_len);
    cs_json_free(j);
    docker_response_clear(&r);
    docker_client_free(c);
}
END_TEST

START_TEST(errors_from_docker)
{
    docker_client *c = client();
    cs_error err;
    cs_ctx ctx = ctx_ms(30000);
    docker_response r;
    /* any status is an answer for docker_request */
    ck_assert_int_eq(docker_request(c, &ctx, "GET", "/containers/crishim-http-it-nope/json", NULL, 0, NULL, &r, &err),
                     0);
    ck_assert_int_eq(r.status, 404);
    docker_response_clear(&r);
    ck_assert_int_eq(
        docker_request_ok(c, &ctx, "GET", "/containers/crishim-http-it-nope/json", NULL, 0, NULL, &r, &err), -1);
    ck_assert_msg(err.code == CS_ERR_NOT_FOUND, "%s: %s", cs_code_name(err.code), err.msg);
    ck_assert_str_eq(err.msg, "docker: No such container: crishim-http-it-nope");
    ck_assert_ptr_null(r.body);

    /* a body with a JSON Content-Type; the same name twice is a 409 */
    char *image = any_image(c);
    char path[200], body[300];
    snprintf(path, sizeof path, "/containers/create?name=crishim-http-it-%d", (int)getpid());
    snprintf(body, sizeof body, "{\"Image\":\"%s\",\"Cmd\":[\"true\"],\"Labels\":{\"crishim-test\":\"http\"}}", image);
    ck_assert_msg(docker_request_ok(c, &ctx, "POST", path, body, strlen(body), NULL, &r, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(r.status, 201);
    docker_response_clear(&r);
    ck_assert_int_eq(docker_request_ok(c, &ctx, "POST", path, body, strlen(body), NULL, &r, &err), -1);
    ck_assert_msg(err.code == CS_ERR_CONFLICT && strstr(err.msg, "is already in use"), "%s: %s",
                  cs_code_name(err.code), err.msg);
    /* a bad parameter is INVALID */
    ck_assert_int_eq(docker_request_ok(c, &ctx, "POST", "/containers/create?name=bad/name", body, strlen(body), NULL,
                                       &r, &err),
                     -1);
    ck_assert_msg(err.code == CS_ERR_INVALID, "%s: %s", cs_code_name(err.code), err.msg);
    snprintf(path, sizeof path, "/containers/crishim-http-it-%d?force=1", (int)getpid());
    ck_assert_msg(docker_request_ok(c, &ctx, "DELETE", path, NULL, 0, NULL, &r, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(r.status, 204);
    ck_assert_uint_eq(r.body_len, 0);
    ck_assert_str_eq(r.body, "");
    docker_response_clear(&r);
    free(image);
    docker_client_free(c);
}
END_TEST

static int socket_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while ((e = readdir(d))) {
        char link[300], target[64];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k > 0) {
            target[k] = '\0';
            n += !strncmp(target, "socket:", 7);
        }
    }
    closedir(d);
    return n;
}

START_TEST(connection_reuse)
{
    int before = socket_fds();
    docker_client *c = client();
    cs_error err;
    cs_ctx ctx = ctx_ms(60000);
    ck_assert_int_eq(docker_ping(c, &ctx, &err), 0);
    uint64_t conns = docker_client_connections(c);
    int fds = socket_fds(); /* the connection, and the wakeup pair of the thread's multi handle */
    ck_assert_uint_eq(conns, 1);
    for (int i = 0; i < 200; i++) {
        docker_response r;
        const char *path = i % 2 ? "/_ping" : "/containers/json?limit=1";
        ck_assert_msg(docker_request_ok(c, &ctx, "GET", path, NULL, 0, NULL, &r, &err) == 0, "%s", err.msg);
        docker_response_clear(&r);
    }
    ck_assert_uint_eq(docker_client_connections(c), conns); /* all on the first connection */
    ck_assert_int_eq(socket_fds(), fds);
    docker_client_free(c);
    ck_assert_int_eq(socket_fds(), before); /* and free closes it all */
}
END_TEST

START_TEST(engine_not_there)
{
    docker_client *c;
    cs_error err;
    const char *path = "/tmp/crishim-http-it-no-such-dir/docker.sock";
    char host_url[200];
    snprintf(host_url, sizeof host_url, "unix://%s", path);
    ck_assert_int_eq(docker_client_new(host_url, &c, &err), 0);
    cs_ctx ctx = ctx_ms(5000);
    docker_response r;
    ck_assert_int_eq(docker_request(c, &ctx, "GET", "/info", NULL, 0, NULL, &r, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    ck_assert_str_eq(err.msg, "docker at /tmp/crishim-http-it-no-such-dir/docker.sock: cannot connect: No such file "
                              "or directory");
    ck_assert_int_eq(docker_ping(c, &ctx, &err), -1);
    ck_assert_int_eq(err.code, CS_ERR_UNAVAILABLE);
    ck_assert_msg(strstr(err.msg, path), "%s", err.msg);
    docker_client_free(c);
}
END_TEST

/* /events from now until far away: a response that never ends by itself. */
static void endless_events(char *path, size_t size)
{
    time_t now = time(NULL);
    snprintf(path, size, "/events?since=%lld&until=%lld&%s", (long long)now, (long long)now + 86400, QUIET_FILTER);
}

START_TEST(deadline_on_endless_response)
{
    docker_client *c = client();
    cs_error err;
    cs_ctx warm = ctx_ms(10000);
    ck_assert_int_eq(docker_client_negotiate(c, &warm, (char[DOCKER_API_VERSION_SIZE]){0}, DOCKER_API_VERSION_SIZE,
                                             &err),
                     0);
    char path[256];
    endless_events(path, sizeof path);
    docker_response r;
    cs_ctx ctx = ctx_ms(300);
    int64_t t0 = cs_time_mono_ms();
    ck_assert_int_eq(docker_request(c, &ctx, "GET", path, NULL, 0, NULL, &r, &err), -1);
    int64_t took = cs_time_mono_ms() - t0;
    ck_assert_msg(err.code == CS_ERR_DEADLINE, "%s: %s", cs_code_name(err.code), err.msg);
    ck_assert_msg(took >= 290 && took < 700, "took %lld ms", (long long)took);
    /* a stream is bound by the deadline too */
    ctx = ctx_ms(300);
    t0 = cs_time_mono_ms();
    ck_assert_int_eq(docker_stream(c, &ctx, "GET", path, NULL, 0, NULL, 0, NULL, NULL, NULL, &err), -1);
    took = cs_time_mono_ms() - t0;
    ck_assert_msg(err.code == CS_ERR_DEADLINE, "%s: %s", cs_code_name(err.code), err.msg);
    ck_assert_msg(took >= 290 && took < 700, "took %lld ms", (long long)took);
    /* the client is fine afterwards */
    cs_ctx next = ctx_ms(5000);
    ck_assert_int_eq(docker_ping(c, &next, &err), 0);
    docker_client_free(c);
}
END_TEST

typedef struct canceller {
    atomic_bool flag;
    int after_ms;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *k = arg;
    usleep((useconds_t)k->after_ms * 1000);
    atomic_store(&k->flag, true);
    return NULL;
}

START_TEST(cancel_from_another_thread)
{
    docker_client *c = client();
    cs_error err;
    char path[256];
    endless_events(path, sizeof path);
    for (int streaming = 0; streaming < 2; streaming++) {
        canceller k = {.after_ms = 250};
        atomic_init(&k.flag, false);
        cs_ctx ctx = {.cancelled = &k.flag}; /* no deadline */
        pthread_t th;
        pthread_create(&th, NULL, cancel_later, &k);
        int64_t t0 = cs_time_mono_ms();
        int rc;
        if (streaming) {
            long status = 0;
            rc = docker_stream(c, &ctx, "GET", path, NULL, 0, NULL, 0, NULL, NULL, &status, &err);
            ck_assert_int_eq(status, 200);
        } else {
            docker_response r;
            rc = docker_request(c, &ctx, "GET", path, NULL, 0, NULL, &r, &err);
        }
        int64_t took = cs_time_mono_ms() - t0;
        pthread_join(th, NULL);
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(err.code == CS_ERR_CANCELLED, "%s: %s", cs_code_name(err.code), err.msg);
        ck_assert_msg(took >= 245 && took < 600, "cancel after 250 ms took %lld ms", (long long)took);
    }
    docker_client_free(c);
}
END_TEST

START_TEST(stall_on_silent_stream)
{
    docker_client *c = client();
    cs_error err;
    char path[256];
    snprintf(path, sizeof path, "/events?%s", QUIET_FILTER);
    int64_t t0 = cs_time_mono_ms();
    ck_assert_int_eq(docker_stream(c, NULL, "GET", path, NULL, 0, NULL, 500, NULL, NULL, NULL, &err), -1);
    int64_t took = cs_time_mono_ms() - t0;
    ck_assert_msg(err.code == CS_ERR_DEADLINE, "%s: %s", cs_code_name(err.code), err.msg);
    ck_assert_msg(strstr(err.msg, "no data from docker for 500 ms"), "%s", err.msg);
    ck_assert_msg(took >= 490 && took < 1000, "took %lld ms", (long long)took);
    docker_client_free(c);
}
END_TEST

typedef struct events_seen {
    int lines;
    int bad;
    bool tag, untag;
    char repo[64];
    const char *image;
} events_seen;

static int on_event(void *user, const char *line, size_t len, cs_error *err)
{
    events_seen *s = user;
    cs_json *j;
    s->lines++;
    if (cs_json_parse(line, len, &j, NULL) != 0 || cs_json_type_of(j, 0) != CS_JSON_OBJECT) {
        s->bad++;
        return 0;
    }
    /* tag names the new reference; untag names only the image */
    int action = cs_json_key(j, 0, "Action");
    if (cs_json_str_eq(j, action, "tag") && cs_json_str_eq(j, cs_json_get(j, 0, "Actor.Attributes.name"), s->repo))
        s->tag = true;
    if (s->tag && cs_json_str_eq(j, action, "untag") && s->image &&
        cs_json_str_eq(j, cs_json_get(j, 0, "Actor.ID"), s->image))
        s->untag = true;
    cs_json_free(j);
    return 0;
}

START_TEST(events_as_lines_until)
{
    docker_client *c = client();
    cs_error err;
    cs_ctx ctx = ctx_ms(30000);
    events_seen seen = {0};
    snprintf(seen.repo, sizeof seen.repo, "crishim-http-it:%d", (int)getpid());
    time_t since = time(NULL) - 1;
    /* make two events: tag an image, untag it */
    char *image = any_image(c);
    seen.image = image;
    {
        char path[300];
        docker_response r;
        snprintf(path, sizeof path, "/images/%s/tag?repo=crishim-http-it&tag=%d", image, (int)getpid());
        ck_assert_msg(docker_request_ok(c, &ctx, "POST", path, NULL, 0, NULL, &r, &err) == 0, "%s", err.msg);
        docker_response_clear(&r);
        snprintf(path, sizeof path, "/images/%s", seen.repo);
        ck_assert_msg(docker_request_ok(c, &ctx, "DELETE", path, NULL, 0, NULL, &r, &err) == 0, "%s", err.msg);
        docker_response_clear(&r);
    }
    char path[128];
    snprintf(path, sizeof path, "/events?since=%lld&until=%lld", (long long)since, (long long)time(NULL) + 1);
    long status = 0;
    int64_t t0 = cs_time_mono_ms();
    /* stall and deadline generous: it must end on its own, at `until` */
    ck_assert_msg(docker_stream_lines(c, &ctx, "GET", path, NULL, 0, NULL, 10000, on_event, &seen, &status, &err) ==
                      0,
                  "%s", err.msg);
    int64_t took = cs_time_mono_ms() - t0;
    ck_assert_int_eq(status, 200);
    ck_assert_msg(took < 3000, "took %lld ms", (long long)took);
    ck_assert_int_eq(seen.bad, 0);
    ck_assert_msg(seen.tag && seen.untag, "saw %d lines, tag %d untag %d", seen.lines, seen.tag, seen.untag);
    free(image);
    docker_client_free(c);
}
END_TEST

#define THREADS 4
#define PER_THREAD 200

typedef struct worker {
    docker_client *c;
    int ok;
    char first_err[CS_ERROR_MSG_MAX];
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        docker_response r;
        cs_error err;
        cs_ctx ctx = ctx_ms(30000);
        const char *path = i % 2 ? "/_ping" : "/containers/crishim-http-it-nope/json";
        long want = i % 2 ? 200 : 404;
        if (docker_request(w->c, &ctx, "GET", path, NULL, 0, NULL, &r, &err) == 0 && r.status == want)
            w->ok++;
        else if (!w->first_err[0])
            snprintf(w->first_err, sizeof w->first_err, "%s: status %ld, %.900s", path, r.status, err.msg);
        docker_response_clear(&r);
    }
    return NULL;
}

START_TEST(threads_share_a_client)
{
    docker_client *c = client(); /* fresh: the threads race to negotiate */
    worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.c = c};
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++)
        ck_assert_msg(w[i].ok == PER_THREAD, "thread %d: %d of %d; first failure %s", i, w[i].ok, PER_THREAD,
                      w[i].first_err);
    ck_assert_uint_eq(docker_client_connections(c), THREADS); /* one per thread, each kept */
    char v[DOCKER_API_VERSION_SIZE];
    ck_assert(docker_client_api_version_copy(c, v, sizeof v));
    docker_client_free(c);
}
END_TEST

int main(void)
{
    tc_skip_unless_backend("docker", "docker_http_it tests the Docker Engine API client itself");
    host = tc_env("CRISHIM_TEST_DOCKER_HOST");
    if (!host) {
        fprintf(stderr, "docker_http_it: CRISHIM_TEST_DOCKER_HOST not set; skipped\n");
        return 77;
    }
    cs_error err;
    if (docker_http_global_init(&err) != 0) {
        fprintf(stderr, "docker_http_it: %s\n", err.msg);
        return 1;
    }
    Suite *s = suite_create("docker_http_it");
    TCase *tc = tcase_create("dockerd");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, negotiation);
    tcase_add_test(tc, ping_and_info);
    tcase_add_test(tc, errors_from_docker);
    tcase_add_test(tc, connection_reuse);
    tcase_add_test(tc, engine_not_there);
    tcase_add_test(tc, deadline_on_endless_response);
    tcase_add_test(tc, cancel_from_another_thread);
    tcase_add_test(tc, stall_on_silent_stream);
    tcase_add_test(tc, events_as_lines_until);
    tcase_add_test(tc, threads_share_a_client);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    docker_http_global_cleanup();
    return failed ? 1 : 0;
}
