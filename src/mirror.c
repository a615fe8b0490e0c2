/* mirror.c -- the other nodes' connections (see mirror.h). */
#include "autoconf.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "closed_log.h"
#include "feed.h"
#include "filter.h"
#include "mirror.h"

#define MIRROR_BUCKETS 4096         /* per index; chains stay short at 20,000 */

struct entry {
    struct mirror_conn mc;
    struct entry *prev, *next;      /* all entries, oldest first */
    struct entry *by_id, *by_token, *by_display;    /* hash chains */
};

struct mirror {
    pthread_mutex_t mu;
    struct feed *feed;
    struct entry *head, *tail;
    size_t count, admin_count, stale_count;
    int64_t connected_at_sum;
    struct entry *ids[MIRROR_BUCKETS], *tokens[MIRROR_BUCKETS], *displays[MIRROR_BUCKETS];
    struct closed_log *closed;
};

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)(h % MIRROR_BUCKETS);
}

struct mirror *mirror_create(struct feed *f)
{
    struct mirror *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->closed = closed_log_create(REGISTRY_CLOSED_MAX);
    if (!m->closed) {
        free(m);
        return NULL;
    }
    m->feed = f;
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void mirror_free(struct mirror *m)
{
    if (!m)
        return;
    for (struct entry *e = m->head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    closed_log_free(m->closed);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Called with m->mu held. */
static void publish(struct mirror *m, enum feed_kind kind, const struct entry *e,
                    enum close_reason reason, int64_t at_ms, uint64_t seq)
{
    struct feed_change ch = { .seq = seq, .kind = kind, .info = &e->mc.info,
                              .stale = e->mc.info.stale, .reason = reason, .at_ms = at_ms };
    feed_publish(m->feed, &ch, NULL, NULL);
}

static struct entry *find_id(struct mirror *m, const char *public_id)
{
    struct entry *e = m->ids[hash(public_id)];
    while (e && strcmp(e->mc.info.public_id, public_id) != 0)
        e = e->by_id;
    return e;
}

/* Unlinks e from a hash chain through the member at offset `link`. */
static void unchain(struct entry **bucket, struct entry *e, size_t link)
{
    for (struct entry **pp = bucket; *pp; pp = (struct entry **)((char *)*pp + link)) {
        if (*pp == e) {
            *pp = *(struct entry **)((char *)e + link);
            return;
        }
    }
}

/* Takes e out of every list and count.  Called with m->mu held. */
static void unlink_entry(struct mirror *m, struct entry *e)
{
    unchain(&m->ids[hash(e->mc.info.public_id)], e, offsetof(struct entry, by_id));
    unchain(&m->tokens[hash(e->mc.token_hash)], e, offsetof(struct entry, by_token));
    if (e->mc.info.type == CONN_DISPLAY)
        unchain(&m->displays[hash(e->mc.info.name)], e, offsetof(struct entry, by_display));
    if (e->prev)
        e->prev->next = e->next;
    else
        m->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        m->tail = e->prev;
    m->count--;
    if (e->mc.info.type == CONN_ADMIN)
        m->admin_count--;
    if (e->mc.info.stale)
        m->stale_count--;
    m->connected_at_sum -= e->mc.info.connected_at_ms;
}

static void link_entry(struct mirror *m, struct entry *e)
{
    size_t b = hash(e->mc.info.public_id);
    e->by_id = m->ids[b];
    m->ids[b] = e;
    b = hash(e->mc.token_hash);
    e->by_token = m->tokens[b];
    m->tokens[b] = e;
    if (e->mc.info.type == CONN_DISPLAY) {
        b = hash(e->mc.info.name);
        e->by_display = m->displays[b];
        m->displays[b] = e;
    }
    e->next = NULL;
    e->prev = m->tail;
    if (m->tail)
        m->tail->next = e;
    else
        m->head = e;
    m->tail = e;
    m->count++;
    if (e->mc.info.type == CONN_ADMIN)
        m->admin_count++;
    if (e->mc.info.stale)
        m->stale_count++;
    m->connected_at_sum += e->mc.info.connected_at_ms;
}

/* Called with m->mu held. */
static bool put_locked(struct mirror *m, const struct mirror_conn *mc, int64_t at_ms,
                       uint64_t seq, size_t *changes)
{
    struct entry *e = find_id(m, mc->info.public_id);
    if (e) {
        bool was_stale = e->mc.info.stale;
        if (was_stale)
            m->stale_count--;
        /* The same connection: its identity does not change, its counters
         * and state may. */
        struct conn_info old = e->mc.info;
        e->mc.info = mc->info;
        memcpy(e->mc.info.public_id, old.public_id, sizeof old.public_id);
        if (e->mc.info.stale)
            m->stale_count++;
        if (was_stale != e->mc.info.stale) {
            publish(m, FEED_STATE, e, CLOSE_NONE, at_ms, seq);
            ++*changes;
        }
        return true;
    }
    e = calloc(1, sizeof *e);
    if (!e)
        return false;
    e->mc = *mc;
    link_entry(m, e);
    publish(m, FEED_OPENED, e, CLOSE_NONE, at_ms, seq);
    ++*changes;
    return true;
}

bool mirror_put(struct mirror *m, const struct mirror_conn *mc, int64_t at_ms, uint64_t seq)
{
    size_t changes = 0;
    pthread_mutex_lock(&m->mu);
    bool ok = put_locked(m, mc, at_ms, seq, &changes);
    pthread_mutex_unlock(&m->mu);
    return ok;
}

/* Called with m->mu held. */
static void remove_locked(struct mirror *m, struct entry *e, enum close_reason reason,
                          int64_t at_ms, uint64_t seq)
{
    unlink_entry(m, e);
    closed_log_add_info(m->closed, &e->mc.info, reason, at_ms);
    publish(m, FEED_CLOSED, e, reason, at_ms, seq);
    free(e);
}

bool mirror_remove(struct mirror *m, const char *node, const char *public_id,
                   enum close_reason reason, int64_t at_ms, uint64_t seq)
{
    pthread_mutex_lock(&m->mu);
    struct entry *e = find_id(m, public_id);
    if (e && strcmp(e->mc.info.node, node) != 0)
        e = NULL;
    if (e)
        remove_locked(m, e, reason, at_ms, seq);
    pthread_mutex_unlock(&m->mu);
    return e != NULL;
}

size_t mirror_drop_node(struct mirror *m, const char *node, enum close_reason reason,
                        int64_t at_ms, uint64_t seq)
{
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (struct entry *e = m->head, *next; e; e = next) {
        next = e->next;
        if (strcmp(e->mc.info.node, node) == 0) {
            remove_locked(m, e, reason, at_ms, seq);
            n++;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return n;
}

static int by_public_id(const void *a, const void *b)
{
    return strcmp(((const struct mirror_conn *)a)->info.public_id,
                  ((const struct mirror_conn *)b)->info.public_id);
}

long mirror_load_node(struct mirror *m, const char *node, const struct mirror_conn *v, size_t n,
                      int64_t at_ms)
{
    /* Sorted by public id, to tell in O(log n) which entries node still lists. */
    struct mirror_conn *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return -1;
    size_t changes = 0;
    memcpy(sorted, v, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_public_id);
    bool ok = true;
    pthread_mutex_lock(&m->mu);
    for (struct entry *e = m->head, *next; e; e = next) {
        next = e->next;
        if (strcmp(e->mc.info.node, node) == 0 &&
            !bsearch(&e->mc, sorted, n, sizeof *sorted, by_public_id)) {
            remove_locked(m, e, CLOSE_CLIENT_CLOSED, at_ms, 0);
            changes++;
        }
    }
    for (size_t i = 0; i < n; i++)
        ok &= put_locked(m, &v[i], at_ms, 0, &changes);
    pthread_mutex_unlock(&m->mu);
    free(sorted);
    return ok ? (long)changes : -1;
}

void mirror_own(struct mirror *m, struct feed_change *ch)
{
    pthread_mutex_lock(&m->mu);
    feed_publish(m->feed, ch, NULL, NULL);
    pthread_mutex_unlock(&m->mu);
}

void mirror_resync(struct mirror *m)
{
    pthread_mutex_lock(&m->mu);
    feed_resync(m->feed);
    pthread_mutex_unlock(&m->mu);
}

bool mirror_find_token(struct mirror *m, const char *token_hash, struct mirror_conn *out)
{
    pthread_mutex_lock(&m->mu);
    struct entry *e = m->tokens[hash(token_hash)];
    while (e && strcmp(e->mc.token_hash, token_hash) != 0)
        e = e->by_token;
    if (e)
        *out = e->mc;
    pthread_mutex_unlock(&m->mu);
    return e != NULL;
}

bool mirror_find_public_id(struct mirror *m, const char *public_id, struct mirror_conn *out)
{
    pthread_mutex_lock(&m->mu);
    struct entry *e = find_id(m, public_id);
    if (e)
        *out = e->mc;
    pthread_mutex_unlock(&m->mu);
    return e != NULL;
}

bool mirror_display(struct mirror *m, const char *name, struct conn_info *out)
{
    pthread_mutex_lock(&m->mu);
    struct entry *best = NULL;
    for (struct entry *e = m->displays[hash(name)]; e; e = e->by_display)
        if (strcmp(e->mc.info.name, name) == 0 &&
            (!best || e->mc.info.connected_at_ms > best->mc.info.connected_at_ms))
            best = e;
    if (best)
        *out = best->mc.info;
    pthread_mutex_unlock(&m->mu);
    return best != NULL;
}

/* Called with m->mu held. */
static void counts_add_locked(struct mirror *m, struct registry_snapshot *s)
{
    s->count += m->count;
    s->admin_count += m->admin_count;
    s->display_count += m->count - m->admin_count;
    s->stale_count += m->stale_count;
    s->connected_at_sum_ms += m->connected_at_sum;
    uint64_t totals[CLOSE_REASONS];
    closed_log_totals(m->closed, totals);
    for (int r = 0; r < CLOSE_REASONS; r++)
        s->closed_by_reason[r] += totals[r];
}

int mirror_add_to(void *ctx, struct registry_snapshot *s, bool list)
{
    struct mirror *m = ctx;
    pthread_mutex_lock(&m->mu);
    if (list) {
        size_t n = s->nconns + m->count;
        struct conn_info *v = realloc(s->conns, (n ? n : 1) * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&m->mu);
            return -1;
        }
        size_t i = s->nconns;
        for (struct entry *e = m->head; e; e = e->next)
            v[i++] = e->mc.info;
        s->conns = v;
        s->nconns = n;
    }
    counts_add_locked(m, s);
    s->seq = feed_seq(m->feed);     /* both publishers are held off: exact */
    pthread_mutex_unlock(&m->mu);
    return 0;
}

size_t mirror_count_matching(struct mirror *m, const struct filter *f)
{
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (struct entry *e = m->head; e; e = e->next)
        n += filter_matches(f, e->mc.info.type, e->mc.info.name);
    pthread_mutex_unlock(&m->mu);
    return n;
}

size_t mirror_count(struct mirror *m, const char *node)
{
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    if (!node)
        n = m->count;
    else
        for (struct entry *e = m->head; e; e = e->next)
            n += strcmp(e->mc.info.node, node) == 0;
    pthread_mutex_unlock(&m->mu);
    return n;
}

long mirror_closed(struct mirror *m, struct closed_info **out, uint64_t totals[CLOSE_REASONS])
{
    pthread_mutex_lock(&m->mu);
    long n = closed_log_copy(m->closed, out, totals);
    pthread_mutex_unlock(&m->mu);
    return n;
}
