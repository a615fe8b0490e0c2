/* history.c -- recent broadcast events for Last-Event-ID. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"

struct entry {
    uint64_t id;
    int64_t at_ms;
    struct event *e;
    int type;                       /* the filter, copied */
    char *user;
    char *display;
};

struct history {
    size_t max;
    int64_t max_age_ms;
    struct entry *ring;
    size_t head, len;               /* oldest at head */
    uint64_t last_id;               /* newest issued */
    uint64_t lost_upto;             /* newest id no longer replayable */
};

struct history *history_create(size_t max, int64_t max_age_ms, uint64_t first_id)
{
    struct history *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->max = max;
    h->max_age_ms = max_age_ms;
    h->last_id = h->lost_upto = first_id - 1;
    if (max && !(h->ring = calloc(max, sizeof *h->ring))) {
        free(h);
        return NULL;
    }
    return h;
}

static void drop_oldest(struct history *h)
{
    struct entry *en = &h->ring[h->head];
    h->lost_upto = en->id;
    event_unref(en->e);
    free(en->user);
    free(en->display);
    memset(en, 0, sizeof *en);
    h->head = (h->head + 1) % h->max;
    h->len--;
}

static void expire(struct history *h, int64_t now_ms)
{
    while (h->len && now_ms - h->ring[h->head].at_ms > h->max_age_ms)
        drop_oldest(h);
}

void history_free(struct history *h)
{
    if (!h)
        return;
    while (h->len)
        drop_oldest(h);
    free(h->ring);
    free(h);
}

int history_add(struct history *h, uint64_t id, struct event *e,
                const struct registry_filter *f, int64_t now_ms)
{
    h->last_id = id;
    if (!h->max) {
        h->lost_upto = id;
        return 0;
    }
    expire(h, now_ms);
    if (h->len == h->max)
        drop_oldest(h);
    struct entry en = { .id = id, .at_ms = now_ms, .type = f ? f->type : -1 };
    if (f && f->user && !(en.user = strdup(f->user)))
        goto lost;
    if (f && f->display && !(en.display = strdup(f->display)))
        goto lost;
    en.e = event_ref(e);
    h->ring[(h->head + h->len) % h->max] = en;
    h->len++;
    return 0;
lost:
    free(en.user);
    h->lost_upto = id;
    return -1;
}

uint64_t history_last_id(const struct history *h)
{
    return h->last_id;
}

enum history_result history_since(struct history *h, uint64_t last_id, enum conn_type type,
                                  const char *name, int64_t now_ms,
                                  struct event ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (h->max)
        expire(h, now_ms);
    if (last_id < h->lost_upto || last_id > h->last_id)
        return HISTORY_RESET;
    size_t cap = 0;
    for (size_t i = 0; i < h->len; i++) {
        struct entry *en = &h->ring[(h->head + i) % h->max];
        if (en->id <= last_id)
            continue;
        struct registry_filter f = { en->type, en->user, en->display };
        if (!registry_filter_matches(&f, type, name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct event **v = realloc(*out, cap * sizeof *v);
            if (!v) {
                for (size_t j = 0; j < *n; j++)
                    event_unref((*out)[j]);
                free(*out);
                *out = NULL;
                *n = 0;
                return HISTORY_RESET;   /* cannot replay: say so */
            }
            *out = v;
        }
        (*out)[(*n)++] = event_ref(en->e);
    }
    return HISTORY_OK;
}
