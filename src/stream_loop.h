/* stream_loop.h -- what the two halves of the I/O loops share: loop.c
 * (the threads, their epoll loops, wake-ups and timer lists) and stream.c
 * (the life of one stream on its loop).  Not for other modules: they use
 * stream.h. */
#ifndef SSE_STREAM_LOOP_H
#define SSE_STREAM_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "pace.h"
#include "stream.h"

struct stream_loop {
    struct stream_loops *set;       /* the loops this one is of */
    const struct stream_env *env;   /* the set's */
    pthread_t thread;
    int epfd;
    int evfd;                       /* wakes the loop */

    pthread_mutex_t mu;             /* guards the lists below and `stop` */
    struct conn *incoming;          /* handed over, not started */
    struct conn *pending;           /* events queued or closing */
    bool signalled;                 /* evfd written since the loop last read it */
    bool stop;

    /* The loop thread's own. */
    struct conn *beat_head, *beat_tail;     /* by next heartbeat */
    struct conn *drain_head, *drain_tail;   /* by drain deadline */
    struct conn *ack_head;                  /* liveness checks due before the next beat */
    struct pacer pacer;                     /* pending streams taken off `pending` */
};

struct stream_loops {
    struct stream_env env;
    struct stream_loop *loops;
    int n;                          /* started */
    atomic_uint next;               /* round robin */
};

/* ---- loop.c: for the loop thread ----------------------------------------- */

/* The loop's lists of its streams, through c->io.bprev/bnext: by next
 * heartbeat (all share one interval, so appending keeps it sorted), or by
 * drain deadline.  Removing a stream from a list it is not on does nothing. */
void loop_list_append(struct conn **head, struct conn **tail, struct conn *c);
void loop_list_remove(struct conn **head, struct conn **tail, struct conn *c);

/* The short, unsorted list of acked streams whose next liveness check
 * falls before their next heartbeat; due is monotonic ms. */
void loop_ack_add(struct stream_loop *l, struct conn *c, int64_t due);
void loop_ack_remove(struct stream_loop *l, struct conn *c);

/* A stream handed over (+1) or answered in full (-1): tells the server. */
void loop_count(struct stream_loop *l, int delta);

/* ---- stream.c: one stream's life, on its loop's thread ------------------- */

/* A stream just handed over: into epoll, headers, `connected`, any reset or
 * replay, and what was queued meanwhile. */
void stream_start(struct stream_loop *l, struct conn *c);

/* Writes what is queued on c and ends it if it is closing, fails or lags.
 * Returns true if events went out whole and c goes on (a mark to pace by). */
bool stream_serve(struct stream_loop *l, struct conn *c);

/* epoll reported events on c's socket. */
void stream_ready(struct stream_loop *l, struct conn *c, uint32_t events);

/* c's heartbeat is due (it heads the heartbeat list). */
void stream_beat(struct stream_loop *l, struct conn *c, int64_t now);

/* c's liveness check is due (it was on the ack list).  Returns false if it
 * ended c. */
bool stream_check_liveness(struct stream_loop *l, struct conn *c, int64_t now_mono);

/* Ends c with reason (CLOSE_NONE: whatever removed it said). */
void stream_end(struct stream_loop *l, struct conn *c, enum close_reason reason);

/* Closes c's socket and frees c once nobody can reach it. */
void stream_finish(struct stream_loop *l, struct conn *c);

/* What epoll reports for c: EPOLLOUT while its output waits (on), and, for
 * the pacer's mark, each time the web server reads. */
void stream_set_epollout(struct stream_loop *l, struct conn *c, bool on);

#endif
