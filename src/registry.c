/* registry.c -- the table of live connections. */
#include "autoconf.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "closed_log.h"
#include "feed.h"
#include "registry.h"
#include "timeutil.h"

/* Streams per user or per address: a small chained hash of counts. */
struct count {
    struct count *next;
    size_t n;
    char key[];
};

#define COUNT_BUCKETS 1024

struct registry {
    pthread_mutex_t mu;
    struct feed *feed;              /* where changes go; NULL: nowhere */
    char node[CONN_NODE_MAX + 1];   /* in a cluster, this node's name; else "" */
    pthread_mutex_t broadcast_mu;   /* one broadcast at a time */
    struct conn *broadcast_next;    /* where the broadcast under way goes on */
    void (*between_batches)(void *);  /* tests: see registry_set_batch_hook() */
    void *between_batches_arg;
    size_t max;
    size_t per_user, per_address;
    struct count *counts[COUNT_BUCKETS];
    size_t count;
    size_t admin_count;
    size_t stale_count;             /* marked stale (registry_set_stale) */
    int64_t connected_at_sum;       /* of every live connection: for the average age */
    struct conn *head, *tail;       /* oldest first */
    struct conn *monitors;          /* streams with monitor set, through mnext */
    atomic_size_t nmonitors;
    struct conn **buckets;          /* by token */
    struct conn **sbuckets;         /* by supersede key, same size */
    size_t nbuckets;                /* a power of two */
    struct closed_log *closed;      /* the last REGISTRY_CLOSED_MAX, and totals */
};

/* FNV-1a over the token.  Tokens are random, so any mixing would do; the
 * final comparison is constant time (token_equal). */
static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t hash_token(const char *token)
{
    return (size_t)fnv(1469598103934665603ULL, token, TOKEN_LEN);
}

/* Connections a newer one replaces share a key: displays by name, admins
 * by user and client id.  Admins without a client id have none. */
static bool has_skey(const struct conn *c)
{
    return c->type == CONN_DISPLAY || c->client[0];
}

static size_t hash_skey(const struct conn *c)
{
    uint64_t h = fnv(1469598103934665603ULL, c->type == CONN_DISPLAY ? "d" : "a", 1);
    h = fnv(h, c->name, strlen(c->name) + 1);
    if (c->type == CONN_ADMIN)
        h = fnv(h, c->client, strlen(c->client));
    return (size_t)h;
}

static bool same_skey(const struct conn *a, const struct conn *b)
{
    return a->type == b->type && strcmp(a->name, b->name) == 0 &&
           (a->type == CONN_DISPLAY || strcmp(a->client, b->client) == 0);
}

/* The count for kind ('u' user, 'a' address) and name; with create, made
 * if missing.  Returns NULL if missing (or out of memory).  Called with
 * r->mu held. */
static struct count *count_find(struct registry *r, char kind, const char *name, bool create)
{
    uint64_t h = fnv(fnv(1469598103934665603ULL, &kind, 1), name, strlen(name));
    struct count **pp = &r->counts[h % COUNT_BUCKETS];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->key[0] == kind && strcmp((*pp)->key + 1, name) == 0)
            return *pp;
    if (!create)
        return NULL;
    size_t len = strlen(name);
    struct count *c = calloc(1, sizeof *c + len + 2);
    if (!c)
        return NULL;
    c->key[0] = kind;
    memcpy(c->key + 1, name, len + 1);
    *pp = c;
    return c;
}

/* Adds delta to the count; frees it at zero.  Called with r->mu held. */
static void count_add(struct registry *r, char kind, const char *name, int delta)
{
    if (!*name)
        return;
    struct count *c = count_find(r, kind, name, delta > 0);
    if (!c)
        return;                     /* out of memory: the limit is not enforced */
    c->n += (size_t)(ptrdiff_t)delta;
    if (c->n == 0) {
        uint64_t h = fnv(fnv(1469598103934665603ULL, &kind, 1), name, strlen(name));
        struct count **pp = &r->counts[h % COUNT_BUCKETS];
        while (*pp != c)
            pp = &(*pp)->next;
        *pp = c->next;
        free(c);
    }
}

