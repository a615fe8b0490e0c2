/* tests/unit/sse.c -- the EventSource encoder (src/sse.c). */
#include "unit.h"

#include "sse.h"

static char *encode(const struct sse_event *ev)
{
    static char buf[4096];
    long n = sse_encode(buf, sizeof buf, ev);
    ck_assert_int_ge(n, 0);
    ck_assert_int_lt(n, (long)sizeof buf);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    return buf;
}

START_TEST(sse_full_event)
{
    struct sse_event ev = { .id = 42, .name = "system.test_event", .data = "{\"a\":1}",
                            .data_len = 7, .retry_ms = 3000 };
    ck_assert_str_eq(encode(&ev),
                     "retry: 3000\nid: 42\nevent: system.test_event\ndata: {\"a\":1}\n\n");
}
END_TEST

START_TEST(sse_multiline_data)
{
    const char *d = "one\ntwo\r\nthree\rfour";
    struct sse_event ev = { .name = "x", .data = d, .data_len = strlen(d) };
    ck_assert_str_eq(encode(&ev),
                     "event: x\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
}
END_TEST

START_TEST(sse_trailing_newline_and_empty)
{
    struct sse_event ev = { .data = "a\n", .data_len = 2 };
    ck_assert_str_eq(encode(&ev), "data: a\ndata: \n\n");
    struct sse_event empty = { 0 };
    ck_assert_str_eq(encode(&empty), "data: \n\n");
}
END_TEST

START_TEST(sse_bad_names)
{
    char buf[64];
    struct sse_event ev = { .name = "a\nb" };
    ck_assert_int_eq(sse_encode(buf, sizeof buf, &ev), -1);
    ev.name = "a\rb";
    ck_assert_int_eq(sse_encode(buf, sizeof buf, &ev), -1);
    ev.name = "";
    ck_assert_int_eq(sse_encode(buf, sizeof buf, &ev), -1);
}
END_TEST

START_TEST(sse_measure_and_truncate)
{
    struct sse_event ev = { .name = "ping", .data = "0123456789", .data_len = 10 };
    long need = sse_encode(NULL, 0, &ev);
    ck_assert_int_eq(need, (long)strlen("event: ping\ndata: 0123456789\n\n"));
    char small[8];
    memset(small, 'Z', sizeof small);
    ck_assert_int_eq(sse_encode(small, sizeof small, &ev), need);  /* too small: says so */
    struct event *e = event_create(&ev);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(event_len(e), (size_t)need);
    ck_assert_str_eq(event_text(e), "event: ping\ndata: 0123456789\n\n");
    event_unref(event_ref(e));
    event_unref(e);
    event_unref(NULL);
}
END_TEST

Suite *sse_suite(void)
{
    Suite *s = suite_create("sse");
    UNIT_TEST(s, sse_full_event);
    UNIT_TEST(s, sse_multiline_data);
    UNIT_TEST(s, sse_trailing_newline_and_empty);
    UNIT_TEST(s, sse_bad_names);
    UNIT_TEST(s, sse_measure_and_truncate);
    return s;
}
