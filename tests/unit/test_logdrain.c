/* The table of containers whose logs are still being written
 * (src/backend/logdrain.c): adding and removing under the lock, and the
 * bounded wait an exit report makes (for the ids, for the table to be ready,
 * released by stop). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/logdrain.h"
#include "util/time.h"
#include "suite.h"

static int read_user(void *user, void *arg)
{
    *(int *)arg = *(int *)user;
    return 7;
}

static bool keep_if_set(void *user)
{
    return *(int *)user != 0;
}

static int freed;
static void count_free(void *user)
{
    freed++;
    free(user);
}

START_TEST(add_with_remove)
{
    cs_logdrain *t = cs_logdrain_new();
    int a = 1, b = 0;
    ck_assert(cs_logdrain_add(t, "aaa", &a));
    ck_assert(!cs_logdrain_add(t, "aaa", &b)); /* already there */
    char too_long[100];
    memset(too_long, 'x', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    ck_assert(!cs_logdrain_add(t, too_long, &b));
    ck_assert(cs_logdrain_add(t, "bbb", &b));
    int seen = -1;
    ck_assert_int_eq(cs_logdrain_with(t, "aaa", read_user, &seen, -1), 7);
    ck_assert_int_eq(seen, 1);
    ck_assert_int_eq(cs_logdrain_with(t, "zzz", read_user, &seen, -1), -1);
    /* keep says no: stays */
    ck_assert_ptr_null(cs_logdrain_remove(t, "aaa", keep_if_set));
    ck_assert_ptr_eq(cs_logdrain_remove(t, "bbb", keep_if_set), &b);
    ck_assert_ptr_null(cs_logdrain_remove(t, "bbb", NULL));
    ck_assert_ptr_eq(cs_logdrain_remove(t, "aaa", NULL), &a);
    /* what is left goes to free_user */
    for (int i = 0; i < 600; i++) {
        char id[16];
        snprintf(id, sizeof id, "id-%d", i);
        int *u = malloc(sizeof *u);
        *u = i;
        ck_assert(cs_logdrain_add(t, id, u));
    }
    freed = 0;
    cs_logdrain_free(t, count_free);
    ck_assert_int_eq(freed, 600);
    cs_logdrain_free(NULL, NULL);
}
END_TEST

typedef struct later {
    cs_logdrain *t;
    int ms;
    int what; /* 0 remove "c2", 1 ready, 2 stop */
} later;

static void *do_later(void *arg)
{
    later *l = arg;
    usleep((useconds_t)l->ms * 1000);
    if (l->what == 0)
        cs_logdrain_remove(l->t, "c2", NULL);
    else if (l->what == 1)
        cs_logdrain_ready(l->t);
    else
        cs_logdrain_stop(l->t);
    return NULL;
}

START_TEST(waits)
{
    cs_logdrain *t = cs_logdrain_new();
    int u = 0;
    const char *ids[] = {"c1", "c2", "c3"};
    /* not ready: even unknown ids wait, until ready */
    int64_t t0 = cs_time_mono_ms();
    ck_assert(!cs_logdrain_wait(t, ids, 1, t0 + 100));
    ck_assert_int_ge(cs_time_mono_ms() - t0, 90);
    later r = {t, 100, 1};
    pthread_t th;
    pthread_create(&th, NULL, do_later, &r);
    t0 = cs_time_mono_ms();
    ck_assert(cs_logdrain_wait(t, ids, 3, t0 + 5000));
    ck_assert_int_lt(cs_time_mono_ms() - t0, 3000);
    pthread_join(th, NULL);
    ck_assert(cs_logdrain_wait(t, ids, 0, 0));

    /* a pending id: the wait ends when it leaves, not before */
    ck_assert(cs_logdrain_add(t, "c2", &u));
    t0 = cs_time_mono_ms();
    ck_assert(!cs_logdrain_wait(t, ids, 3, t0 + 150)); /* bounded */
    int64_t took = cs_time_mono_ms() - t0;
    ck_assert_msg(took >= 140 && took < 2000, "took %lld ms", (long long)took);
    later rm = {t, 200, 0};
    pthread_create(&th, NULL, do_later, &rm);
    t0 = cs_time_mono_ms();
    ck_assert(cs_logdrain_wait(t, ids, 3, t0 + 5000));
    took = cs_time_mono_ms() - t0;
    ck_assert_msg(took >= 150 && took < 3000, "took %lld ms", (long long)took);
    pthread_join(th, NULL);

    /* a deadline already past: no wait at all */
    ck_assert(cs_logdrain_add(t, "c3", &u));
    t0 = cs_time_mono_ms();
    ck_assert(!cs_logdrain_wait(t, ids, 3, t0 - 10));
    ck_assert_int_lt(cs_time_mono_ms() - t0, 100);

    /* stop releases a waiter, and later waits don't wait */
    later st = {t, 100, 2};
    pthread_create(&th, NULL, do_later, &st);
    t0 = cs_time_mono_ms();
    ck_assert(!cs_logdrain_wait(t, ids, 3, t0 + 5000));
    ck_assert_int_lt(cs_time_mono_ms() - t0, 3000);
    pthread_join(th, NULL);
    t0 = cs_time_mono_ms();
    ck_assert(!cs_logdrain_wait(t, ids, 3, t0 + 5000));
    ck_assert_int_lt(cs_time_mono_ms() - t0, 100);
    cs_logdrain_free(t, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("logdrain");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, add_with_remove);
    tcase_add_test(tc, waits);
    suite_add_tcase(s, tc);
    return tc_run_suite(s, false);
}