static size_t count_of(struct registry *r, char kind, const char *name)
{
    struct count *c = *name ? count_find(r, kind, name, false) : NULL;
    return c ? c->n : 0;
}

/* Counts c as a stream of its user (admins) and of its address. */
static void count_conn(struct registry *r, const struct conn *c, int delta)
{
    if (c->type == CONN_ADMIN)
        count_add(r, 'u', c->name, delta);
    count_add(r, 'a', c->addr, delta);
}

/* What stats shows of c, with this node's name.  Called with r->mu held. */
static void info_of(struct registry *r, struct conn *c, struct conn_info *out)
{
    conn_info_fill(c, out);
    memcpy(out->node, r->node, sizeof out->node);
}

struct fill_arg {
    struct registry *r;
    struct conn *c;
};

static void fill_info(void *arg, struct conn_info *out)
{
    struct fill_arg *a = arg;
    info_of(a->r, a->c, out);
}

/* Tells the feed that c changed (see feed.h).  Called with r->mu held. */
static void publish(struct registry *r, enum feed_kind kind, struct conn *c,
                    enum close_reason reason, int64_t at_ms)
{
    struct feed_change ch = { .kind = kind, .stale = c->stale, .reason = reason, .at_ms = at_ms };
    struct fill_arg arg = { r, c };
    feed_publish(r->feed, &ch, fill_info, &arg);
}

struct registry *registry_create(size_t max, size_t per_user, size_t per_address)
{
    struct registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->nbuckets = REGISTRY_MIN_BUCKETS;
    r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
    r->sbuckets = calloc(r->nbuckets, sizeof *r->sbuckets);
    r->closed = closed_log_create(REGISTRY_CLOSED_MAX);
    if (!r->buckets || !r->sbuckets || !r->closed) {
        free(r->buckets);
        free(r->sbuckets);
        closed_log_free(r->closed);
        free(r);
        return NULL;
    }
    r->max = max;
    r->per_user = per_user;
    r->per_address = per_address;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->broadcast_mu, NULL);
    return r;
}

void registry_set_node(struct registry *r, const char *node)
{
    pthread_mutex_lock(&r->mu);
    snprintf(r->node, sizeof r->node, "%s", node ? node : "");
    pthread_mutex_unlock(&r->mu);
}

void registry_set_feed(struct registry *r, struct feed *f)
{
    pthread_mutex_lock(&r->mu);
    r->feed = f;
    pthread_mutex_unlock(&r->mu);
}

void registry_free(struct registry *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->broadcast_mu);
    for (size_t i = 0; i < COUNT_BUCKETS; i++) {
        for (struct count *c = r->counts[i], *next; c; c = next) {
            next = c->next;
            free(c);
        }
    }
    free(r->buckets);
    free(r->sbuckets);
    closed_log_free(r->closed);
    free(r);
}

/* Rehashes into n buckets (a power of two); on allocation failure keeps
 * the old ones (the table still works, only with longer or emptier
 * chains).  Called with r->mu held. */
static void rehash(struct registry *r, size_t n)
{
    struct conn **b = calloc(n, sizeof *b);
    struct conn **sb = calloc(n, sizeof *sb);
    if (!b || !sb) {
        free(b);
        free(sb);
        return;
    }
    for (struct conn *c = r->head; c; c = c->next) {
        size_t j = hash_token(c->token) & (n - 1);
        c->hnext = b[j];
        b[j] = c;
        if (has_skey(c)) {
            j = hash_skey(c) & (n - 1);
            c->snext = sb[j];
            sb[j] = c;
        }
    }
    free(r->buckets);
    free(r->sbuckets);
    r->buckets = b;
    r->sbuckets = sb;
    r->nbuckets = n;
}

