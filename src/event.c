/* event.c -- encoded, reference-counted events. */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "event.h"

struct event {
    atomic_uint refs;
    bool published;                 /* it has an id */
    size_t len;
    char text[];
};

struct event *event_create(const struct sse_event *ev)
{
    long need = sse_encode(NULL, 0, ev);
    if (need < 0)
        return NULL;
    struct event *e = malloc(sizeof *e + (size_t)need + 1);
    if (!e)
        return NULL;
    atomic_init(&e->refs, 1);
    e->published = ev->id != 0;
    e->len = (size_t)need;
    sse_encode(e->text, (size_t)need + 1, ev);
    return e;
}

struct event *event_ref(struct event *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    return e;
}

void event_unref(struct event *e)
{
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
        free(e);
}

bool event_published(const struct event *e)
{
    return e->published;
}

size_t event_count_published(struct event *const *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i]->published;
    return k;
}

const char *event_text(const struct event *e)
{
    return e->text;
}

size_t event_len(const struct event *e)
{
    return e->len;
}
