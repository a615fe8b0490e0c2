/* conn.h -- one live stream: its names, its queue and how to wake it.
 *
 * DESIGN
 * A connection is created by the worker that accepted the stream request,
 * added to the registry, and handed to one of the I/O loops (stream.c),
 * which alone writes to it and frees it (after taking it out of the
 * registry, see registry_remove).  Other threads reach it only through the
 * registry, under the registry mutex; they may enqueue events and flag it
 * closing, never free it.  Both mark it pending on its loop, which wakes.
 *
 * Lock order: registry mutex, then conn->mu, then the loop's mutex.  Never
 * the other way round. */
#ifndef SSE_CONN_H
#define SSE_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "token.h"

#define CONN_QUEUE_MAX 128          /* events a consumer may fall behind by */
#define CONN_QUEUE_INLINE 32        /* of them held in the connection itself */
#define CONN_NAME_MAX 128           /* longest user or display name kept */
#define CONN_CLIENT_MAX 64          /* longest client id (?client=) */
#define CONN_PING_RING 4            /* pings remembered for RTT of late acks */
#define CONN_ADDR_MAX 45            /* an IPv6 address in text */
#define CONN_NODE_MAX 64            /* a cluster node's name */

/* Acknowledged liveness (?ack=1): a stream that has not acked for this many
 * heartbeats is `stale` (stats, the monitor), and for this many it is
 * closed (ack_timeout).  Streams send both in their `connected` event and
 * stats in its answer, so the dashboard never hard-codes them. */
#define CONN_STALE_BEATS 2
#define CONN_CLOSE_BEATS 3

enum conn_type {
    CONN_ADMIN,                     /* an authenticated admin page */
    CONN_DISPLAY                    /* a kiosk display, named, no user */
};

enum close_reason {
    CLOSE_NONE = 0,                 /* still live */
    CLOSE_CLIENT_CLOSED,            /* the web server hung up the request */
    CLOSE_WRITE_FAILED,             /* a write or flush failed */
    CLOSE_DISCONNECT_ROUTE,         /* the client's beacon asked for it */
    CLOSE_SUPERSEDED,               /* a newer stream replaced it */
    CLOSE_ACK_TIMEOUT,              /* acked stream stopped acking */
    CLOSE_SLOW_CONSUMER,            /* its queue overflowed */
    CLOSE_ADMIN_CLOSED,             /* an admin closed it */
    CLOSE_SHUTDOWN,                 /* the daemon is stopping */
    CLOSE_NODE_LOST                 /* a cluster: the node that held it stopped answering */
};
#define CLOSE_REASONS (CLOSE_NODE_LOST + 1)

struct conn {
    /* Set before the connection is reachable (conn_create, and the worker
     * that opens the stream), then read-only. */
    char token[TOKEN_LEN + 1];
    char public_id[PUBLIC_ID_LEN + 1];
    enum conn_type type;
    char name[CONN_NAME_MAX + 1];   /* user (admin) or display name */
    char client[CONN_CLIENT_MAX + 1]; /* client id, "" if none */
    bool ack;                       /* acknowledged liveness (?ack=1) */
    bool monitor;                   /* an admin stream that wants the pushed
                                       monitor (?monitor=1) */
    bool keyed;                     /* a display opened with its key: may
                                       replace the display's live stream */
    char addr[CONN_ADDR_MAX + 1];   /* REMOTE_ADDR, "" if unknown */
    int64_t connected_at_ms;        /* wall clock */

    /* Missed events to write before live ones (Last-Event-ID), or a reset;
     * set before the stream starts, then its loop's. */
    struct event **replay;
    size_t nreplay;
    bool reset;
    uint64_t start_id;              /* the `connected` event's id: where a
                                       reconnect should resume from */

    /* Under the registry mutex. */
    struct conn *prev, *next;       /* list of all live connections */
    struct conn *hnext;             /* token hash chain */
    struct conn *snext;             /* supersede-key hash chain */
    bool in_registry;
    enum close_reason reason;       /* why it left the registry */
    bool stale;                     /* acked, and silent too long (registry_set_stale) */
    struct conn *mprev, *mnext;     /* the registry's list of monitor streams */
    bool monitor_behind;            /* skipped a monitor change: owes a resync */

    /* Under mu.  The queue is a ring of qcap slots: qin, or, when more
     * than CONN_QUEUE_INLINE events wait, a block twice as large (up to
     * CONN_QUEUE_MAX), given back once drained.  Most streams never have
     * more than a few events queued; a slow one may grow it. */
    pthread_mutex_t mu;
    struct event **queue;           /* qin, or a block of qcap slots */
    unsigned qhead, qlen, qcap;
    struct event *qin[CONN_QUEUE_INLINE];
    bool closing;                   /* stream must end */
    bool pending;                   /* linked on a pending list of its loop */
    bool dead;                      /* its loop frees it when it leaves that list */

    /* Set before the connection is reachable, then read-only: how to wake
     * the I/O loop that serves it (conn_enqueue, conn_close).  NULL: nobody
     * to wake (unit tests). */
    void (*wake)(void *loop, struct conn *c);
    void *loop;

    /* Under the loop's mutex. */
    struct conn *inext;             /* the loop's incoming list */
    struct conn *pnext;             /* the loop's pending list */

