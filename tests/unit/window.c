/* tests/unit/window.c -- the one-hour event window (src/window.c). */
#include "unit.h"

#include "window.h"

START_TEST(window_slides)
{
    struct window *w = window_create();
    window_add(w, 1000, 5);
    window_add(w, 1001, 2);
    ck_assert_uint_eq(window_sum(w, 1001), 7);
    ck_assert_uint_eq(window_sum(w, 1000 + WINDOW_SECONDS - 1), 7);
    ck_assert_uint_eq(window_sum(w, 1000 + WINDOW_SECONDS), 2);    /* second 1000 left */
    ck_assert_uint_eq(window_sum(w, 1001 + WINDOW_SECONDS), 0);
    window_add(w, 50000, 3);
    window_add(w, 49000, 4);                                          /* late: counted now */
    ck_assert_uint_eq(window_sum(w, 50000), 7);
    ck_assert_uint_eq(window_sum(w, 50000 + 10 * WINDOW_SECONDS), 0);
    window_free(w);
    window_free(NULL);
}
END_TEST

Suite *window_suite(void)
{
    Suite *s = suite_create("window");
    UNIT_TEST(s, window_slides);
    return s;
}
