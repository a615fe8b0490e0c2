/* pace.h -- writing a broadcast a slice of streams at a time.
 *
 * DESIGN
 * A broadcast to 10,000 streams is written in a few milliseconds; the web
 * server relays it far slower (nginx reads and rewrites each event), and
 * serves its ready sockets in turn: a request that arrives meanwhile
 * (stats, a disconnect, a new stream) waited behind the whole broadcast,
 * 100 to 300 ms at 10,000 streams on 2 cores.  So an I/O loop puts the
 * streams with events queued on a backlog and serves them PACE_SLICE at a
 * time.  The mark of a slice is its first stream that the web server had
 * read to the end before this write (SIOCOUTQ: bytes the peer has not
 * read); one it had stopped reading (its client is stuck) would hold the
 * loop back for nothing.  The next slice is written once the mark is read:
 * the web server then has the rest of the slice in hand, and a request
 * that arrives waits behind about two slices.  Meanwhile the loop goes on
 * with its other work.  It learns of the read from epoll: the mark alone
 * also waits for EPOLLOUT, edge-triggered, and a unix socket reports that
 * each time its peer reads from it (measured: one event per read, SIOCOUTQ
 * falling to 0 with the last).  A mark not read within PACE_WAIT_MS is
 * given up (and counted: sse_pace_giveups_total).  Over TCP, SIOCOUTQ
 * counts only unacknowledged bytes, and loopback acknowledges at once (it
 * read 0 with 1,000 bytes unread): there the loop never waits.
 *
 * A pacer belongs to one I/O loop and is used by its thread alone. */
#ifndef SSE_PACE_H
#define SSE_PACE_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "metrics.h"

#define PACE_SLICE 64               /* streams written before the web server catches up */
#define PACE_WAIT_MS 50             /* a mark left unread this long is given up
                                       (sse_pace_giveups_total's help says 50 ms) */

/* What the loop does for the pacer. */
struct pace_ops {
    /* Takes c off the pending list and writes what it has queued; true if
     * it went out whole and c goes on (it may then be a mark). */
    bool (*serve)(void *ctx, struct conn *c);
    /* The mark moved from old to now (either may be NULL): epoll must
     * report the web server's reads of the new one, not of the old. */
    void (*mark_moved)(void *ctx, struct conn *old, struct conn *now);
};

struct pacer {
    const struct pace_ops *ops;
    void *ctx;
    struct metrics *metrics;
    struct conn *backlog, *backlog_tail;    /* waiting to be served, through pnext */
    struct conn *mark;                      /* see DESIGN; NULL: none */
    int64_t since_us;                       /* waiting on the mark since (0: not) */
};

void pace_init(struct pacer *p, const struct pace_ops *ops, void *ctx, struct metrics *m);

/* Puts the streams of list (linked through pnext) at the end of the backlog. */
void pace_append(struct pacer *p, struct conn *list);

/* Serves the backlog a slice at a time; with pace false (the loop is
 * stopping), all of it at once.  Returns the microseconds left to wait for
 * the mark if it stopped to let the web server catch up, else 0 (the
 * backlog is empty). */
int64_t pace_serve(struct pacer *p, bool pace);

/* c is about to be freed: it is no longer the mark. */
void pace_forget(struct pacer *p, struct conn *c);

#endif
