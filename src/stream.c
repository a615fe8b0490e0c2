/* stream.c -- one thread per stream: write events and heartbeats, notice
 * when the client is gone.
 *
 * The thread sleeps in ppoll() on the request's socket until the next
 * heartbeat is due, an event is queued, or the connection is closed from
 * elsewhere (CONN_WAKE_SIGNAL, see conn.h).  Any readiness of the socket
 * means the web server closed the request (it sends nothing else after the
 * request body, which was read to the end before the hand-over): the client
 * is gone.  So is any failed write or flush, judged by FCGX_GetError()
 * because FCGX_FFlush() reports an error only once.  Either way the
 * connection leaves the registry first, then the request is finished. */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "server_impl.h"
#include "sse.h"
#include "timeutil.h"

#define TAKE_BATCH 32

struct stream {
    struct server *s;
    FCGX_Request *req;
    struct conn *c;
};

static const char stream_headers[] =
    "Status: 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "\r\n";

/* Writes a protocol event (connected, ping, shutdown) whose data is obj plus
 * a timestamp.  Takes ownership of obj.  Returns 0, or -1 if the stream is
 * broken.  Never called with a lock held. */
static int write_protocol_event(FCGX_Request *req, const char *name,
                                struct json_object *obj, unsigned retry_ms)
{
    char stamp[TIME_ISO_LEN];
    json_object_object_add(obj, "timestamp",
                           json_object_new_string(time_iso8601(stamp, time_now_ms())));
    size_t len;
    const char *data = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    struct sse_event ev = { .name = name, .data = data, .data_len = len, .retry_ms = retry_ms };
    char buf[1024];
    long n = sse_encode(buf, sizeof buf, &ev);
    if (n > 0 && (size_t)n < sizeof buf)
        FCGX_PutStr(buf, (int)n, req->out);
    json_object_put(obj);
    FCGX_FFlush(req->out);
    return FCGX_GetError(req->out) ? -1 : 0;
}

static struct json_object *message_object(const char *message)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string(message));
    return o;
}

/* Writes the events taken from the queue, then flushes.  Drops the
 * references.  Returns 0, or -1 if the stream broke. */
static int write_events(struct stream *st, struct event **evs, size_t n)
{
    FCGX_Stream *out = st->req->out;
    for (size_t i = 0; i < n; i++) {
        FCGX_PutStr(event_text(evs[i]), (int)event_len(evs[i]), out);
        event_unref(evs[i]);
    }
    FCGX_FFlush(out);
    if (FCGX_GetError(out))
        return -1;
    atomic_fetch_add(&st->c->events_sent, n);
    window_add(st->s->win, server_window_now(), n);
    return 0;
}

/* Serves the stream until it ends; returns why it ended. */
static enum close_reason serve(struct stream *st)
{
    struct conn *c = st->c;
    FCGX_Request *req = st->req;
    int64_t hb = st->s->opt.heartbeat_ms;

    /* The mask ppoll() sleeps with: ours, less the wake signal. */
    sigset_t waitmask;
    pthread_sigmask(SIG_SETMASK, NULL, &waitmask);
    sigdelset(&waitmask, CONN_WAKE_SIGNAL);

    FCGX_PutS(stream_headers, req->out);
    struct json_object *hello = message_object("SSE connection established");
    json_object_object_add(hello, "connection_id", json_object_new_string(c->token));
    json_object_object_add(hello, "connection_type",
                           json_object_new_string(conn_type_name(c->type)));
    if (write_protocol_event(req, "connected", hello, RETRY_MS) < 0)
        return CLOSE_WRITE_FAILED;
    atomic_store(&c->last_ping_ms, time_now_ms());
    int64_t next_beat = time_mono_ms() + hb;

    struct event *evs[TAKE_BATCH];
    for (;;) {
        int64_t now = time_mono_ms();
        if (now >= next_beat) {
            if (write_protocol_event(req, "ping", message_object("keep-alive"), 0) < 0)
                return CLOSE_WRITE_FAILED;
            atomic_store(&c->last_ping_ms, time_now_ms());
            next_beat = now + hb;
        }
        bool closing;
        size_t n = conn_take(c, evs, TAKE_BATCH, &closing);
        if (n) {
            if (write_events(st, evs, n) < 0)
                return CLOSE_WRITE_FAILED;
            next_beat = time_mono_ms() + hb;    /* traffic is a heartbeat */
            continue;
        }
        if (closing)
            return CLOSE_NONE;                  /* the remover set the reason */
        /* conn_take() marked us sleeping: an enqueue or close from now on
         * signals us, and a signal sent before ppoll() starts is pending. */
        int64_t wait = next_beat - time_mono_ms();
        if (wait < 0)
            wait = 0;
        struct timespec ts = { (time_t)(wait / 1000), (long)(wait % 1000) * 1000000 };
        struct pollfd pfd = { .fd = req->ipcFd, .events = POLLIN | POLLRDHUP };
        int rc = ppoll(&pfd, 1, &ts, &waitmask);
        conn_awake(c);
        if (rc > 0)
            return CLOSE_CLIENT_CLOSED;
        if (rc < 0 && errno != EINTR) {
            log_error("ppoll on stream %s: %s", c->public_id, strerror(errno));
            return CLOSE_CLIENT_CLOSED;
        }
    }
}

static void *stream_main(void *arg)
{
    struct stream *st = arg;
    struct server *s = st->s;
    struct conn *c = st->c;
    FCGX_Request *req = st->req;
    free(st);
    struct stream self = { s, req, c };

    enum close_reason reason = serve(&self);
    if (!registry_remove(s->reg, c, reason == CLOSE_NONE ? CLOSE_CLIENT_CLOSED : reason))
        reason = c->reason;                     /* someone else removed it */
    if (reason == CLOSE_SHUTDOWN && !FCGX_GetError(req->out))
        write_protocol_event(req, "shutdown", message_object("Server shutting down"), 0);
    log_debug("stream %s (%s %s) closed: %s", c->public_id, conn_type_name(c->type),
              c->name, conn_reason_name(reason));

    req->keepConnection = 0;
    FCGX_Finish_r(req);
    free(req);
    conn_free(c);

    pthread_mutex_lock(&s->mu);
    s->streams--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int stream_start(struct server *s, FCGX_Request *req, struct conn *c)
{
    struct stream *st = malloc(sizeof *st);
    if (!st)
        return -1;
    st->s = s;
    st->req = req;
    st->c = c;
    pthread_mutex_lock(&s->mu);
    s->streams++;
    pthread_mutex_unlock(&s->mu);
    pthread_t tid;
    int rc = pthread_create(&tid, &s->stream_attr, stream_main, st);
    if (rc != 0) {
        log_warn("cannot start a stream thread: %s", strerror(rc));
        pthread_mutex_lock(&s->mu);
        s->streams--;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->mu);
        free(st);
        return -1;
    }
    return 0;
}
