/* hub.h -- publishing: which stream gets which event, and in which order.
 *
 * DESIGN
 * The HTTP handlers reach the streams only through the hub.  It owns what
 * makes delivery exact:
 *   - event ids: each published event gets the next id, a number that only
 *     increases (it starts at the start time in ms, so ids from an earlier
 *     run are older than any this run issues);
 *   - the history of recent events, for streams that resume with
 *     Last-Event-ID;
 *   - the replay-or-live rule: a new stream gets each event either
 *     replayed from the history or queued live, never both and never
 *     neither.  Registering a stream and publishing an event are serialised
 *     by the hub's publish lock;
 *   - closing a stream by its token (the disconnect route) or its public id
 *     (an admin), and acks;
 *   - the change feed (feed.h) of the connections it knows, which the
 *     pushed monitor and a cluster consume.
 * It is an interface: hub_local.c is the hub of one process (its registry
 * and its history); hub_redis.c is the hub of a cluster node (cluster.h),
 * which keeps a local hub for its own streams and Redis for what the nodes
 * share, behind the same calls.
 *
 * Lock order, the whole of it (outermost first):
 *   hub publish lock -> registry broadcast lock -> registry mutex
 *     -> feed mutex -> a feed subscriber's own mutex
 *     -> conn mutex -> I/O loop mutex
 * (the registry takes a connection's mutex, and a connection its loop's;
 * the feed's subscribers take nothing but their own).  In a cluster node
 * the registry's feed is the local one and the hub's feed (the view) is
 * published under the mirror's mutex:
 *   registry mutex -> local feed mutex -> mirror mutex -> view feed mutex
 *     -> a view subscriber's own mutex
 * (the writer's subscriber passes a change on to the view itself while
 * Redis is away; a snapshot holds the registry and the mirror together).
 * Leaves, never held while taking another: the server's stream count
 * (server.c), the displays lock (server.c), the intake's queue (intake.c),
 * the event window's and the metrics' (atomic), and a cluster node's own
 * (its Redis connection for workers, its table of streams, requests,
 * nodes and writer queue: cluster_node.h).
 *
 * Every call is thread safe. */
#ifndef SSE_HUB_H
#define SSE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "filter.h"
#include "registry.h"

struct feed;
struct hub;
struct jw;

/* An event to publish: name (1-64 of [A-Za-z0-9._-]) and its data, one
 * line of compact JSON (len bytes), for whom f says (NULL: everyone). */
struct hub_event {
    const char *name;
    const char *data;
    size_t len;
    const struct filter *to;
    int64_t at_ms;                  /* when it was published; 0: now */
};

/* What a publish did. */
struct hub_published {
    uint64_t id;                    /* the event's id */
    size_t notified;                /* streams it was queued for */
};

/* Where a new stream starts. */
struct hub_resume {
    bool resume;                    /* false: a fresh stream, from now */
    uint64_t last_id;               /* resume: the last event it had (0: unknown) */
};

/* Errors, besides the registry's refusals (REGISTRY_FULL, ...). */
#define HUB_NOMEM (-10)             /* out of memory: nothing happened */
#define HUB_UNAVAILABLE (-11)       /* the bus is down: nothing happened */

struct hub_ops {
    int (*publish)(struct hub *h, const struct hub_event *ev, struct hub_published *out);
    int (*subscribe)(struct hub *h, struct conn *c, const struct hub_resume *from);
    int (*close_token)(struct hub *h, const char *token, enum close_reason why);
    int (*close_public_id)(struct hub *h, const char *public_id, enum close_reason why);
    int64_t (*ack)(struct hub *h, const char *token, uint64_t seq);
    int (*snapshot)(struct hub *h, struct registry_snapshot *out);
    void (*counts)(struct hub *h, struct registry_snapshot *out);
    int (*page)(struct hub *h, const struct registry_query *q, struct registry_snapshot *out,
                size_t *total);
    bool (*display)(struct hub *h, const char *name, struct conn_info *out);
    long (*closed)(struct hub *h, struct closed_info **out, uint64_t totals[CLOSE_REASONS]);
    /* Writes the members stats adds about the hub itself (a cluster's
     * "nodes" and "cluster", each after a comma), or NULL: none. */
    void (*describe)(struct hub *h, struct jw *w);
    void (*free)(struct hub *h);
};

/* Every hub starts with this. */
struct hub {
    const struct hub_ops *ops;
    struct feed *feed;              /* its changes; the hub's own */
};

/* Publishes ev: gives it the next id, keeps it for replay and queues it on
 * every stream it is for (a stream too far behind is dropped as a slow
 * consumer).  Returns 0 with *out filled, or HUB_NOMEM or HUB_UNAVAILABLE
 * (nothing was published). */
