/* server_impl.h -- what server.c, handlers.c and stream.c share.  Not for
 * other modules. */
#ifndef SSE_SERVER_IMPL_H
#define SSE_SERVER_IMPL_H

#include <fcgiapp.h>
#include <pthread.h>
#include <stdatomic.h>

#include "conn.h"
#include "displays.h"
#include "hub.h"
#include "metrics.h"
#include "options.h"
#include "registry.h"
#include "server.h"
#include "stream.h"
#include "window.h"

#define IO_TIMEOUT_MS 3000              /* SO_SNDTIMEO / SO_RCVTIMEO on requests */
#define FD_RESERVE 64                   /* fds kept for short requests and files */
#define RETRY_AFTER_SECONDS 5

struct server {
    struct options opt;
    struct registry *reg;
    struct window *win;

    pthread_mutex_t displays_mu;        /* guards the pointer, not the set */
    struct displays *displays;          /* NULL: any valid name */
    char *displays_path;                /* where they came from */

    struct hub *hub;                    /* publishing (hub.h) */
    struct metrics *metrics;
    int64_t started_mono_ms;

    int listen_fd;
    bool own_socket;
    atomic_bool stopping;
    int nworkers;
    pthread_t *workers;
    struct stream_loops *loops;

    pthread_mutex_t mu;                 /* guards streams and streams_ended */
    pthread_cond_t cond;                /* signalled when streams falls */
    size_t streams;                     /* handed over and not yet closed */
    uint64_t streams_ended;             /* answered in full since the start */
};

/* handlers.c: answers req in the calling worker.  Returns true if req's
 * socket was handed to a stream loop: the worker must then free the request
 * without closing it (FCGX_Free(req, 0)) and never finish it. */
bool handlers_dispatch(struct server *s, FCGX_Request *req);

/* handlers.c: writes a JSON error envelope (status, message) with optional
 * extra header lines ("Name: value\r\n..." or NULL). */
void handlers_error(FCGX_Stream *out, int status, const char *message, const char *headers);

#endif
