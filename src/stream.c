/* stream.c -- the life of one stream on its I/O loop (the loops
 * themselves are loop.c's; what both share is stream_loop.h).
 *
 * Every stream is one struct conn on one loop.  Its life:
 *   hand-over  -> the worker puts it on the loop's incoming list;
 *   start      -> the loop adds the socket to epoll and writes the headers,
 *                 the `connected` event and any replay;
 *   serve      -> queued events and heartbeats are framed as FastCGI STDOUT
 *                 records into an output buffer and written without
 *                 blocking; what the socket does not take waits for EPOLLOUT;
 *   end        -> it leaves the registry first (with its reason); then
 *                 either the socket is closed at once (the client is gone),
 *                 or a farewell event and END_REQUEST are written, the write
 *                 side is shut, and the loop waits (at most DRAIN_MS) for the
 *                 web server to close, as FCGX_Finish_r would;
 *   free       -> when no other thread can reach it: out of the registry,
 *                 and off the pending list (`pending`, under conn->mu).
 *
 * "The client is gone" is any readiness of the socket for reading (the web
 * server sends nothing after the request body, which the worker read to its
 * end), a failed write, or output that has not moved for STALL_MS.
 *
 * Everything here runs on the stream's loop thread; other threads reach a
 * stream only through the registry and the connection's own lock. */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "output.h"
#include "proto.h"
#include "registry.h"
#include "stream_loop.h"
#include "timeutil.h"
#include "window.h"

#define TAKE_BATCH 32
#define STALL_MS 3000               /* output that does not move: gone (as the
                                       workers' socket timeouts) */
#define RETRY_MS 3000               /* the stream's `retry:` */
#define DRAIN_MS 2000               /* waiting for the web server to close */

static const char stream_headers[] =
    "Status: 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "\r\n";

/* ---- output ------------------------------------------------------------ */

/* What epoll reports for c: EPOLLOUT while its output waits (on), and, for
 * the mark, each time the web server reads (see pace.h). */
void stream_set_epollout(struct stream_loop *l, struct conn *c, bool on)
{
    uint32_t out = on ? EPOLLOUT : l->pacer.mark == c ? EPOLLOUT | EPOLLET : 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | out, .data.ptr = c };
    epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->io.fd, &ev);
}

/* Writes what the socket takes, counts the events that went out, and
 * watches for EPOLLOUT while output waits.  Returns 0, or -1 if the socket
 * failed. */
static int flush(struct stream_loop *l, struct conn *c)
{
    struct output_flushed f;
    if (output_flush(c, time_mono_ms(), &f) < 0)
        return -1;
    if (f.events) {
        window_add(l->env->win, window_clock(), f.events);
        metrics_add(l->env->metrics, METRIC_EVENTS_SENT, f.events);
    }
    if (f.started_waiting || f.stopped_waiting)
        stream_set_epollout(l, c, f.started_waiting);
    return 0;
}

/* ---- ending ----------------------------------------------------------- */

/* All of c's response is written and the write side shut: only the web
 * server's close is awaited, which shutdown need not wait for. */
static void shut_write(struct stream_loop *l, struct conn *c)
{
    shutdown(c->io.fd, SHUT_WR);
    c->io.answered = true;
    loop_count(l, -1);
}

/* Closes the socket and frees c once nobody can reach it. */
void stream_finish(struct stream_loop *l, struct conn *c)
{
    /* On one list or the other: which, the node alone cannot tell. */
    if (c->io.draining)
        loop_list_remove(&l->drain_head, &l->drain_tail, c);
    else
        loop_list_remove(&l->beat_head, &l->beat_tail, c);
    loop_ack_remove(l, c);
    pace_forget(&l->pacer, c);
    close(c->io.fd);                /* also leaves the epoll set */
    c->io.fd = -1;
    /* Whatever it was sent and never got: still queued, framed and not
     * (wholly) written -- a slow consumer's queue has usually gone into its
     * output by the time the output limit drops it -- or still to replay.
     * With what stream_serve() counted as it threw events away, every
     * event queued for a stream is either sent or dropped, once. */
    uint64_t lost = conn_queue_published(c) + output_unsent_events(c) + c->nreplay;
    if (lost)
        metrics_add(l->env->metrics, METRIC_EVENTS_DROPPED, lost);
    bool answered = c->io.answered;
    pthread_mutex_lock(&c->mu);
    bool later = c->pending;        /* on a pending list: freed when taken off */
    c->dead = later;
    pthread_mutex_unlock(&c->mu);
    if (!later)
        conn_free(c);
    if (!answered)
        loop_count(l, -1);
}