static void evict_locked(struct registry *r, struct conn *c, enum close_reason reason);

/* The live connection c would supersede, or NULL.  Called with r->mu held. */
static struct conn *find_superseded(struct registry *r, const struct conn *c)
{
    if (!has_skey(c))
        return NULL;
    struct conn *o = r->sbuckets[hash_skey(c) & (r->nbuckets - 1)];
    while (o && !same_skey(o, c))
        o = o->snext;
    return o;
}

/* Whether c, a new display stream, may replace old, the display's live
 * one: names are in every kiosk's URL, so the name alone never takes a
 * screen over.  The key does; so does the same client id (the same
 * browser reloading); and a stale stream (its kiosk stopped acking) is
 * nobody's to keep.  Called with r->mu held (old->stale). */
static bool may_replace(const struct conn *c, const struct conn *old)
{
    return c->keyed || old->stale || (c->client[0] && strcmp(c->client, old->client) == 0);
}

int registry_add(struct registry *r, struct conn *c)
{
    pthread_mutex_lock(&r->mu);
    struct conn *old = find_superseded(r, c);
    int refuse = 0;
    if (old && c->type == CONN_DISPLAY && !may_replace(c, old))
        refuse = REGISTRY_CONFLICT;
    else if (r->count >= r->max && !old)
        refuse = REGISTRY_FULL;
    else if (c->type == CONN_ADMIN && r->per_user &&
             count_of(r, 'u', c->name) - (old != NULL) >= r->per_user)
        refuse = REGISTRY_USER_LIMIT;      /* an admin supersedes its own user's */
    else if (c->addr[0] && r->per_address &&
             count_of(r, 'a', c->addr) - (old && strcmp(old->addr, c->addr) == 0)
                 >= r->per_address)
        refuse = REGISTRY_ADDRESS_LIMIT;
    if (refuse) {
        pthread_mutex_unlock(&r->mu);
        return refuse;
    }
    if (old)
        evict_locked(r, old, CLOSE_SUPERSEDED);
    if (r->count >= r->nbuckets)
        rehash(r, r->nbuckets * 2);
    size_t i = hash_token(c->token) & (r->nbuckets - 1);
    c->hnext = r->buckets[i];
    r->buckets[i] = c;
    if (has_skey(c)) {
        i = hash_skey(c) & (r->nbuckets - 1);
        c->snext = r->sbuckets[i];
        r->sbuckets[i] = c;
    }
    c->prev = r->tail;
    c->next = NULL;
    if (r->tail)
        r->tail->next = c;
    else
        r->head = c;
    r->tail = c;
    c->in_registry = true;
    c->reason = CLOSE_NONE;
    c->stale = false;
    r->count++;
    if (c->type == CONN_ADMIN)
        r->admin_count++;
    r->connected_at_sum += c->connected_at_ms;
    if (c->monitor) {
        c->mprev = NULL;
        c->mnext = r->monitors;
        if (r->monitors)
            r->monitors->mprev = c;
        r->monitors = c;
        atomic_fetch_add(&r->nmonitors, 1);
    }
    count_conn(r, c, +1);
    publish(r, FEED_OPENED, c, CLOSE_NONE, c->connected_at_ms);
    pthread_mutex_unlock(&r->mu);
    return old ? 1 : 0;
}

/* Unlinks c from list and hashes and logs why.  Called with r->mu held;
 * c is in r. */
