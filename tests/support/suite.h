/* Test support: running a Check suite the same way in every test program. */
#ifndef CS_TEST_SUITE_H
#define CS_TEST_SUITE_H

#include <check.h>
#include <stdbool.h>

/* Runs the suite and returns the exit status (0 when every test passed).
 * nofork: the suite's fixture owns a daemon and a client, which a forked
 * test could not share. */
int tc_run_suite(Suite *suite, bool nofork);

#endif
