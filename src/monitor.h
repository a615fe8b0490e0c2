/* monitor.h -- the pushed monitor: the changes of the connections,
 * coalesced, on the admin streams that asked for them (?monitor=1).
 *
 * DESIGN
 * The monitor subscribes to the hub's change feed (feed.h) while any stream
 * asked for it, and copies each change into a batch of at most
 * MONITOR_BATCH_MAX.  Its thread sends a batch at most every MONITOR_MS,
 * and within MONITOR_MS of the first change in it: `changes` (the opened,
 * closed and updated connections, each with its seq), or `resync` when
 * more changed than a batch holds, then `summary` (the counts, as GET
 * stats?summary=1).  A stream too far behind to take them is skipped and
 * gets `resync` once it has caught up (registry_broadcast_monitors).  A
 * stream that just opened gets `summary` at once (monitor_welcome).  None
 * of these events has an id: they are not kept for replay.
 *
 * Lock order: the feed calls the subscriber with the registry and feed
 * mutexes held; it takes only the monitor's own mutex.  A send takes the
 * monitor's send lock first (nothing else held), the monitor's mutex
 * briefly, then, with only the send lock held, the hub and the registry. */
#ifndef SSE_MONITOR_H
#define SSE_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

#define MONITOR_MS 250              /* at most one batch per this, and at most this late */
#define MONITOR_BATCH_MAX 500       /* entries in one `changes` */
#define MONITOR_BEHIND_EVENTS 64    /* a stream with more queued is behind */
#define MONITOR_BEHIND_BYTES (512 * 1024)   /* ... or with more unwritten */

struct displays_slot;
struct hub;
struct monitor;
struct registry;
struct window;

/* What the monitor reads to make its events. */
struct monitor_env {
    struct hub *hub;                /* the feed and the counts */
    struct registry *reg;           /* its monitor streams */
    struct window *win;             /* events in the last hour */
    struct displays_slot *displays; /* the roster's counts */
    int64_t heartbeat_ms;
};

/* Starts the monitor's thread.  Returns it, or NULL with err. */
struct monitor *monitor_start(const struct monitor_env *env, char *err, size_t errlen);

/* Stops and joins the thread and frees m.  NULL does nothing. */
void monitor_stop(struct monitor *m);

/* Queues `summary` on c, a monitor stream just registered, so that its page
 * has the counts at once.  Returns 0, or -1 when out of memory. */
int monitor_welcome(struct monitor *m, struct conn *c);

/* For tests: sends what is pending now, as the thread would after
 * MONITOR_MS.  Returns the streams that got it. */
size_t monitor_flush(struct monitor *m);

/* For tests: while held, the thread sends nothing (monitor_flush does). */
void monitor_hold(struct monitor *m, bool held);

#endif
