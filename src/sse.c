/* sse.c -- the EventSource wire format. */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sse.h"

/* A bounded writer: counts everything, stores what fits. */
struct out {
    char *dst;
    size_t cap;
    size_t len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n < o->cap)
        memcpy(o->dst + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

long sse_encode(char *dst, size_t cap, const struct sse_event *ev)
{
    struct out o = { dst, cap, 0 };
    char num[32];

    if (ev->name) {
        size_t n = strlen(ev->name);
        if (n == 0 || strpbrk(ev->name, "\r\n"))
            return -1;
    }
    if (ev->retry_ms) {
        snprintf(num, sizeof num, "retry: %u\n", ev->retry_ms);
        puts_(&o, num);
    }
    if (ev->id) {
        snprintf(num, sizeof num, "id: %" PRIu64 "\n", ev->id);
        puts_(&o, num);
    }
    if (ev->name) {
        puts_(&o, "event: ");
        puts_(&o, ev->name);
        puts_(&o, "\n");
    }
    const char *p = ev->data ? ev->data : "";
    const char *end = p + (ev->data ? ev->data_len : 0);
    for (;;) {
        const char *eol = p;
        while (eol < end && *eol != '\r' && *eol != '\n')
            eol++;
        puts_(&o, "data: ");
        put(&o, p, (size_t)(eol - p));
        puts_(&o, "\n");
        if (eol == end)
            break;
        p = eol + 1;
        if (*eol == '\r' && p < end && *p == '\n')
            p++;                        /* CRLF is one line break */
    }
    puts_(&o, "\n");
    if (o.len < o.cap)
        o.dst[o.len] = '\0';
    return (long)o.len;
}
