/* server.h -- the responder: intake, worker pool, stream loops, lifecycle.
 *
 * DESIGN
 * The intake (intake.h) accepts on the listening socket and hands each
 * connection to a worker once its whole request is buffered, so a peer that
 * stalls holds no worker.  `threads` workers each read the request with
 * their own FCGX_Request (libfcgi, on a socket whose bytes are all there)
 * and answer the short routes.  A stream request's socket is handed to one
 * of `io_threads` epoll loops (stream.c), which serve every stream without
 * blocking; the worker frees libfcgi's request and takes the next, so
 * streams never occupy the pool and cost no thread.
 *
 * Signals: server_start() ignores SIGPIPE, and every thread it creates
 * starts with all asynchronous signals blocked.  The process's signals are
 * the caller's business (main.c waits for them in one thread). */
#ifndef SSE_SERVER_H
#define SSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"

struct server;

/* Creates a server for o (copied) and loads --displays.  Returns NULL with
 * a one-line message in err if the displays file is bad or memory is out. */
struct server *server_create(const struct options *o, char *err, size_t errlen);

/* Starts serving the listening socket fd.  own_socket: the server may shut
 * the socket down on stop to wake its workers (true for sockets it opened;
 * false for inherited ones, which a supervisor may hand on again).
 * Raises RLIMIT_NOFILE to its hard limit.  Returns 0, or -1 with err. */
int server_start(struct server *s, int fd, bool own_socket, char *err, size_t errlen);

/* Stops accepting (the intake closes what it has not handed over), joins
 * the workers once they have answered what they hold, sends every stream
 * `event: shutdown`, finishes their requests and waits for them until
 * deadline_ms (monotonic) passes.  An owned socket is shut down; an
 * inherited one is left open, with its flags as they were.  Returns the
 * number of streams still running at the deadline (0 on a clean stop). */
size_t server_stop(struct server *s, int64_t deadline_ms);

/* Loads the known display names from displays_file (NULL: accept any
 * valid name) and swaps them in; streams are not touched (SIGHUP).  On
 * error keeps the old set and returns -1 with err. */
int server_reload(struct server *s, const char *displays_file, char *err, size_t errlen);

/* Frees s after server_stop() returned 0 (or before start).  NULL does
 * nothing. */
void server_free(struct server *s);

/* For tests and metrics: the number of streams not yet answered in full. */
size_t server_streams(struct server *s);

/* The number of streams answered in full since the start: when it moves,
 * memory was freed.  Takes the server's mutex. */
uint64_t server_streams_ended(struct server *s);

#endif
