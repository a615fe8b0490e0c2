/* registry.h -- the table of live connections.
 *
 * DESIGN
 * Every live stream is in exactly one registry, keyed by its secret token
 * (hash table) and kept on a list for broadcasts and snapshots.  All of it
 * is guarded by the registry mutex, held only for memory work: no client
 * I/O is ever done with it held (events are queued, and the I/O loops
 * write them).  A second mutex, the broadcast lock, lets one broadcast at a
 * time walk the list in batches (registry_broadcast), taking the registry
 * mutex batch by batch.  A connection leaves the registry exactly once,
 * with a reason, and the change goes to the feed (feed.h); whoever removes
 * it other than its own loop also flags it closing and wakes the loop,
 * under the same mutex, so the loop cannot free it in between (the loop's
 * own registry_remove() call takes the mutex and so waits for them).
 *
 * All functions are thread safe; each takes the registry mutex, and some
 * then a connection's mutex (the whole lock order is in hub.h). */
#ifndef SSE_REGISTRY_H
#define SSE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "event.h"
#include "filter.h"

struct feed;
struct registry;

#define REGISTRY_CLOSED_MAX 500     /* closed connections remembered */
#define REGISTRY_MIN_BUCKETS 256    /* hash buckets of an empty registry */

/* A copy of the registry, or of its counts alone, from one critical
 * section: counts and list agree. */
struct registry_snapshot {
    uint64_t seq;                   /* the last change (feed.h) it includes */
    size_t count;                   /* live connections */
    size_t admin_count;
    size_t display_count;
    size_t stale_count;             /* marked stale (registry_set_stale) */
    int64_t connected_at_sum_ms;    /* average age: now - this / count */
    struct conn_info *conns;        /* nconns entries: all of them, oldest
                                       first (registry_snapshot), or a page */
    size_t nconns;
    uint64_t closed_by_reason[CLOSE_REASONS];   /* totals since start */
};

/* What a page of connections asks for (registry_page). */
struct registry_query {
    int type;                       /* -1: both, else enum conn_type */
    int state;                      /* -1: both, 0: live, 1: stale */
    const char *text;               /* NULL, or a case-insensitive part of the
                                       user, display, public id or client id */
    size_t offset, limit;
};

/* registry_add's refusals. */
#define REGISTRY_FULL (-1)          /* max connections */
#define REGISTRY_USER_LIMIT (-2)    /* max streams for this user */
#define REGISTRY_ADDRESS_LIMIT (-3) /* max streams from this address */
#define REGISTRY_CONFLICT (-4)      /* the display is live on another screen */

/* Returns an empty registry that holds at most max connections, at most
 * per_user admin streams of one user and per_address streams from one
 * address (0: no limit), or NULL when out of memory. */
struct registry *registry_create(size_t max, size_t per_user, size_t per_address);

/* In a cluster: this node's name, in every connection it shows (NULL or
 * "": none).  Call before streams come. */
void registry_set_node(struct registry *r, const char *node);

/* Sends every change (a stream added, removed, gone stale or live again)
 * to f (feed.h) from now on; NULL: nowhere.  Call before streams come. */
void registry_set_feed(struct registry *r, struct feed *f);

/* Frees the table; the connections still in it are not freed (their stream
 * threads own them).  NULL does nothing. */
void registry_free(struct registry *r);

/* Adds c.  A live connection that c supersedes -- the same user and
 * non-empty client id, or the same display name -- leaves with reason
 * CLOSE_SUPERSEDED and is woken, in the same critical section.  A display
 * is nobody's to take over: c replaces the display's live stream only if
 * c was opened with the display's key (c->keyed), carries the same client
 * id, or the live one is stale (an acked stream that stopped acking); else
 * c is refused and the live one is not touched.  Returns the number
 * superseded (0 or 1), or REGISTRY_CONFLICT, REGISTRY_FULL,
 * REGISTRY_USER_LIMIT or REGISTRY_ADDRESS_LIMIT (c is untouched and
 * nothing is superseded). */
int registry_add(struct registry *r, struct conn *c);

/* For c's own I/O loop: takes c out of the registry with `reason` if
 * it is still in it.  Returns true if this call removed it, false if it had
 * already left (its reason is then in c->reason).  Either way, once this
 * returns no other thread holds or will reach c. */
bool registry_remove(struct registry *r, struct conn *c, enum close_reason reason);

/* Removes the connection whose token is `token` (TOKEN_LEN characters,
 * compared in constant time) with `reason`, flags it closing and wakes its
 * thread.  Returns true if it was live, false if unknown (idempotent). */
bool registry_remove_token(struct registry *r, const char *token,
                           enum close_reason reason);

/* Removes the connection with this public id with `reason` and wakes it.
 * Returns true if it was live. */
bool registry_remove_public_id(struct registry *r, const char *public_id,
                               enum close_reason reason);

/* Records an ack of ping seq for the connection with this token (see
 * conn_ack).  Returns the round trip in ms, -1 if the seq is unknown, or
 * -2 if no live connection has the token. */
int64_t registry_ack(struct registry *r, const char *token, uint64_t seq);

/* For c's loop: c, an acked stream, has not acked for CONN_STALE_BEATS
 * heartbeats.  Marks it stale (stats' state, and a FEED_STATE change) if it
 * is still in the registry and was not already; the next valid ack
 * (registry_ack) marks it live again.  Returns true if it changed. */
