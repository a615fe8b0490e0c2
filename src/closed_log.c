/* closed_log.c -- the log of the last closed connections (see closed_log.h). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "closed_log.h"

/* One closed connection as the log keeps it: a closed_info without its
 * fixed-size name arrays (129 + 65 + 65 bytes, mostly unused).  The names,
 * "name\0client\0node\0", are kept in the entry when they fit (most do: a
 * user, a "tab-<16 hex>" id and no node, or a short one), else in a block
 * of their own.  96 bytes instead of 328: the full ring is 47 KiB instead
 * of 160 KiB, in one allocation, not scattered over the heap in small
 * blocks that pin its pages. */
#define CLOSED_NAMES_INLINE 40

struct closed_entry {
    int64_t opened_ms, closed_ms;
    uint64_t events_sent;
    uint64_t bytes_sent;
    char public_id[PUBLIC_ID_LEN + 1];
    unsigned char type;             /* enum conn_type */
    unsigned char reason;           /* enum close_reason */
    bool boxed;                     /* names in box (NULL: out of memory) */
    union {
        char in[CLOSED_NAMES_INLINE];
        char *box;
    } names;
};

struct closed_log {
    size_t capacity;
    struct closed_entry *ring;      /* capacity entries */
    size_t next, len;               /* where the next goes; how many are kept */
    uint64_t by_reason[CLOSE_REASONS];  /* totals since the start */
};

struct closed_log *closed_log_create(size_t capacity)
{
    struct closed_log *lg = calloc(1, sizeof *lg);
    if (!lg)
        return NULL;
    /* Not zeroed: an entry is read only once written (below len), so the
     * ring's pages are touched as closes fill it, and a responder that has
     * closed nothing does not carry them. */
    lg->ring = malloc(capacity * sizeof *lg->ring);
    if (!lg->ring) {
        free(lg);
        return NULL;
    }
    lg->capacity = capacity;
    return lg;
}

void closed_log_free(struct closed_log *lg)
{
    if (!lg)
        return;
    for (size_t i = 0; i < lg->len; i++)
        if (lg->ring[i].boxed)
            free(lg->ring[i].names.box);
    free(lg->ring);
    free(lg);
}

/* The entry's "name\0client\0node\0" (all "" if they could not be kept). */
static const char *closed_names(const struct closed_entry *ce)
{
    if (!ce->boxed)
        return ce->names.in;
    return ce->names.box ? ce->names.box : "\0\0";
}

/* Adds one entry from its fields. */
static void add(struct closed_log *lg, const char *public_id, enum conn_type type, const char *name,
                const char *client, const char *node, int64_t opened_ms, uint64_t events_sent,
                uint64_t bytes_sent, enum close_reason reason, int64_t closed_ms)
{
    struct closed_entry *ce = &lg->ring[lg->next];
    size_t nlen = strlen(name), clen = strlen(client), dlen = strlen(node);
    size_t size = nlen + clen + dlen + 3;
    if (lg->len == lg->capacity && ce->boxed)
        free(ce->names.box);        /* the oldest entry's, written over */
    ce->boxed = size > sizeof ce->names.in;
    char *dst = ce->boxed ? (ce->names.box = malloc(size)) : ce->names.in;
    if (dst) {
        memcpy(dst, name, nlen + 1);
        memcpy(dst + nlen + 1, client, clen + 1);
        memcpy(dst + nlen + clen + 2, node, dlen + 1);
    }
    memcpy(ce->public_id, public_id, sizeof ce->public_id);
    ce->type = (unsigned char)type;
    ce->opened_ms = opened_ms;
    ce->closed_ms = closed_ms;
    ce->events_sent = events_sent;
    ce->bytes_sent = bytes_sent;
    ce->reason = (unsigned char)reason;
    lg->next = (lg->next + 1) % lg->capacity;
    if (lg->len < lg->capacity)
        lg->len++;
    if ((unsigned)reason < CLOSE_REASONS)
        lg->by_reason[reason]++;
}

void closed_log_add(struct closed_log *lg, const struct conn *c, enum close_reason reason,
                    int64_t closed_ms)
{
    add(lg, c->public_id, c->type, c->name, c->client, "", c->connected_at_ms,
        atomic_load(&c->events_sent), atomic_load(&c->bytes_sent), reason, closed_ms);
}

void closed_log_add_info(struct closed_log *lg, const struct conn_info *ci,
                         enum close_reason reason, int64_t closed_ms)
{
    add(lg, ci->public_id, ci->type, ci->name, ci->client, ci->node, ci->connected_at_ms,
        ci->events_sent, ci->bytes_sent, reason, closed_ms);
}

long closed_log_copy(const struct closed_log *lg, struct closed_info **out,
                     uint64_t totals[CLOSE_REASONS])
{
    size_t n = lg->len;
    struct closed_info *v = malloc((n ? n : 1) * sizeof *v);
    *out = v;
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct closed_entry *ce = &lg->ring[(lg->next + lg->capacity - 1 - i) % lg->capacity];
        struct closed_info *ci = &v[i];
        const char *name = closed_names(ce);
        const char *client = name + strlen(name) + 1;
        const char *node = client + strlen(client) + 1;
        memcpy(ci->public_id, ce->public_id, sizeof ci->public_id);
        ci->type = (enum conn_type)ce->type;
        snprintf(ci->name, sizeof ci->name, "%s", name);
        snprintf(ci->client, sizeof ci->client, "%s", client);
        snprintf(ci->node, sizeof ci->node, "%s", node);
        ci->opened_ms = ce->opened_ms;
        ci->closed_ms = ce->closed_ms;
        ci->events_sent = ce->events_sent;
        ci->bytes_sent = ce->bytes_sent;
        ci->reason = (enum close_reason)ce->reason;
    }
    closed_log_totals(lg, totals);
    return (long)n;
}

void closed_log_totals(const struct closed_log *lg, uint64_t totals[CLOSE_REASONS])
{
    memcpy(totals, lg->by_reason, sizeof lg->by_reason);
}