static void unlink_locked(struct registry *r, struct conn *c, enum close_reason reason)
{
    struct conn **pp = &r->buckets[hash_token(c->token) & (r->nbuckets - 1)];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (has_skey(c)) {
        pp = &r->sbuckets[hash_skey(c) & (r->nbuckets - 1)];
        while (*pp != c)
            pp = &(*pp)->snext;
        *pp = c->snext;
    }
    int64_t now = time_now_ms();
    closed_log_add(r->closed, c, reason, now);
    publish(r, FEED_CLOSED, c, reason, now);
    count_conn(r, c, -1);
    if (r->broadcast_next == c)
        r->broadcast_next = c->next;  /* a broadcast between batches skips it */
    if (c->prev)
        c->prev->next = c->next;
    else
        r->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        r->tail = c->prev;
    c->prev = c->next = c->hnext = c->snext = NULL;
    if (c->monitor) {
        if (c->mprev)
            c->mprev->mnext = c->mnext;
        else
            r->monitors = c->mnext;
        if (c->mnext)
            c->mnext->mprev = c->mprev;
        c->mprev = c->mnext = NULL;
        atomic_fetch_sub(&r->nmonitors, 1);
    }
    c->in_registry = false;
    c->reason = reason;
    r->count--;
    if (c->type == CONN_ADMIN)
        r->admin_count--;
    if (c->stale)
        r->stale_count--;
    r->connected_at_sum -= c->connected_at_ms;
    /* Tables that grew for a peak shrink as it passes (20,000 streams
     * left 512 KiB of them); at a quarter full, so that a count going up
     * and down around one size does not rehash each time. */
    if (r->nbuckets > REGISTRY_MIN_BUCKETS && r->count < r->nbuckets / 4)
        rehash(r, r->nbuckets / 2);
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

/* The live connection with this token, or NULL.  Called with r->mu held. */
static struct conn *find_token(struct registry *r, const char *token)
{
    struct conn *c = r->buckets[hash_token(token) & (r->nbuckets - 1)];
    while (c && !token_equal(c->token, token))
        c = c->hnext;
    return c;
}

bool registry_remove_token(struct registry *r, const char *token,
                           enum close_reason reason)
{
    pthread_mutex_lock(&r->mu);
    struct conn *c = find_token(r, token);
    if (c)
        evict_locked(r, c, reason);
    pthread_mutex_unlock(&r->mu);
    return c != NULL;
}

bool registry_remove_public_id(struct registry *r, const char *public_id,
                               enum close_reason reason)
{
    /* A linear scan: an admin action, rare next to broadcasts. */
    pthread_mutex_lock(&r->mu);
    struct conn *c = r->head;
    while (c && strcmp(c->public_id, public_id) != 0)
        c = c->next;
    if (c)
        evict_locked(r, c, reason);
    pthread_mutex_unlock(&r->mu);
    return c != NULL;
}

/* Records an ack for c (NULL: none: -2).  Called with r->mu held. */
static int64_t ack_locked(struct registry *r, struct conn *c, uint64_t seq);

int64_t registry_ack(struct registry *r, const char *token, uint64_t seq)
{
    pthread_mutex_lock(&r->mu);
    int64_t rtt = ack_locked(r, find_token(r, token), seq);
    pthread_mutex_unlock(&r->mu);
    return rtt;
}

int64_t registry_ack_public_id(struct registry *r, const char *public_id, uint64_t seq)
{
    pthread_mutex_lock(&r->mu);
    struct conn *c = r->head;
    while (c && strcmp(c->public_id, public_id) != 0)
        c = c->next;
    int64_t rtt = ack_locked(r, c, seq);
    pthread_mutex_unlock(&r->mu);
    return rtt;
}

static int64_t ack_locked(struct registry *r, struct conn *c, uint64_t seq)
{
    int64_t now = time_now_ms();
    int64_t rtt = c ? conn_ack(c, seq, now, time_mono_ms()) : -2;
    if (rtt >= 0 && c->stale) {
        c->stale = false;           /* it answers again */
        r->stale_count--;
        publish(r, FEED_STATE, c, CLOSE_NONE, now);
    }
    return rtt;
}

bool registry_set_stale(struct registry *r, struct conn *c)
{
    pthread_mutex_lock(&r->mu);
    bool changed = c->in_registry && !c->stale;
    if (changed) {
        c->stale = true;
        r->stale_count++;
        publish(r, FEED_STATE, c, CLOSE_NONE, time_now_ms());
    }
    pthread_mutex_unlock(&r->mu);
    return changed;
}

long registry_closed(struct registry *r, struct closed_info **out,
                     uint64_t totals[CLOSE_REASONS])
{
    pthread_mutex_lock(&r->mu);
    long n = closed_log_copy(r->closed, out, totals);
    pthread_mutex_unlock(&r->mu);
    return n;
}

size_t registry_broadcast(struct registry *r, const struct filter *f,
                          struct event *e)
{
    size_t n = 0;
    pthread_mutex_lock(&r->broadcast_mu);
    pthread_mutex_lock(&r->mu);
    struct conn *c = r->head;
    while (c) {
        for (size_t k = 0; c && k < REGISTRY_BROADCAST_BATCH; k++) {
            struct conn *next = c->next;
            if (filter_matches(f, c->type, c->name)) {
                if (conn_enqueue(c, e) == 0)
                    n++;
                else
                    evict_locked(r, c, CLOSE_SLOW_CONSUMER);
            }
            c = next;
        }
        if (!c)
            break;
        /* Between batches the lock is free for stats, disconnects and
         * streams ending; unlink_locked() moves the place on past any
         * connection removed meanwhile. */
        r->broadcast_next = c;
        void (*hook)(void *) = r->between_batches;
        void *hook_arg = r->between_batches_arg;
        pthread_mutex_unlock(&r->mu);
        if (hook)
            hook(hook_arg);
        pthread_mutex_lock(&r->mu);
        c = r->broadcast_next;
    }
    r->broadcast_next = NULL;
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&r->broadcast_mu);
    return n;
}

