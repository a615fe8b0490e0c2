/* tests/unit/filter.c -- who a published event is for (src/filter.c). */
#include "unit.h"

#include "filter.h"

START_TEST(filter_audiences)
{
    struct filter admins = { .type = CONN_ADMIN }, displays = { .type = CONN_DISPLAY };
    struct filter bob = { .type = -1, .user = "bob" }, lobby = { .type = -1, .display = "lobby" };
    struct filter all = { .type = -1 };
    ck_assert(filter_matches(NULL, CONN_ADMIN, "x"));
    ck_assert(filter_matches(&all, CONN_DISPLAY, "x"));
    ck_assert(filter_matches(&admins, CONN_ADMIN, "bob"));
    ck_assert(!filter_matches(&admins, CONN_DISPLAY, "bob"));
    ck_assert(filter_matches(&displays, CONN_DISPLAY, "lobby"));
    ck_assert(!filter_matches(&displays, CONN_ADMIN, "lobby"));
    ck_assert(filter_matches(&bob, CONN_ADMIN, "bob"));
    ck_assert(!filter_matches(&bob, CONN_ADMIN, "bobby"));
    ck_assert(!filter_matches(&bob, CONN_DISPLAY, "bob"));      /* a display named bob */
    ck_assert(filter_matches(&lobby, CONN_DISPLAY, "lobby"));
    ck_assert(!filter_matches(&lobby, CONN_ADMIN, "lobby"));    /* a user named lobby */
    ck_assert(!filter_matches(&lobby, CONN_DISPLAY, "hall"));
}
END_TEST

Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    UNIT_TEST(s, filter_audiences);
    return s;
}
