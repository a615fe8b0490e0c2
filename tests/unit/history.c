/* tests/unit/history.c -- the replay history (src/history.c). */
#include "unit.h"

#include "conn.h"
#include "event.h"
#include "history.h"
#include "filter.h"

START_TEST(history_replay_and_reset)
{
    struct history *h = history_create(3, 1000, 100);
    struct event **v;
    size_t n;
    ck_assert_uint_eq(history_last_id(h), 99);
    ck_assert_int_eq(history_since(h, 99, CONN_ADMIN, "a", 0, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(history_since(h, 98, CONN_ADMIN, "a", 0, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 100, CONN_ADMIN, "a", 0, &v, &n), HISTORY_RESET);
    struct event *e = mkevent("x");
    struct filter lobby = { .type = -1, .display = "lobby" };
    struct filter admins = { .type = CONN_ADMIN };
    history_add(h, 100, e, NULL, 10);
    history_add(h, 101, e, &lobby, 20);
    history_add(h, 102, e, &admins, 30);
    ck_assert_int_eq(history_since(h, 99, CONN_DISPLAY, "lobby", 40, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 2);                            /* 100 and 101 */
    for (size_t i = 0; i < n; i++)
        event_unref(v[i]);
    free(v);
    ck_assert_int_eq(history_since(h, 100, CONN_ADMIN, "a", 40, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 1);                            /* 102 */
    event_unref(v[0]);
    free(v);
    history_add(h, 103, e, NULL, 50);                   /* 100 falls out by count */
    ck_assert_int_eq(history_since(h, 99, CONN_ADMIN, "a", 60, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 100, CONN_ADMIN, "a", 60, &v, &n), HISTORY_OK);
    for (size_t i = 0; i < n; i++)
        event_unref(v[i]);
    free(v);
    /* by age: at 1025, 101 and 102 are over a second old */
    ck_assert_int_eq(history_since(h, 101, CONN_ADMIN, "a", 1035, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 102, CONN_ADMIN, "a", 1035, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 1);
    event_unref(v[0]);
    free(v);
    history_free(h);
    /* events for others that fell out do not reset a stream */
    h = history_create(2, 100000, 1);
    struct filter other = { .type = -1, .display = "other" };
    history_add(h, 1, e, NULL, 0);
    history_add(h, 2, e, &other, 0);
    history_add(h, 3, e, &other, 0);
    history_add(h, 4, e, &other, 0);                   /* 1 and 2 dropped */
    ck_assert_int_eq(history_since(h, 1, CONN_DISPLAY, "lobby", 0, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 0);
    free(v);
    ck_assert_int_eq(history_since(h, 1, CONN_ADMIN, "a", 0, &v, &n), HISTORY_OK);
    free(v);
    ck_assert_int_eq(history_since(h, 1, CONN_DISPLAY, "other", 0, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 0, CONN_DISPLAY, "lobby", 0, &v, &n), HISTORY_RESET);
    history_free(h);
    /* names dropped events were for are remembered up to a bound; past it,
     * an event for one more display resets every display, never none */
    h = history_create(1, 100000, 1);
    uint64_t id = 1;
    char name[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "d%d", i);
        struct filter one = { .type = -1, .display = name };
        history_add(h, id++, e, &one, 0);
    }
    /* "d4998" fell out past the bound, "d1" within it */
    ck_assert_int_eq(history_since(h, 4990, CONN_DISPLAY, "lobby", 0, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 4990, CONN_ADMIN, "a", 0, &v, &n), HISTORY_OK);
    free(v);
    ck_assert_int_eq(history_since(h, 1, CONN_DISPLAY, "d1", 0, &v, &n), HISTORY_RESET);
    history_free(h);
    /* no history at all: any older id is a reset */
    h = history_create(0, 1000, 5);
    history_add(h, 5, e, NULL, 0);
    ck_assert_int_eq(history_since(h, 5, CONN_ADMIN, "a", 0, &v, &n), HISTORY_OK);
    ck_assert_int_eq(history_since(h, 4, CONN_ADMIN, "a", 0, &v, &n), HISTORY_RESET);
    history_free(h);
    history_free(NULL);
    event_unref(e);
}
END_TEST

Suite *history_suite(void)
{
    Suite *s = suite_create("history");
    UNIT_TEST(s, history_replay_and_reset);
    return s;
}