void registry_set_batch_hook(struct registry *r, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&r->mu);
    r->between_batches = fn;
    r->between_batches_arg = arg;
    pthread_mutex_unlock(&r->mu);
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

size_t registry_buckets(struct registry *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->nbuckets;
    pthread_mutex_unlock(&r->mu);
    return n;
}

size_t registry_count(struct registry *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* The counts of r into out.  Called with r->mu held. */
static void counts_locked(struct registry *r, struct registry_snapshot *out)
{
    closed_log_totals(r->closed, out->closed_by_reason);
    out->seq = feed_seq(r->feed);
    out->count = r->count;
    out->admin_count = r->admin_count;
    out->display_count = r->count - r->admin_count;
    out->stale_count = r->stale_count;
    out->connected_at_sum_ms = r->connected_at_sum;
}

void registry_counts_with(struct registry *r, struct registry_snapshot *out,
                          registry_also_fn *also, void *ctx)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->mu);
    counts_locked(r, out);
    if (also)
        also(ctx, out, false);
    pthread_mutex_unlock(&r->mu);
}

void registry_counts(struct registry *r, struct registry_snapshot *out)
{
    registry_counts_with(r, out, NULL, NULL);
}

bool registry_query_matches(const struct registry_query *q, enum conn_type type, bool stale,
                            const char *name, const char *public_id, const char *client)
{
    if (q->type >= 0 && (int)type != q->type)
        return false;
    if (q->state >= 0 && stale != (q->state == 1))
        return false;
    return !q->text || strcasestr(name, q->text) || strcasestr(public_id, q->text) ||
           strcasestr(client, q->text);
}

/* True if c is in what q asks for.  Called with r->mu held. */
static bool query_matches(const struct registry_query *q, const struct conn *c)
{
    return registry_query_matches(q, c->type, c->stale, c->name, c->public_id, c->client);
}

