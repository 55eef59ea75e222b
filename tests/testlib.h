/* testlib.h — the shared main() of every CUnit suite.
 *
 * A suite file defines its tests as a CU_TestInfo array and ends with
 * TESTLIB_MAIN("name", tests, setup, teardown).  The program prints CUnit's
 * verbose run, then "name: N passed, N failed", which tests/run.sh adds up. */
#ifndef STREAMLAB_TESTLIB_H
#define STREAMLAB_TESTLIB_H

#include <CUnit/Basic.h>
#include <stdio.h>

#define TESTLIB_MAIN(name, tests, init, cleanup)                                                   \
    int main(void)                                                                                 \
    {                                                                                              \
        if (CU_initialize_registry() != CUE_SUCCESS)                                               \
            return 2;                                                                              \
        CU_SuiteInfo suites[] = {{name, init, cleanup, NULL, NULL, tests}, CU_SUITE_INFO_NULL};    \
        if (CU_register_suites(suites) != CUE_SUCCESS)                                             \
            return 2;                                                                              \
        CU_basic_set_mode(CU_BRM_VERBOSE);                                                         \
        CU_basic_run_tests();                                                                      \
        unsigned run = CU_get_number_of_tests_run();                                               \
        unsigned failed = CU_get_number_of_tests_failed();                                         \
        unsigned inactive = CU_get_number_of_tests_inactive() + CU_get_number_of_suites_failed();  \
        printf("%s: %u passed, %u failed\n", name, run - failed, failed + inactive);               \
        CU_cleanup_registry();                                                                     \
        return failed + inactive ? 1 : 0;                                                          \
    }

#endif
