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
#include <stdint.h>
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

/* Writes a protocol event (connected, ping, closing notices) whose data is
 * obj plus a timestamp.  Takes ownership of obj.  Returns 0, or -1 if the
 * stream is broken.  Never called with a lock held. */
static int write_protocol_event(struct stream *st, const char *name,
                                struct json_object *obj, unsigned retry_ms)
{
    FCGX_Request *req = st->req;
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
    if (FCGX_GetError(req->out))
        return -1;
    if (n > 0)
        atomic_fetch_add(&st->c->bytes_sent, (uint64_t)n);
    return 0;
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
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        FCGX_PutStr(event_text(evs[i]), (int)event_len(evs[i]), out);
        bytes += event_len(evs[i]);
        event_unref(evs[i]);
    }
    FCGX_FFlush(out);
    if (FCGX_GetError(out))
        return -1;
    atomic_fetch_add(&st->c->events_sent, n);
    atomic_fetch_add(&st->c->bytes_sent, bytes);
    metrics_add(st->s->metrics, METRIC_EVENTS_SENT, n);
    window_add(st->s->win, server_window_now(), n);
    return 0;
}

static int write_connected(struct stream *st)
{
    struct conn *c = st->c;
    FCGX_PutS(stream_headers, st->req->out);
    struct json_object *o = message_object("SSE connection established");
    json_object_object_add(o, "connection_id", json_object_new_string(c->token));
    json_object_object_add(o, "connection_type", json_object_new_string(conn_type_name(c->type)));
    json_object_object_add(o, "public_id", json_object_new_string(c->public_id));
    json_object_object_add(o, "ack", json_object_new_boolean(c->ack));
    json_object_object_add(o, "heartbeat_ms", json_object_new_int64(st->s->opt.heartbeat_ms));
    json_object_object_add(o, "client", c->client[0] ? json_object_new_string(c->client) : NULL);
    return write_protocol_event(st, "connected", o, RETRY_MS);
}

static int write_ping(struct stream *st)
{
    struct json_object *o = message_object("keep-alive");
    if (st->c->ack)
        json_object_object_add(o, "seq",
                               json_object_new_uint64(conn_next_ping(st->c, time_mono_ms())));
    return write_protocol_event(st, "ping", o, 0);
}

/* The last word to a stream the server ends, so the page knows why (and,
 * when superseded, not to reconnect).  Errors are ignored: it is ending. */
static void write_farewell(struct stream *st, enum close_reason reason)
{
    const char *name = "closed", *message;
    switch (reason) {
    case CLOSE_SHUTDOWN:
        name = "shutdown";
        message = "Server shutting down";
        break;
    case CLOSE_SUPERSEDED:
        name = "superseded";
        message = "Replaced by a newer connection";
        break;
    case CLOSE_ADMIN_CLOSED:
        message = "Closed by an administrator";
        break;
    case CLOSE_ACK_TIMEOUT:
        message = "No acknowledgement of the last heartbeats";
        break;
    case CLOSE_DISCONNECT_ROUTE:
        message = "Disconnected on request";
        break;
    default:
        return;                             /* the client is gone or too slow */
    }
    if (FCGX_GetError(st->req->out))
        return;
    struct json_object *o = message_object(message);
    json_object_object_add(o, "reason", json_object_new_string(conn_reason_name(reason)));
    write_protocol_event(st, name, o, 0);
}

/* Serves the stream until it ends; returns why it ended (CLOSE_NONE: another
 * thread removed it and set the reason). */
static enum close_reason serve(struct stream *st)
{
    struct conn *c = st->c;
    FCGX_Request *req = st->req;
    int64_t hb = st->s->opt.heartbeat_ms;

    /* The mask ppoll() sleeps with: ours, less the wake signal. */
    sigset_t waitmask;
    pthread_sigmask(SIG_SETMASK, NULL, &waitmask);
    sigdelset(&waitmask, CONN_WAKE_SIGNAL);

    if (write_connected(st) < 0)
        return CLOSE_WRITE_FAILED;
    if (c->reset) {
        struct json_object *o = message_object("Missed events are no longer available: reload");
        if (write_protocol_event(st, "reset", o, 0) < 0)
            return CLOSE_WRITE_FAILED;
    } else if (c->nreplay) {
        /* Missed events first; they count as sent like live ones. */
        for (size_t i = 0; i < c->nreplay; i += TAKE_BATCH) {
            size_t n = c->nreplay - i < TAKE_BATCH ? c->nreplay - i : TAKE_BATCH;
            int rc = write_events(st, c->replay + i, n);
            for (size_t j = 0; j < n; j++)
                c->replay[i + j] = NULL;
            if (rc < 0) {
                for (size_t j = i + n; j < c->nreplay; j++)
                    event_unref(c->replay[j]);
                c->nreplay = 0;
                return CLOSE_WRITE_FAILED;
            }
        }
        c->nreplay = 0;
    }
    atomic_store(&c->last_ping_ms, time_now_ms());
    int64_t next_beat = time_mono_ms() + hb;
    /* Acked streams: no ack for 3 heartbeats ends them, counted from the
     * last ack or the start (wall clock, as stats judges "stale"). */
    int64_t ack_limit = 3 * hb;

    struct event *evs[TAKE_BATCH];
    for (;;) {
        int64_t now = time_mono_ms();
        int64_t ack_left = INT64_MAX;
        if (c->ack) {
            int64_t a = atomic_load(&c->last_ack_ms);
            ack_left = (a ? a : c->connected_at_ms) + ack_limit - time_now_ms();
            if (ack_left <= 0)
                return CLOSE_ACK_TIMEOUT;
        }
        if (now >= next_beat) {
            if (write_ping(st) < 0) {
                metrics_add(st->s->metrics, METRIC_HEARTBEAT_FAILURES, 1);
                return CLOSE_WRITE_FAILED;
            }
            atomic_store(&c->last_ping_ms, time_now_ms());
            next_beat = now + hb;
        }
        bool closing;
        size_t n = conn_take(c, evs, TAKE_BATCH, &closing);
        if (n) {
            if (write_events(st, evs, n) < 0)
                return CLOSE_WRITE_FAILED;
            /* Traffic stands in for a heartbeat, except where pings carry
             * the sequence numbers the client acks. */
            if (!c->ack)
                next_beat = time_mono_ms() + hb;
            continue;
        }
        if (closing)
            return CLOSE_NONE;
        /* conn_take() marked us sleeping: an enqueue or close from now on
         * signals us, and a signal sent before ppoll() starts is pending. */
        int64_t wait = next_beat - time_mono_ms();
        if (ack_left < wait)
            wait = ack_left;
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
    write_farewell(&self, reason);
    log_debug("stream %s (%s %s) closed: %s", c->public_id, conn_type_name(c->type),
              c->name, conn_reason_name(reason));

    req->keepConnection = 0;
    FCGX_Finish_r(req);
    free(req);
    unsigned lost = conn_queue_depth(c);
    if (lost)
        metrics_add(s->metrics, METRIC_EVENTS_DROPPED, lost);
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