/* Ends c: out of the registry first (why: `reason`, or, for CLOSE_NONE,
 * whatever the thread that removed it said), then a farewell and
 * END_REQUEST where the web server is still there to read them. */
void stream_end(struct stream_loop *l, struct conn *c, enum close_reason reason)
{
    if (c->io.draining)
        return;
    if (!registry_remove(l->env->reg, c, reason == CLOSE_NONE ? CLOSE_CLIENT_CLOSED : reason))
        reason = c->reason;
    log_debug("stream %s (%s %s) closed: %s", c->public_id, conn_type_name(c->type), c->name,
              conn_reason_name(reason));
    if (reason == CLOSE_CLIENT_CLOSED || reason == CLOSE_WRITE_FAILED ||
        reason == CLOSE_SLOW_CONSUMER) {
        stream_finish(l, c);               /* nobody reads: nothing to say */
        return;
    }
    char ev[PROTO_EVENT_MAX];
    long len = proto_farewell(ev, sizeof ev, reason, time_now_ms());
    if (len > 0)
        output_stdout(c, ev, (size_t)len);
    output_end(c);
    loop_list_remove(&l->beat_head, &l->beat_tail, c);
    loop_ack_remove(l, c);
    c->io.draining = true;
    c->io.deadline = time_mono_ms() + DRAIN_MS;
    loop_list_append(&l->drain_head, &l->drain_tail, c);
    if (flush(l, c) < 0) {
        stream_finish(l, c);
        return;
    }
    if (!output_waiting(c))
        shut_write(l, c);
}

/* A draining stream's socket is readable or writable. */
static void drain(struct stream_loop *l, struct conn *c, uint32_t events)
{
    if ((events & EPOLLOUT) && output_waiting(c)) {
        if (flush(l, c) < 0) {
            stream_finish(l, c);
            return;
        }
        if (!output_waiting(c))
            shut_write(l, c);
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        char buf[512];
        for (;;) {
            ssize_t n = read(c->io.fd, buf, sizeof buf);
            if (n > 0)
                continue;
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            stream_finish(l, c);           /* EOF or error: the web server let go */
            return;
        }
    }
}

/* epoll reported events on c's socket: a draining stream's web server
 * read or hung up; any other stream's socket readable means the web server
 * closed the request (the client is gone); writable means output can move. */
void stream_ready(struct stream_loop *l, struct conn *c, uint32_t events)
{
    if (c->io.draining)
        drain(l, c, events);
    else if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        stream_end(l, c, CLOSE_CLIENT_CLOSED);
    else if ((events & EPOLLOUT) && flush(l, c) < 0)
        stream_end(l, c, CLOSE_WRITE_FAILED);
}

/* ---- serving ---------------------------------------------------------- */

static void reschedule(struct stream_loop *l, struct conn *c, int64_t now)
{
    loop_list_remove(&l->beat_head, &l->beat_tail, c);
    c->io.next_beat = now + l->env->heartbeat_ms;
    loop_list_append(&l->beat_head, &l->beat_tail, c);
}

/* Writes what is queued and ends c if it is closing, fails or lags.
 * Returns true if events went out whole and c goes on (it may be a mark
 * to pace by). */
bool stream_serve(struct stream_loop *l, struct conn *c)
{
    struct event *evs[TAKE_BATCH];
    bool closing = false;
    size_t total = 0, n;
    if (!c->io.started)
        return false;               /* stream_start() takes the queue */
    while ((n = conn_take(c, evs, TAKE_BATCH, &closing)) > 0) {
        size_t published = event_count_published(evs, n);
        if (c->io.draining) {
            for (size_t i = 0; i < n; i++)
                event_unref(evs[i]);
            metrics_add(l->env->metrics, METRIC_EVENTS_DROPPED, published);
            continue;
        }
        if (output_events(c, evs, n) < 0) {
            /* Past the output's cap: the batch is gone (output_events
             * dropped it), and the rest with the stream. */
            metrics_add(l->env->metrics, METRIC_EVENTS_DROPPED, published);
            stream_end(l, c, CLOSE_SLOW_CONSUMER);
            return false;
        }
        total += n;
    }
    if (c->io.draining)
        return false;
    if (total) {
        if (flush(l, c) < 0) {
            stream_end(l, c, CLOSE_WRITE_FAILED);
            return false;
        }
        if (output_pending(c) > OUTPUT_MAX) {
            stream_end(l, c, CLOSE_SLOW_CONSUMER);
            return false;
        }
        /* Traffic stands in for a heartbeat, except where pings carry the
         * sequence numbers the client acks. */
        if (!c->ack)
            reschedule(l, c, time_mono_ms());
    }
    if (closing) {
        stream_end(l, c, CLOSE_NONE);
        return false;
    }
    return total && !output_waiting(c);
}

