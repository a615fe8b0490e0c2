/* tests/unit/timeutil.c -- clocks and ISO 8601 (src/timeutil.c). */
#include "unit.h"

#include "timeutil.h"

START_TEST(time_iso)
{
    char buf[TIME_ISO_LEN];
    ck_assert_str_eq(time_iso8601(buf, 0), "1970-01-01T00:00:00.000Z");
    ck_assert_str_eq(time_iso8601(buf, 999), "1970-01-01T00:00:00.999Z");    /* cached second */
    ck_assert_str_eq(time_iso8601(buf, -1), "1969-12-31T23:59:59.999Z");
    ck_assert_str_eq(time_iso8601(buf, 1796040245123LL), "2026-11-30T12:04:05.123Z");
}
END_TEST

Suite *timeutil_suite(void)
{
    Suite *s = suite_create("timeutil");
    UNIT_TEST(s, time_iso);
    return s;
}
