/* Test support: see suite.h. */
#include "suite.h"

int tc_run_suite(Suite *suite, bool nofork)
{
    SRunner *sr = srunner_create(suite);
    if (nofork)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
