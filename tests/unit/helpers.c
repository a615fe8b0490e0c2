/* tests/unit/helpers.c -- helpers the unit suites share (unit.h). */
#include "unit.h"

struct conn *mk(enum conn_type t, const char *name)
{
    struct conn *c = conn_create(t, name, NULL, false);
    ck_assert_ptr_nonnull(c);
    return c;
}

struct event *mkevent(const char *name)
{
    struct sse_event ev = { .id = 1, .name = name, .data = "{}", .data_len = 2 };
    return event_create(&ev);
}

size_t drain(struct conn *c, bool *closing)
{
    struct event *evs[CONN_QUEUE_MAX];
    size_t n = conn_take(c, evs, CONN_QUEUE_MAX, closing);
    for (size_t i = 0; i < n; i++)
        event_unref(evs[i]);
    return n;
}
