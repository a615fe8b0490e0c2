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

/* The newest dropped event meant for one user or one display. */
struct lost_name {
    struct lost_name *next;
    uint64_t id;
    char key[];                     /* 'u' or 'd', then the name */
};

#define LOST_BUCKETS 256
#define LOST_NAMES_MAX 4096         /* past this many names, a whole type */

/* Which dropped events a stream may have missed depends on whom they were
 * for: a kiosk must not be told to reload because events for another
 * display or for the admins fell out of the history. */
struct history {
    size_t max;
    int64_t max_age_ms;
    struct entry *ring;
    size_t head, len;               /* oldest at head */
    uint64_t last_id;               /* newest issued */
    uint64_t lost_all;              /* newest dropped event for everyone */
    uint64_t lost_type[2];          /* ... for every admin, every display */
    struct lost_name *lost_names[LOST_BUCKETS];   /* ... for one of them */
    size_t nlost_names;
};

static size_t name_hash(char kind, const char *name)
{
    size_t h = (unsigned char)kind;
    for (; *name; name++)
        h = h * 31 + (unsigned char)*name;
    return h % LOST_BUCKETS;
}

static struct lost_name *lost_find(struct history *h, char kind, const char *name)
{
    struct lost_name *l = h->lost_names[name_hash(kind, name)];
    while (l && !(l->key[0] == kind && strcmp(l->key + 1, name) == 0))
        l = l->next;
    return l;
}

/* Remembers that event id, sent with filter f, can no longer be replayed.
 * Past LOST_NAMES_MAX names (publishers choose them), an event for one
 * counts as lost for its whole type, and when memory runs out for
 * everyone: a reset too many beats an event missed in silence. */
static void record_lost(struct history *h, uint64_t id, int type, const char *user,
                        const char *display)
{
    if (user || display) {
        char kind = user ? 'u' : 'd';
        const char *name = user ? user : display;
        struct lost_name *l = lost_find(h, kind, name);
        if (!l && h->nlost_names >= LOST_NAMES_MAX) {
            h->lost_type[user ? CONN_ADMIN : CONN_DISPLAY] = id;
            return;
        }
        if (!l) {
            size_t len = strlen(name);
            l = malloc(sizeof *l + len + 2);
            if (!l) {
                h->lost_all = id;
                return;
            }
            h->nlost_names++;
            l->key[0] = kind;
            memcpy(l->key + 1, name, len + 1);
            size_t b = name_hash(kind, name);
            l->next = h->lost_names[b];
            h->lost_names[b] = l;
        }
        l->id = id;
    } else if (type == CONN_ADMIN || type == CONN_DISPLAY) {
        h->lost_type[type] = id;
    } else {
        h->lost_all = id;
    }
}

/* The newest dropped event a stream of this type and name would have got. */
static uint64_t lost_for(struct history *h, enum conn_type type, const char *name)
{
    uint64_t id = h->lost_all;
    if (h->lost_type[type] > id)
        id = h->lost_type[type];
    struct lost_name *l = lost_find(h, type == CONN_ADMIN ? 'u' : 'd', name);
    if (l && l->id > id)
        id = l->id;
    return id;
}

struct history *history_create(size_t max, int64_t max_age_ms, uint64_t first_id)
{
    struct history *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->max = max;
    h->max_age_ms = max_age_ms;
    h->last_id = h->lost_all = first_id - 1;    /* before us: all lost */
    if (max && !(h->ring = calloc(max, sizeof *h->ring))) {
        free(h);
        return NULL;
    }
    return h;
}

static void drop_oldest(struct history *h)
{
    struct entry *en = &h->ring[h->head];
    record_lost(h, en->id, en->type, en->user, en->display);
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
    for (size_t i = 0; i < LOST_BUCKETS; i++) {
        for (struct lost_name *l = h->lost_names[i], *next; l; l = next) {
            next = l->next;
            free(l);
        }
    }
    free(h->ring);
    free(h);
}

int history_add(struct history *h, uint64_t id, struct event *e,
                const struct filter *f, int64_t now_ms)
{
    h->last_id = id;
    if (!h->max) {
        record_lost(h, id, f ? f->type : -1, f ? f->user : NULL, f ? f->display : NULL);
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
    h->lost_all = id;
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
    if (last_id < lost_for(h, type, name) || last_id > h->last_id)
        return HISTORY_RESET;
    size_t cap = 0;
    for (size_t i = 0; i < h->len; i++) {
        struct entry *en = &h->ring[(h->head + i) % h->max];
        if (en->id <= last_id)
            continue;
        struct filter f = { en->type, en->user, en->display };
        if (!filter_matches(&f, type, name))
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
