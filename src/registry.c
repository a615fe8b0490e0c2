/* registry.c -- the table of live connections. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define INITIAL_BUCKETS 256

struct registry {
    pthread_mutex_t mu;
    size_t max;
    size_t count;
    size_t admin_count;
    struct conn *head, *tail;       /* oldest first */
    struct conn **buckets;
    size_t nbuckets;                /* a power of two */
};

/* FNV-1a over the token.  Tokens are random, so any mixing would do; the
 * final comparison is constant time (token_equal). */
static size_t hash_token(const char *token)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < TOKEN_LEN; i++) {
        h ^= (unsigned char)token[i];
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

struct registry *registry_create(size_t max)
{
    struct registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->nbuckets = INITIAL_BUCKETS;
    r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
    if (!r->buckets) {
        free(r);
        return NULL;
    }
    r->max = max;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void registry_free(struct registry *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r->buckets);
    free(r);
}

/* Doubles the bucket array; on allocation failure keeps the old one (the
 * table still works, only with longer chains).  Called with r->mu held. */
static void grow(struct registry *r)
{
    size_t n = r->nbuckets * 2;
    struct conn **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < r->nbuckets; i++) {
        struct conn *c = r->buckets[i], *next;
        for (; c; c = next) {
            next = c->hnext;
            size_t j = hash_token(c->token) & (n - 1);
            c->hnext = b[j];
            b[j] = c;
        }
    }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = n;
}

int registry_add(struct registry *r, struct conn *c)
{
    pthread_mutex_lock(&r->mu);
    if (r->count >= r->max) {
        pthread_mutex_unlock(&r->mu);
        return -1;
    }
    if (r->count >= r->nbuckets)
        grow(r);
    size_t i = hash_token(c->token) & (r->nbuckets - 1);
    c->hnext = r->buckets[i];
    r->buckets[i] = c;
    c->prev = r->tail;
    c->next = NULL;
    if (r->tail)
        r->tail->next = c;
    else
        r->head = c;
    r->tail = c;
    c->in_registry = true;
    c->reason = CLOSE_NONE;
    r->count++;
    if (c->type == CONN_ADMIN)
        r->admin_count++;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* Unlinks c from list and hash.  Called with r->mu held; c is in r. */
static void unlink_locked(struct registry *r, struct conn *c, enum close_reason reason)
{
    struct conn **pp = &r->buckets[hash_token(c->token) & (r->nbuckets - 1)];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (c->prev)
        c->prev->next = c->next;
    else
        r->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        r->tail = c->prev;
    c->prev = c->next = c->hnext = NULL;
    c->in_registry = false;
    c->reason = reason;
    r->count--;
    if (c->type == CONN_ADMIN)
        r->admin_count--;
}

bool registry_remove(struct registry *r, struct conn *c, enum close_reason reason)
{
    pthread_mutex_lock(&r->mu);
    bool removed = c->in_registry;
    if (removed)
        unlink_locked(r, c, reason);
    pthread_mutex_unlock(&r->mu);
    return removed;
}

/* Removes c for another thread than its own and tells its thread to end.
 * Called with r->mu held. */
static void evict_locked(struct registry *r, struct conn *c, enum close_reason reason)
{
    unlink_locked(r, c, reason);
    conn_close(c);
}

bool registry_remove_token(struct registry *r, const char *token,
                           enum close_reason reason)
{
    bool found = false;
    pthread_mutex_lock(&r->mu);
    struct conn *c = r->buckets[hash_token(token) & (r->nbuckets - 1)];
    for (; c; c = c->hnext) {
        if (token_equal(c->token, token)) {
            evict_locked(r, c, reason);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return found;
}

static bool matches(const struct conn *c, const struct registry_filter *f)
{
    if (!f)
        return true;
    if (f->type >= 0 && (int)c->type != f->type)
        return false;
    if (f->user && (c->type != CONN_ADMIN || strcmp(c->name, f->user) != 0))
        return false;
    if (f->display && (c->type != CONN_DISPLAY || strcmp(c->name, f->display) != 0))
        return false;
    return true;
}

size_t registry_broadcast(struct registry *r, const struct registry_filter *f,
                          struct event *e)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    struct conn *c = r->head, *next;
    for (; c; c = next) {
        next = c->next;
        if (!matches(c, f))
            continue;
        if (conn_enqueue(c, e) == 0)
            n++;
        else
            evict_locked(r, c, CLOSE_SLOW_CONSUMER);
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

size_t registry_remove_all(struct registry *r, enum close_reason reason)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    while (r->head) {
        evict_locked(r, r->head, reason);
        n++;
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

bool registry_contains(struct registry *r, const struct conn *c)
{
    pthread_mutex_lock(&r->mu);
    bool in = c->in_registry;
    pthread_mutex_unlock(&r->mu);
    return in;
}

size_t registry_count(struct registry *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

int registry_snapshot(struct registry *r, struct registry_snapshot *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->mu);
    size_t n = r->count;
    struct conn_info *v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v) {
        pthread_mutex_unlock(&r->mu);
        return -1;
    }
    size_t i = 0;
    for (struct conn *c = r->head; c; c = c->next, i++) {
        struct conn_info *ci = &v[i];
        memcpy(ci->public_id, c->public_id, sizeof ci->public_id);
        memcpy(ci->name, c->name, sizeof ci->name);
        ci->type = c->type;
        ci->connected_at_ms = c->connected_at_ms;
        ci->last_ping_ms = atomic_load(&c->last_ping_ms);
        ci->events_sent = atomic_load(&c->events_sent);
    }
    out->count = n;
    out->admin_count = r->admin_count;
    out->display_count = n - r->admin_count;
    out->conns = v;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

void registry_snapshot_release(struct registry_snapshot *s)
{
    free(s->conns);
    memset(s, 0, sizeof *s);
}