    /* Owned by the loop thread alone. */
    struct conn_io {
        int fd;                     /* the FastCGI request's socket */
        int request_id;
        bool started;               /* in the loop's epoll set */
        bool draining;              /* ending: farewell and END_REQUEST queued */
        bool answered;              /* all written, write side shut; awaiting EOF */
        struct buf out;             /* framed bytes not yet written */
        uint64_t written;           /* bytes ever written */
        struct { uint64_t pos; uint32_t events; } marks[8];   /* events end at pos */
        unsigned nmarks;
        int64_t stalled_since;      /* monotonic ms output stopped moving; 0 moving */
        int64_t next_beat;          /* monotonic ms of the next heartbeat */
        int64_t deadline;           /* draining: give up at this monotonic ms */
        struct conn *bprev, *bnext; /* the loop's heartbeat (or draining) list */
        int64_t ack_due;            /* monotonic ms of its next liveness check, if soon */
        int64_t stale_marked;       /* the silence (last ack, or start) it was
                                       last marked stale for */
        struct conn *aprev, *anext; /* the loop's list of those */
        bool on_ack_list;
    } io;

    /* Atomics: written by one side, read by stats without locks. */
    _Atomic int64_t last_ping_ms;   /* wall clock of the last heartbeat written */
    _Atomic uint64_t events_sent;   /* events written and flushed */
    _Atomic uint64_t bytes_sent;    /* bytes of events and heartbeats flushed */
    _Atomic uint64_t unsent;        /* bytes framed and not yet written */
    _Atomic uint64_t events_queued; /* events queued for it (broadcasts) */
    _Atomic uint64_t ping_seq;      /* last ping sequence number sent (ack mode) */
    _Atomic int64_t ping_sent_mono[CONN_PING_RING]; /* when ping seq was sent, by seq % ring */
    _Atomic int64_t last_ack_ms;    /* wall clock of the last valid ack; 0 none */
    _Atomic int64_t last_ack_rtt_ms; /* its round trip; -1 none */
};

/* What stats shows of one live connection (conn_info_fill). */
struct conn_info {
    char public_id[PUBLIC_ID_LEN + 1];
    char node[CONN_NODE_MAX + 1];   /* in a cluster, the node that holds it; else "" */
    enum conn_type type;
    char name[CONN_NAME_MAX + 1];
    char client[CONN_CLIENT_MAX + 1];
    bool ack;
    bool stale;                     /* acked and silent too long (conn->stale) */
    int64_t connected_at_ms;
    int64_t last_ping_ms;
    int64_t last_ack_ms;            /* 0: none */
    int64_t last_ack_rtt_ms;        /* -1: none */
    uint64_t events_sent;
    uint64_t events_queued;
    uint64_t bytes_sent;
    unsigned queue_depth;
};

/* A connection that has left, as the closed log keeps it. */
struct closed_info {
    char public_id[PUBLIC_ID_LEN + 1];
    enum conn_type type;
    char name[CONN_NAME_MAX + 1];
    char client[CONN_CLIENT_MAX + 1];
    int64_t opened_ms, closed_ms;
    uint64_t events_sent;
    uint64_t bytes_sent;
    enum close_reason reason;
    char node[CONN_NODE_MAX + 1];   /* in a cluster, the node that held it; else "" */
};

/* Creates a connection with fresh token and public id; name and client
 * (NULL for none) are truncated to CONN_NAME_MAX and CONN_CLIENT_MAX bytes
 * (callers reject longer ones first).  Returns NULL when out of memory or
 * randomness.  Caller owns the result. */
struct conn *conn_create(enum conn_type type, const char *name, const char *client, bool ack);

/* Records an ack of ping `seq` at wall time now_ms / monotonic now_mono.
 * Returns the round trip in ms, or -1 if seq was never sent or is too old
 * to know (nothing is recorded then).  Lock-free. */
int64_t conn_ack(struct conn *c, uint64_t seq, int64_t now_ms, int64_t now_mono);

/* For its loop: the next ping's sequence number, remembering
 * when it was sent.  Lock-free. */
uint64_t conn_next_ping(struct conn *c, int64_t now_mono);

/* Copies what stats shows of c into ci (its counters read atomically,
 * its queue depth under c->mu).  Called with the registry mutex held (for
 * c->stale); takes c->mu. */
void conn_info_fill(struct conn *c, struct conn_info *ci);

/* Events queued and not yet taken by its loop.  Takes c->mu. */
unsigned conn_queue_depth(struct conn *c);

/* How many of them are published events (event_published()). */
unsigned conn_queue_published(struct conn *c);

/* The queue's slots now (CONN_QUEUE_INLINE unless grown).  For tests.
 * Takes c->mu. */
unsigned conn_queue_slots(struct conn *c);

/* Frees c and every event left in its queue.  c must not be in the
 * registry.  NULL does nothing. */
void conn_free(struct conn *c);

/* Appends a reference to e to c's queue and wakes c's loop.  Returns 0,
 * or -1 if the queue is full (a slow consumer) or cannot grow (out of
 * memory); nothing was queued then.  Takes c->mu, then the loop's mutex. */
int conn_enqueue(struct conn *c, struct event *e);

/* Flags c closing and wakes its loop.  Takes c->mu, then the loop's. */
void conn_close(struct conn *c);

/* For c's loop: moves up to max queued events into out (the caller owns
 * those references) and reports closing.  Returns the number of events
 * moved.  Takes c->mu. */
size_t conn_take(struct conn *c, struct event **out, size_t max, bool *closing);

const char *conn_type_name(enum conn_type type);
const char *conn_reason_name(enum close_reason reason);

#endif