void stream_start(struct stream_loop *l, struct conn *c)
{
    output_init(c);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->io.fd, &ev) != 0) {
        log_error("epoll_ctl: %s", strerror(errno));
        c->io.started = true;
        stream_end(l, c, CLOSE_WRITE_FAILED);
        return;
    }
    c->io.started = true;
    char text[PROTO_EVENT_MAX];
    int64_t now = time_now_ms();
    int rc = output_stdout(c, stream_headers, sizeof stream_headers - 1);
    if (rc == 0)
        rc = output_proto(c, text, proto_connected(text, sizeof text, c, l->env->node,
                                                l->env->heartbeat_ms, RETRY_MS, now));
    if (rc == 0 && c->reset)
        rc = output_proto(c, text, proto_reset(text, sizeof text, now));
    if (rc == 0 && c->nreplay) {                  /* missed events first */
        size_t n = c->nreplay;
        c->nreplay = 0;                           /* output_events drops them */
        if ((rc = output_events(c, c->replay, n)) < 0)
            metrics_add(l->env->metrics, METRIC_EVENTS_DROPPED, n);
    }
    if (rc < 0 || flush(l, c) < 0) {
        stream_end(l, c, CLOSE_WRITE_FAILED);
        return;
    }
    atomic_store(&c->last_ping_ms, time_now_ms());
    reschedule(l, c, time_mono_ms());
    (void)stream_serve(l, c);            /* anything queued since it was registered */
}

/* Checks an acked stream's liveness (from its last ack, or its start):
 * closed after CONN_CLOSE_BEATS heartbeats without an ack, marked stale
 * after CONN_STALE_BEATS (once per silence; an ack marks it live again,
 * registry_ack), and checked again when that falls before its next
 * heartbeat.  Returns false if it ended c. */
bool stream_check_liveness(struct stream_loop *l, struct conn *c, int64_t now_mono)
{
    int64_t hb = l->env->heartbeat_ms;
    int64_t a = atomic_load(&c->last_ack_ms);
    int64_t since = a ? a : c->connected_at_ms;
    int64_t quiet = time_now_ms() - since;
    if (quiet >= CONN_CLOSE_BEATS * hb) {
        stream_end(l, c, CLOSE_ACK_TIMEOUT);
        return false;
    }
    bool stale = quiet >= CONN_STALE_BEATS * hb;
    if (stale && c->io.stale_marked != since) {
        c->io.stale_marked = since;
        registry_set_stale(l->env->reg, c);
    }
    int64_t next = (stale ? CONN_CLOSE_BEATS : CONN_STALE_BEATS) * hb - quiet;
    if (next < hb)
        loop_ack_add(l, c, now_mono + next);    /* check then, not a beat later */
    return true;
}

/* A heartbeat is due on c (the head of the list). */
void stream_beat(struct stream_loop *l, struct conn *c, int64_t now)
{
    if (c->ack && !stream_check_liveness(l, c, now))
        return;
    if (c->io.stalled_since && now - c->io.stalled_since >= STALL_MS) {
        metrics_add(l->env->metrics, METRIC_HEARTBEAT_FAILURES, 1);
        stream_end(l, c, CLOSE_WRITE_FAILED);   /* the web server stopped reading */
        return;
    }
    char ev[PROTO_EVENT_MAX];
    long len = proto_ping(ev, sizeof ev, c->ack ? conn_next_ping(c, now) : 0, time_now_ms());
    if (output_proto(c, ev, len) < 0 || flush(l, c) < 0) {
        metrics_add(l->env->metrics, METRIC_HEARTBEAT_FAILURES, 1);
        stream_end(l, c, CLOSE_WRITE_FAILED);
        return;
    }
    if (output_pending(c) > OUTPUT_MAX) {
        stream_end(l, c, CLOSE_SLOW_CONSUMER);
        return;
    }
    atomic_store(&c->last_ping_ms, time_now_ms());
    reschedule(l, c, now);
}
