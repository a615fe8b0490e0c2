/* tests/unit/jsonw.c -- the JSON writer (src/jsonw.c). */
#include "unit.h"

#include "jsonw.h"

static void collect(void *ctx, const char *data, size_t len)
{
    strncat(ctx, data, len);
}

START_TEST(jsonw_writes)
{
    static char out[65536];
    out[0] = '\0';
    static char buf[JW_STREAM_BUF];
    struct jw w;
    jw_init(&w, buf, sizeof buf, collect, out);
    jw_lit(&w, "[");
    jw_str(&w, "a\"b\\c\n\r\t\b\f\x01\x1f/\xc3\xa9");
    jw_lit(&w, ",");
    jw_u64(&w, 0);
    jw_lit(&w, ",");
    jw_u64(&w, UINT64_MAX);
    jw_lit(&w, ",");
    jw_i64(&w, INT64_MIN);
    jw_lit(&w, ",");
    jw_i64(&w, -42);
    jw_lit(&w, ",");
    jw_bool(&w, true);
    jw_lit(&w, ",");
    jw_str(&w, NULL);
    jw_lit(&w, ",{");
    jw_key(&w, "k");
    jw_bool(&w, false);
    jw_lit(&w, "}]");
    jw_flush(&w);
    ck_assert_str_eq(out, "[\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f/\xc3\xa9\","
                          "0,18446744073709551615,-9223372036854775808,-42,true,null,{\"k\":false}]");
    /* more than its buffer: passed on in order */
    out[0] = '\0';
    jw_init(&w, buf, sizeof buf, collect, out);
    for (int i = 0; i < 5000; i++)
        jw_lit(&w, "0123456789");
    jw_flush(&w);
    ck_assert_uint_eq(strlen(out), 50000);
}
END_TEST

START_TEST(jsonw_bounded)
{
    char small[16];
    struct jw w;
    jw_init(&w, small, sizeof small, NULL, NULL);
    jw_lit(&w, "{");
    jw_key(&w, "k");
    jw_str(&w, "v\n");
    jw_lit(&w, "}");
    jw_flush(&w);                   /* bounded: nothing to hand on */
    ck_assert(!w.overflow);
    ck_assert_uint_eq(w.len, 11);
    ck_assert(memcmp(small, "{\"k\":\"v\\n\"}", 11) == 0);
    /* exactly full still fits; one byte more is flagged, and stays so */
    jw_lit(&w, "01234");
    ck_assert(!w.overflow);
    ck_assert_uint_eq(w.len, 16);
    jw_lit(&w, "x");
    ck_assert(w.overflow);
    ck_assert_uint_eq(w.len, 16);
    jw_init(&w, small, sizeof small, NULL, NULL);
    jw_str(&w, "a string longer than the buffer");
    ck_assert(w.overflow);
    ck_assert_uint_eq(w.len, 1);    /* the opening quote; the closing one dropped too */
    /* after a dropped write, a short one that would fit is dropped as well */
    jw_init(&w, small, sizeof small, NULL, NULL);
    jw_lit(&w, "0123456789");
    jw_lit(&w, "abcdefgh");
    jw_lit(&w, "z");
    ck_assert(w.overflow);
    ck_assert_uint_eq(w.len, 10);
}
END_TEST

Suite *jsonw_suite(void)
{
    Suite *s = suite_create("jsonw");
    UNIT_TEST(s, jsonw_writes);
    UNIT_TEST(s, jsonw_bounded);
    return s;
}
