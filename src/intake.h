/* intake.h -- accepting connections, and handing each to a worker once its
 * whole request is there.
 *
 * DESIGN
 * libfcgi reads a request's records with blocking reads inside
 * FCGX_Accept_r, so a peer that sends part of a request and waits holds the
 * worker that accepted it: eight such peers stopped every worker, and
 * /health, stats and new streams with them.  So no worker accepts.  One
 * thread accepts on the listening socket (which may be blocking, inherited
 * from spawn-fcgi or systemd, unix or TCP: the intake makes it non-blocking
 * while it runs and puts its flags back when it stops), watches each new
 * connection with epoll, peeks at its bytes without consuming them
 * (MSG_PEEK) until fcgi_request_scan() finds its request whole, and only
 * then queues the connection for a worker.  libfcgi then reads bytes that
 * are all there (but for the end of a big body: a request whose params are
 * whole and 32 KiB of whose body wait is handed over, since some web
 * servers send no more until it is read).  A connection whose request is not whole within the
 * request timeout is closed, and so is one whose records are not one
 * request as web servers send them (fcgi_request.h): neither ever reaches a
 * worker.  A request with a NUL byte in a param name or value is handed
 * over marked, to be answered 400: C strings would cut it short.
 *
 * At most INTAKE_WATCH_MAX connections are watched at once; past that the
 * oldest is closed to make room (a web server's request is whole within
 * microseconds, so the oldest is the likeliest to be stalled).
 *
 * Threads: the intake's own, and the workers in intake_next().  The queue
 * of whole requests is guarded by the intake's mutex, a leaf lock. */
#ifndef SSE_INTAKE_H
#define SSE_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct intake;
struct metrics;

#define INTAKE_WATCH_MAX 1024       /* connections whose request is not yet whole */

/* What the workers need to know of a connection handed over. */
struct intake_conn {
    int fd;                         /* blocking, its whole request buffered */
    bool nul_param;                 /* answer 400: a param holds a NUL byte */
};

/* Starts accepting on listen_fd.  A connection must send its whole request
 * within timeout_ms; a body over body_max is not waited for (the handler
 * refuses it by its length).  m counts what is dropped (may be NULL).
 * Returns the intake, or NULL with err. */
struct intake *intake_start(int listen_fd, int64_t timeout_ms, size_t body_max,
                            struct metrics *m, char *err, size_t errlen);

/* For a worker: waits for the next connection with a whole request and
 * fills *out.  Returns 0, or -1 once intake_stop() was called. */
int intake_next(struct intake *in, struct intake_conn *out);

/* Stops accepting, closes every connection not yet taken by a worker,
 * wakes the workers waiting in intake_next() and joins the intake's
 * thread.  The listening socket is left open, with its flags as they were.
 * Idempotent. */
void intake_stop(struct intake *in);

/* Stops it if need be and frees it.  NULL does nothing. */
void intake_free(struct intake *in);

/* For tests: connections watched now (accepted, request not yet whole). */
size_t intake_watched(struct intake *in);

#endif