static inline int hub_publish(struct hub *h, const struct hub_event *ev, struct hub_published *out)
{
    return h->ops->publish(h, ev, out);
}

/* Registers c, a new stream, with its replay-or-live start: c->replay and
 * c->nreplay get the missed events for it, or c->reset is set when some
 * are lost; c->start_id the id a reconnect should resume from.  A live
 * stream that c supersedes is closed.  Returns the number superseded (0 or
 * 1), or a refusal: REGISTRY_CONFLICT, REGISTRY_FULL, REGISTRY_USER_LIMIT,
 * REGISTRY_ADDRESS_LIMIT, HUB_UNAVAILABLE (c is then untouched but for
 * its replay, which conn_free releases). */
static inline int hub_subscribe(struct hub *h, struct conn *c, const struct hub_resume *from)
{
    return h->ops->subscribe(h, c, from);
}

/* Closes the stream with this token (TOKEN_LEN characters, compared in
 * constant time), or with this public id, giving why.  Returns 1 once it
 * has left (on whichever node held it), 0 if no stream had it, or
 * HUB_UNAVAILABLE if the node that holds it could not be reached. */
static inline int hub_close_token(struct hub *h, const char *token, enum close_reason why)
{
    return h->ops->close_token(h, token, why);
}

static inline int hub_close_public_id(struct hub *h, const char *public_id,
                                      enum close_reason why)
{
    return h->ops->close_public_id(h, public_id, why);
}

/* An ack of ping seq for the stream with this token: as registry_ack(), or
 * HUB_UNAVAILABLE if the node that holds it could not be reached. */
static inline int64_t hub_ack(struct hub *h, const char *token, uint64_t seq)
{
    return h->ops->ack(h, token, seq);
}

/* Every live stream it knows, as registry_snapshot(). */
static inline int hub_snapshot(struct hub *h, struct registry_snapshot *out)
{
    return h->ops->snapshot(h, out);
}

/* The counts alone, as registry_counts(). */
static inline void hub_counts(struct hub *h, struct registry_snapshot *out)
{
    h->ops->counts(h, out);
}

/* A page of the streams it knows, as registry_page(). */
static inline int hub_page(struct hub *h, const struct registry_query *q,
                           struct registry_snapshot *out, size_t *total)
{
    return h->ops->page(h, q, out, total);
}

/* The live stream of display name, as registry_display(). */
static inline bool hub_display(struct hub *h, const char *name, struct conn_info *out)
{
    return h->ops->display(h, name, out);
}

/* The log of closed streams, as registry_closed(). */
static inline long hub_closed(struct hub *h, struct closed_info **out,
                              uint64_t totals[CLOSE_REASONS])
{
    return h->ops->closed(h, out, totals);
}

/* Writes what stats says of the hub itself (nothing for one process). */
static inline void hub_describe(struct hub *h, struct jw *w)
{
    if (h->ops->describe)
        h->ops->describe(h, w);
}

/* hub_describe() as stats_view.extra wants it (ctx: the hub). */
static inline void hub_describe_cb(void *ctx, struct jw *w)
{
    hub_describe(ctx, w);
}

/* The feed of its changes (feed.h). */
static inline struct feed *hub_feed(struct hub *h)
{
    return h->feed;
}

/* Frees h; its streams must have ended.  NULL does nothing. */
static inline void hub_free(struct hub *h)
{
    if (h)
        h->ops->free(h);
}

/* The hub of one process, over its registry r (which it does not own; it
 * sends r's changes to the hub's feed) with a history of at most
 * history_max events no older than history_age_ms, whose ids start at
 * first_id.  m counts the events published.  Returns NULL when out of
 * memory. */
struct metrics;
struct hub *hub_local_create(struct registry *r, struct metrics *m, size_t history_max,
                             int64_t history_age_ms, uint64_t first_id);

/* For a hub built on the local one (a cluster's, hub_redis.c), which
 * chooses the ids itself: delivers ev with id as publishing would after
 * choosing it (an id not above the last delivered one is skipped: it came
 * twice).  Returns 0 with *out filled, or HUB_NOMEM.  Not counted as
 * published (the node that published it counts it). */
int hub_local_deliver(struct hub *h, uint64_t id, const struct hub_event *ev,
                      struct hub_published *out);

/* The id of the last event delivered (or first_id - 1). */
uint64_t hub_local_last_id(struct hub *h);

/* Starts the history anew with ids from first_id (everything before is
 * lost to replay); live streams are not touched.  Returns 0 or HUB_NOMEM. */
int hub_local_restart(struct hub *h, uint64_t first_id);

#endif