static int newest_first(const void *a, const void *b)
{
    int64_t x = ((const struct conn_info *)a)->connected_at_ms;
    int64_t y = ((const struct conn_info *)b)->connected_at_ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

void registry_snapshot_page(struct registry_snapshot *s, const struct registry_query *q,
                            size_t *total)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nconns; i++) {
        const struct conn_info *ci = &s->conns[i];
        if (registry_query_matches(q, ci->type, ci->stale, ci->name, ci->public_id, ci->client))
            s->conns[n++] = *ci;
    }
    qsort(s->conns, n, sizeof *s->conns, newest_first);
    *total = n;
    size_t from = q->offset < n ? q->offset : n;
    size_t k = n - from < q->limit ? n - from : q->limit;
    memmove(s->conns, s->conns + from, k * sizeof *s->conns);
    s->nconns = k;
}

size_t registry_count_matching(struct registry *r, const struct filter *f)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (struct conn *c = r->head; c; c = c->next)
        n += filter_matches(f, c->type, c->name);
    pthread_mutex_unlock(&r->mu);
    return n;
}

bool registry_would_supersede(struct registry *r, const struct conn *c)
{
    pthread_mutex_lock(&r->mu);
    bool found = find_superseded(r, c) != NULL;
    pthread_mutex_unlock(&r->mu);
    return found;
}

int registry_page(struct registry *r, const struct registry_query *q,
                  struct registry_snapshot *out, size_t *total)
{
    memset(out, 0, sizeof *out);
    *total = 0;
    struct conn_info *v = q->limit ? malloc(q->limit * sizeof *v) : NULL;
    if (q->limit && !v)
        return -1;
    size_t n = 0, seen = 0;
    pthread_mutex_lock(&r->mu);
    for (struct conn *c = r->tail; c; c = c->prev) {
        if (!query_matches(q, c))
            continue;
        if (seen >= q->offset && n < q->limit)
            info_of(r, c, &v[n++]);
        seen++;
    }
    counts_locked(r, out);
    pthread_mutex_unlock(&r->mu);
    *total = seen;
    out->conns = v;
    out->nconns = n;
    return 0;
}

bool registry_display(struct registry *r, const char *name, struct conn_info *out)
{
    struct conn key = { .type = CONN_DISPLAY };
    snprintf(key.name, sizeof key.name, "%s", name);
    pthread_mutex_lock(&r->mu);
    struct conn *c = find_superseded(r, &key);
    if (c)
        info_of(r, c, out);
    pthread_mutex_unlock(&r->mu);
    return c != NULL;
}

size_t registry_monitors(struct registry *r)
{
    return atomic_load_explicit(&r->nmonitors, memory_order_relaxed);
}

size_t registry_broadcast_monitors(struct registry *r, struct event *changes,
                                   struct event *resync, struct event *summary,
                                   unsigned max_queued, uint64_t max_unsent)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (struct conn *c = r->monitors; c; c = c->mnext) {
        bool behind = conn_queue_depth(c) > max_queued ||
                      atomic_load_explicit(&c->unsent, memory_order_relaxed) > max_unsent;
        if (behind) {
            c->monitor_behind = true;   /* gets a resync once it caught up */
            continue;
        }
        struct event *first = c->monitor_behind ? resync : changes;
        if ((first && conn_enqueue(c, first) < 0) || (summary && conn_enqueue(c, summary) < 0)) {
            c->monitor_behind = true;
            continue;
        }
        if (first == resync)
            c->monitor_behind = false;
        n++;
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

int registry_snapshot(struct registry *r, struct registry_snapshot *out)
{
    return registry_snapshot_with(r, out, NULL, NULL);
}

int registry_snapshot_with(struct registry *r, struct registry_snapshot *out,
                           registry_also_fn *also, void *ctx)
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
    for (struct conn *c = r->head; c; c = c->next)
        info_of(r, c, &v[i++]);
    counts_locked(r, out);
    out->nconns = n;
    out->conns = v;
    int rc = also ? also(ctx, out, true) : 0;
    pthread_mutex_unlock(&r->mu);
    if (rc < 0)
        registry_snapshot_release(out);
    return rc;
}

void registry_snapshot_release(struct registry_snapshot *s)
{
    free(s->conns);
    memset(s, 0, sizeof *s);
}
