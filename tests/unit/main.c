/* tests/unit/main.c -- runs every unit suite (one per module of src/).
 *
 * One module's suite:  CK_RUN_SUITE=registry tests/unit/check_units
 * One test:            CK_RUN_CASE=registry_basics tests/unit/check_units
 * Under gdb or valgrind, add CK_FORK=no. */
#include "unit.h"

int main(void)
{
    SRunner *sr = srunner_create(NULL);
#define UNIT_ADD(name) srunner_add_suite(sr, name##_suite());
    UNIT_SUITES(UNIT_ADD)
#undef UNIT_ADD
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
