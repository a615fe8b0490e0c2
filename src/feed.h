/* feed.h -- the change feed: every change of the set of live connections,
 * in order, to whoever subscribed.
 *
 * DESIGN
 * A change is a connection that opened, closed (with why), or whose state
 * changed (live <-> stale, for acked streams).  Each gets the next sequence
 * number.  The registry publishes its changes with its mutex held (so does
 * a cluster's mirror of other nodes, with its own), so a snapshot taken
 * under those mutexes can say exactly which changes it includes: those up
 * to feed_seq() read while they are held.  A consumer that fetches a
 * snapshot while changes stream in keeps only the changes after it.
 *
 * Subscribers are called synchronously, in order, with the publisher's
 * lock held and the feed's: they copy what they need into a bounded queue
 * of their own, take at most their own mutex, and return at once (no I/O,
 * no other lock).  The change and what it points to are valid during the
 * call only.  With no subscriber a change costs a counter increment.
 *
 * Lock order: registry (or mirror) mutex, then the feed's, then a
 * subscriber's own. */
#ifndef SSE_FEED_H
#define SSE_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

enum feed_kind {
    FEED_OPENED,                    /* a stream joined */
    FEED_CLOSED,                    /* a stream left; reason says why */
    FEED_STATE,                     /* an acked stream went stale, or live again */
    FEED_RESYNC                     /* changes were lost or renumbered (a cluster
                                       node back from a Redis outage): whoever
                                       keeps a copy fetches it again.  No info. */
};

struct feed_change {
    uint64_t seq;                   /* 0, or the number it asks for; set by feed_publish() */
    enum feed_kind kind;
    const struct conn_info *info;   /* the connection as stats shows it, now */
    bool stale;                     /* its state after the change */
    enum close_reason reason;       /* FEED_CLOSED: why */
    int64_t at_ms;                  /* wall clock of the change */
};

typedef void feed_fn(void *ctx, const struct feed_change *ch);

/* Whether a subscriber wants changes now (it may want none while nobody
 * asks it for them): called with the publisher's lock held, before every
 * change.  NULL: always. */
typedef bool feed_wants_fn(void *ctx);

struct feed;

/* Returns an empty feed (sequence 0), or NULL when out of memory. */
struct feed *feed_create(void);

/* NULL does nothing.  Nobody may be subscribed any more. */
void feed_free(struct feed *f);

/* Calls fn(ctx, change) for every change published from now on that
 * wants(ctx) wants, until feed_unsubscribe(f, fn, ctx).  Returns 0, or -1
 * when out of memory.  Takes the feed's mutex: call it with no
 * subscriber's lock held. */
int feed_subscribe(struct feed *f, feed_fn *fn, feed_wants_fn *wants, void *ctx);
void feed_unsubscribe(struct feed *f, feed_fn *fn, void *ctx);

/* Fills in what a change shows of its connection, only when somebody
 * listens. */
typedef void feed_fill_fn(void *arg, struct conn_info *out);

/* Numbers ch and hands it to every subscriber.  ch->seq becomes the next
 * number, or the one ch asked for if that is higher (a cluster's number of
 * the change, so that every node gives a change the same one): numbers
 * always increase, with gaps.  With fill,
 * ch->info is made by fill(arg, ...) if there is a subscriber, and never
 * otherwise; without, ch->info must be set.  Call it with the publisher's
 * lock held (see DESIGN).  NULL f does nothing. */
void feed_publish(struct feed *f, struct feed_change *ch, feed_fill_fn *fill, void *arg);

/* Tells every subscriber (FEED_RESYNC, with the last change's number) that what
 * it copied may be wrong: called with the publisher's lock held, like
 * feed_publish().  NULL f does nothing. */
void feed_resync(struct feed *f);

/* The sequence number of the last change published (0: none yet). */
uint64_t feed_seq(struct feed *f);

#endif