bool registry_set_stale(struct registry *r, struct conn *c);

/* Copies the closed log, newest first, into *out (caller frees) and the
 * totals per reason into totals.  Returns the number of entries, or -1
 * when out of memory. */
long registry_closed(struct registry *r, struct closed_info **out,
                     uint64_t totals[CLOSE_REASONS]);

/* Queues e on every connection that matches f.  A connection whose queue is
 * full is removed as a slow consumer and woken to end.  Returns the number
 * of connections e was queued on.
 *
 * The registry mutex is held for REGISTRY_BROADCAST_BATCH connections at a
 * time, not for all of them (10,000 held it 2 to 36 ms, and stats,
 * disconnects and ending streams waited): other calls run between batches.
 * Broadcasts are serialized, so every stream gets events in the order they
 * were broadcast.  A connection removed meanwhile is skipped; one added
 * meanwhile may or may not get the event, so a caller that needs each event
 * either replayed or queued, never both, never neither (handlers.c), holds
 * one lock over its broadcasts and its registry_add() calls. */
size_t registry_broadcast(struct registry *r, const struct filter *f,
                          struct event *e);
#define REGISTRY_BROADCAST_BATCH 128

/* For tests: fn(arg) runs between two batches of every broadcast, with the
 * registry mutex released (NULL: nothing runs). */
void registry_set_batch_hook(struct registry *r, void (*fn)(void *), void *arg);

/* Removes every connection with `reason` and wakes them all.  Returns how
 * many there were. */
size_t registry_remove_all(struct registry *r, enum close_reason reason);

/* True if c is still in the registry (its stream is active). */
bool registry_contains(struct registry *r, const struct conn *c);

size_t registry_count(struct registry *r);

/* The size of its hash tables: a power of two, at least the count (they
 * double when it is reached) and at least REGISTRY_MIN_BUCKETS; they halve
 * when the count falls under a quarter.  For tests. */
size_t registry_buckets(struct registry *r);

/* Copies the whole registry into *out in one critical section, so counts
 * and lists agree.  Returns 0, or -1 when out of memory (*out is then
 * zeroed).  Free with registry_snapshot_release(). */
int registry_snapshot(struct registry *r, struct registry_snapshot *out);

/* The counts alone (no list: out->conns NULL), in O(1). */
void registry_counts(struct registry *r, struct registry_snapshot *out);

/* What a snapshot of more than the registry adds (a cluster's other
 * nodes): called with the registry's mutex held, after the registry's own
 * counts (and, with list, connections) are in s; adds its own and sets
 * s->seq, from the feed, while its own publisher's lock is held too.
 * Returns 0, or -1 when out of memory. */
typedef int registry_also_fn(void *ctx, struct registry_snapshot *s, bool list);

/* registry_snapshot() and registry_counts() with also's additions, in the
 * same critical section. */
int registry_snapshot_with(struct registry *r, struct registry_snapshot *out,
                           registry_also_fn *also, void *ctx);
void registry_counts_with(struct registry *r, struct registry_snapshot *out,
                          registry_also_fn *also, void *ctx);

/* The connections that match q, newest first: those after the first
 * q->offset, at most q->limit, into out->conns (out->nconns), with the
 * counts of the whole registry, and how many match in all into *total.
 * One critical section, a walk of the whole list.  Returns 0, or -1 when
 * out of memory (*out zeroed).  Free with registry_snapshot_release(). */
int registry_page(struct registry *r, const struct registry_query *q,
                  struct registry_snapshot *out, size_t *total);

/* True if a connection of this type, state, name, public id and client id
 * is in what q asks for.  Pure. */
bool registry_query_matches(const struct registry_query *q, enum conn_type type, bool stale,
                            const char *name, const char *public_id, const char *client);

/* Makes a full snapshot s into the page q asks for (as registry_page:
 * newest first) and says how many matched into *total. */
void registry_snapshot_page(struct registry_snapshot *s, const struct registry_query *q,
                            size_t *total);

/* How many live connections f reaches. */
size_t registry_count_matching(struct registry *r, const struct filter *f);

/* True if a live connection would be superseded by c (registry_add). */
bool registry_would_supersede(struct registry *r, const struct conn *c);

/* registry_ack() for the connection with this public id (a cluster's
 * other node checked the token). */
int64_t registry_ack_public_id(struct registry *r, const char *public_id, uint64_t seq);

/* The live stream of display name, into *out.  Returns false if there is
 * none.  O(1). */
bool registry_display(struct registry *r, const char *name, struct conn_info *out);

/* How many streams asked for the pushed monitor.  Lock-free. */
size_t registry_monitors(struct registry *r);

/* Queues the pushed monitor's events on every stream that asked for it:
 * changes (NULL: none this time) then summary.  A stream with more than
 * max_queued events queued or max_unsent bytes unwritten is behind: it
 * gets nothing now, and resync instead of the next changes once it caught
 * up.  Returns the streams that got the events. */
size_t registry_broadcast_monitors(struct registry *r, struct event *changes,
                                   struct event *resync, struct event *summary,
                                   unsigned max_queued, uint64_t max_unsent);
void registry_snapshot_release(struct registry_snapshot *s);

#endif
