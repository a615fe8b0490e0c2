/* stream.h -- the I/O loops that serve every stream.
 *
 * DESIGN
 * A few threads (--io-threads) each run an epoll loop over many streams.
 * When a worker hands a stream over, it has read the request's params and
 * body with libfcgi, freed libfcgi's request (keeping the socket), and made
 * the socket non-blocking; from then on the loop writes FastCGI records
 * itself, so a slow web server never blocks anyone and no stream needs a
 * thread, a stack or libfcgi's 8 KiB buffers.  One file descriptor per
 * stream (its socket) plus one eventfd per loop.
 *
 * A loop sleeps in epoll_wait() until the next heartbeat is due (streams are
 * kept on a list in heartbeat order: all share one interval, so appending at
 * the tail keeps it sorted), a socket is readable (the web server closed the
 * request: the client is gone), writable again (output was pending), or its
 * eventfd says streams were handed over, events were queued, or streams
 * were closed from elsewhere. */
#ifndef SSE_STREAM_H
#define SSE_STREAM_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct metrics;
struct registry;
struct stream_loop;
struct stream_loops;
struct window;

/* All the loops need to know. */
struct stream_env {
    int64_t heartbeat_ms;           /* between pings on an idle stream */
    struct registry *reg;           /* a stream leaves it when it ends */
    struct metrics *metrics;
    struct window *win;             /* events written, by second */
    /* A stream was handed over (+1), or has been answered in full or its
     * socket closed (-1): once each per stream.  Called on a worker (+1)
     * or a loop thread (-1), with no lock held. */
    void (*streams_changed)(void *ctx, int delta);
    void *ctx;
    const char *node;               /* a cluster node's name (in `connected`), or NULL */
};

/* Starts n loops over env (copied).  Returns them, or NULL with err. */
struct stream_loops *stream_loops_start(const struct stream_env *env, int n, char *err,
                                        size_t errlen);

/* Stops and joins the loops and frees them: call once every stream has
 * ended; whatever is left is closed as it stands.  NULL does nothing. */
void stream_loops_stop(struct stream_loops *ls);

/* How many loops run. */
int stream_loops_count(const struct stream_loops *ls);

/* Chooses the loop a new stream goes to (round robin) and sets c->wake and
 * c->loop, before c is reachable by other threads. */
void stream_assign(struct stream_loops *ls, struct conn *c);

/* Hands c (already in the registry, assigned by stream_assign) to its
 * loop, which owns the socket fd from now on and writes the response to
 * FastCGI request request_id.  Never fails. */
void stream_hand_over(struct conn *c, int fd, int request_id);

/* Puts c on its loop's pending list and wakes the loop: c->wake, which
 * conn.c calls with c->mu held, once per pending period. */
void stream_loop_wake(void *loop, struct conn *c);

#endif
