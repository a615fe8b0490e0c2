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
struct server;
struct stream_loop;

/* Starts n loops for server s.  Returns 0, or -1 with err. */
int stream_loops_start(struct server *s, int n, char *err, size_t errlen);

/* Stops and joins the loops after every stream has ended; closes whatever
 * is left.  NULL-safe on a server whose loops never started. */
void stream_loops_stop(struct server *s);

/* Chooses the loop a new stream goes to (round robin) and sets c->wake and
 * c->loop, before c is reachable by other threads. */
void stream_assign(struct server *s, struct conn *c);

/* Hands c (already in the registry, assigned by stream_assign)
 * to its loop, which owns the socket fd from now on and writes the response
 * to FastCGI request request_id.  Never fails. */
void stream_hand_over(struct conn *c, int fd, int request_id);

/* Puts c on its loop's pending list and wakes the loop: c->wake, which
 * conn.c calls with c->mu held, once per pending period. */
void stream_loop_wake(void *loop, struct conn *c);

#endif
