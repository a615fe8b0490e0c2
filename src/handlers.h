/* handlers.h -- the routes: what each request under the prefix gets.
 *
 * Runs in the worker threads.  A short route is answered here, with the
 * JSON envelope (http.h); a stream is registered with the hub and handed
 * to an I/O loop (stream.h).  No handler holds a lock while it writes: the
 * hub and the registry copy or queue and return first. */
#ifndef SSE_HANDLERS_H
#define SSE_HANDLERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

#include "options.h"

struct displays_slot;
struct hub;
struct metrics;
struct monitor;
struct registry;
struct stream_loops;
struct window;

/* All the handlers need, set up by the server before its workers start. */
struct handlers_env {
    const struct options *opt;
    struct hub *hub;                /* publishing and the connections */
    struct registry *reg;           /* this process's streams (/health) */
    struct stream_loops *loops;     /* where streams go */
    struct metrics *metrics;
    struct window *win;             /* events sent in the last hour */
    struct displays_slot *displays; /* the known display names */
    struct monitor *monitor;        /* the pushed monitor's summaries */
    const atomic_bool *stopping;    /* the server is stopping: refuse streams */
    int64_t started_mono_ms;
    size_t (*streams)(void *ctx);   /* streams not yet answered in full */
    void *ctx;
};

/* The largest request body any route takes (publish): the intake need not
 * wait for more of a body than this. */
#define HANDLERS_BODY_MAX 65536

/* Answers req 400 with message, without looking at its params (a param
 * holds a NUL byte, which C strings would cut short), and counts it. */
void handlers_bad_request(const struct handlers_env *env, FCGX_Request *req, const char *message);

/* Answers req in the calling worker.  Returns true if req's socket was
 * handed to a stream loop: the worker must then free the request without
 * closing it (FCGX_Free(req, 0)) and never finish it. */
bool handlers_dispatch(const struct handlers_env *env, FCGX_Request *req);

#endif
