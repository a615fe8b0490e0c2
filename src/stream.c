/* stream.c -- the I/O loops that serve every stream (see stream.h).
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
 * Pacing.  A broadcast to 10,000 streams is written in a few milliseconds;
 * the web server relays it far slower (nginx reads and rewrites each
 * event), and serves its ready sockets in turn: a request that arrives
 * meanwhile (stats, a disconnect, a new stream) waited behind the whole
 * broadcast, 100 to 300 ms at 10,000 streams on 2 cores.  So streams with
 * events queued go on the loop's backlog and are served PACE_SLICE at a
 * time.  The mark of a slice is its first stream that the web server had
 * read to the end before this write (SIOCOUTQ: bytes the peer has not
 * read); one it had stopped reading (its client is stuck) would hold the
 * loop back for nothing.  The next slice is written once the mark is
 * read: the web server then has the rest of the slice in hand, and a
 * request that arrives waits behind about two slices.  Meanwhile the loop
 * goes on with its other work.  It learns of the read from epoll: the
 * mark alone also waits for EPOLLOUT, edge-triggered, and a unix socket
 * reports that each time its peer reads from it (measured: one event per
 * read, SIOCOUTQ falling to 0 with the last).  A mark not read within
 * PACE_WAIT_MS is given up.  Over TCP, SIOCOUTQ counts only
 * unacknowledged bytes, and loopback acknowledges at once (it read 0 with
 * 1,000 bytes unread): there the loop never waits. */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "fcgi_record.h"
#include "log.h"
#include "proto.h"
#include "server_impl.h"
#include "stream.h"
#include "timeutil.h"

#define TAKE_BATCH 32
#define OUT_MAX (1024 * 1024)       /* output a stream may fall behind by */
#define OUT_CAP (OUT_MAX + 128 * 1024)  /* its buffer's cap: one more batch past OUT_MAX */
#define STALL_MS IO_TIMEOUT_MS      /* output that does not move: gone */
#define DRAIN_MS 2000               /* waiting for the web server to close */
#define EPOLL_BATCH 256
#define PACE_SLICE 64               /* streams written before the web server catches up */
#define PACE_WAIT_MS 50             /* a mark left unread this long is given up
                                       (sse_pace_giveups_total's help says 50 ms) */

struct stream_loop {
    struct server *s;
    pthread_t thread;
    int epfd;
    int evfd;                       /* wakes the loop */

    pthread_mutex_t mu;             /* guards the lists below and `stop` */
    struct conn *incoming;          /* handed over, not started */
    struct conn *pending;           /* events queued or closing */
    bool signalled;                 /* evfd written since the loop last read it */
    bool stop;

    /* The loop thread's own. */
    struct conn *beat_head, *beat_tail;     /* by next heartbeat */
    struct conn *drain_head, *drain_tail;   /* by drain deadline */
    struct conn *ack_head;                  /* ack time runs out before the next beat */
    struct conn *backlog, *backlog_tail;    /* pending, taken off `pending`, not served */
    struct conn *pace;                      /* the mark: see Pacing above */
    int64_t pace_since_us;                  /* waiting on the mark since (0: not) */
};

static const char stream_headers[] =
    "Status: 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "\r\n";

/* ---- lists ------------------------------------------------------------- */

static void list_append(struct conn **head, struct conn **tail, struct conn *c)
{
    c->io.bnext = NULL;
    c->io.bprev = *tail;
    if (*tail)
        (*tail)->io.bnext = c;
    else
        *head = c;
    *tail = c;
}

static void list_remove(struct conn **head, struct conn **tail, struct conn *c)
{
    if (c->io.bprev)
        c->io.bprev->io.bnext = c->io.bnext;
    else if (*head == c)
        *head = c->io.bnext;
    else
        return;                     /* not on this list */
    if (c->io.bnext)
        c->io.bnext->io.bprev = c->io.bprev;
    else
        *tail = c->io.bprev;
    c->io.bprev = c->io.bnext = NULL;
}

/* The short, unsorted list of acked streams whose time runs out before
 * their next heartbeat (their acks come just after a ping, so the limit
 * falls just after one). */
static void ack_list_add(struct stream_loop *l, struct conn *c, int64_t due)
{
    c->io.ack_due = due;
    if (c->io.on_ack_list)
        return;
    c->io.on_ack_list = true;
    c->io.aprev = NULL;
    c->io.anext = l->ack_head;
    if (l->ack_head)
        l->ack_head->io.aprev = c;
    l->ack_head = c;
}

static void ack_list_remove(struct stream_loop *l, struct conn *c)
{
    if (!c->io.on_ack_list)
        return;
    if (c->io.aprev)
        c->io.aprev->io.anext = c->io.anext;
    else
        l->ack_head = c->io.anext;
    if (c->io.anext)
        c->io.anext->io.aprev = c->io.aprev;
    c->io.on_ack_list = false;
}

/* ---- output ------------------------------------------------------------ */

/* Frames data as STDOUT records into c's output.  Returns 0, or -1 if the
 * output is past its cap (a slow consumer) or memory ran out. */
static int out_stdout(struct conn *c, const char *data, size_t len)
{
    return fcgi_record_stdout(&c->io.out, (uint16_t)c->io.request_id, data, len);
}

/* Ends the response as FCGX_Finish_r does (status 0, REQUEST_COMPLETE). */
static int out_end_request(struct conn *c)
{
    return fcgi_record_end(&c->io.out, (uint16_t)c->io.request_id, 0, FCGI_REQUEST_COMPLETE);
}

/* Bytes ever appended to c's output: what was written and what waits. */
static uint64_t out_appended(const struct conn *c)
{
    return c->io.written + buf_unread(&c->io.out);
}

/* True while some of c's output waits for the socket. */
static bool out_waiting(const struct conn *c)
{
    return buf_unread(&c->io.out) != 0;
}

/* Remembers that n events end where the output now ends, to count them
 * as sent once written. */
static void out_mark(struct conn *c, uint32_t n)
{
    struct conn_io *io = &c->io;
    unsigned cap = sizeof io->marks / sizeof io->marks[0];
    if (io->nmarks == cap) {
        io->marks[cap - 1].pos = out_appended(c);    /* merge into the last */
        io->marks[cap - 1].events += n;
        return;
    }
    io->marks[io->nmarks].pos = out_appended(c);
    io->marks[io->nmarks].events = n;
    io->nmarks++;
}

/* What epoll reports for c: EPOLLOUT while its output waits (on), and, for
 * the mark, each time the web server reads (see Pacing above). */
static void set_epollout(struct stream_loop *l, struct conn *c, bool on)
{
    uint32_t out = on ? EPOLLOUT : l->pace == c ? EPOLLOUT | EPOLLET : 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | out, .data.ptr = c };
    epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->io.fd, &ev);
}

/* Writes what the socket takes.  Returns 0, or -1 if the socket failed. */
static int out_flush(struct stream_loop *l, struct conn *c)
{
    struct conn_io *io = &c->io;
    uint64_t before = io->written;
    bool was_stalled = io->stalled_since != 0;
    while (buf_unread(&io->out)) {
        ssize_t n = send(io->fd, buf_unread_data(&io->out), buf_unread(&io->out), MSG_NOSIGNAL);
        if (n > 0) {
            buf_consume(&io->out, (size_t)n);   /* idle streams keep no buffer */
            io->written += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return -1;                  /* EPIPE, ECONNRESET: the web server is gone */
    }
    if (io->written != before) {
        atomic_fetch_add(&c->bytes_sent, io->written - before);
        uint64_t sent = 0;
        unsigned k = 0;
        while (k < io->nmarks && io->marks[k].pos <= io->written)
            sent += io->marks[k++].events;
        if (k) {
            memmove(io->marks, io->marks + k, (io->nmarks - k) * sizeof io->marks[0]);
            io->nmarks -= k;
            atomic_fetch_add(&c->events_sent, sent);
            window_add(l->s->win, server_window_now(), sent);
            metrics_add(l->s->metrics, METRIC_EVENTS_SENT, sent);
        }
    }
    if (!buf_unread(&io->out)) {
        io->stalled_since = 0;
        if (was_stalled)
            set_epollout(l, c, false);
    } else if (io->written != before || !was_stalled) {
        io->stalled_since = time_mono_ms();
        if (!was_stalled)
            set_epollout(l, c, true);
    }
    return 0;
}

/* ---- events ---------------------------------------------------------- */

/* Frames a protocol event built on the stack (proto.c): no heap, so a loop
 * thread keeps no cache of freed blocks from them (with json-c objects each
 * loop thread's malloc cache held ~40 KiB after churn, scattered over pages
 * that could not be given back).  Returns 0, or -1 if it could not be
 * built or framed. */
static int out_proto(struct conn *c, const char *text, long len)
{
    return len > 0 ? out_stdout(c, text, (size_t)len) : -1;
}

/* Frames broadcast events and drops the references.  Returns 0 or -1. */
static int out_events(struct conn *c, struct event **evs, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = out_stdout(c, event_text(evs[i]), event_len(evs[i]));
        event_unref(evs[i]);
    }
    if (rc == 0)
        out_mark(c, (uint32_t)n);
    return rc;
}

/* ---- ending ----------------------------------------------------------- */

/* One stream fewer that server_stop() waits for. */
static void count_answered(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    s->streams--;
    s->streams_ended++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* All of c's response is written and the write side shut: only the web
 * server's close is awaited, which shutdown need not wait for. */
static void shut_write(struct stream_loop *l, struct conn *c)
{
    shutdown(c->io.fd, SHUT_WR);
    c->io.answered = true;
    count_answered(l->s);
}

/* Closes the socket and frees c once nobody can reach it. */
static void finish(struct stream_loop *l, struct conn *c)
{
    /* On one list or the other: which, the node alone cannot tell. */
    if (c->io.draining)
        list_remove(&l->drain_head, &l->drain_tail, c);
    else
        list_remove(&l->beat_head, &l->beat_tail, c);
    ack_list_remove(l, c);
    if (l->pace == c)
        l->pace = NULL;
    close(c->io.fd);                /* also leaves the epoll set */
    c->io.fd = -1;
    unsigned lost = conn_queue_depth(c);
    if (lost)
        metrics_add(l->s->metrics, METRIC_EVENTS_DROPPED, lost);
    bool answered = c->io.answered;
    pthread_mutex_lock(&c->mu);
    bool later = c->pending;        /* on a pending list: freed when taken off */
    c->dead = later;
    pthread_mutex_unlock(&c->mu);
    if (!later)
        conn_free(c);
    if (!answered)
        count_answered(l->s);
}

/* Ends c: out of the registry first (why: `reason`, or, for CLOSE_NONE,
 * whatever the thread that removed it said), then a farewell and
 * END_REQUEST where the web server is still there to read them. */
static void end_stream(struct stream_loop *l, struct conn *c, enum close_reason reason)
{
    if (c->io.draining)
        return;
    if (!registry_remove(l->s->reg, c, reason == CLOSE_NONE ? CLOSE_CLIENT_CLOSED : reason))
        reason = c->reason;
    log_debug("stream %s (%s %s) closed: %s", c->public_id, conn_type_name(c->type), c->name,
              conn_reason_name(reason));
    if (reason == CLOSE_CLIENT_CLOSED || reason == CLOSE_WRITE_FAILED ||
        reason == CLOSE_SLOW_CONSUMER) {
        finish(l, c);               /* nobody reads: nothing to say */
        return;
    }
    char ev[PROTO_EVENT_MAX];
    long len = proto_farewell(ev, sizeof ev, reason, time_now_ms());
    if (len > 0)
        out_stdout(c, ev, (size_t)len);
    out_end_request(c);
    list_remove(&l->beat_head, &l->beat_tail, c);
    ack_list_remove(l, c);
    c->io.draining = true;
    c->io.deadline = time_mono_ms() + DRAIN_MS;
    list_append(&l->drain_head, &l->drain_tail, c);
    if (out_flush(l, c) < 0) {
        finish(l, c);
        return;
    }
    if (!out_waiting(c))
        shut_write(l, c);
}

/* A draining stream's socket is readable or writable. */
static void drain(struct stream_loop *l, struct conn *c, uint32_t events)
{
    if ((events & EPOLLOUT) && out_waiting(c)) {
        if (out_flush(l, c) < 0) {
            finish(l, c);
            return;
        }
        if (!out_waiting(c))
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
            finish(l, c);           /* EOF or error: the web server let go */
            return;
        }
    }
}

/* ---- serving ---------------------------------------------------------- */

static void reschedule(struct stream_loop *l, struct conn *c, int64_t now)
{
    list_remove(&l->beat_head, &l->beat_tail, c);
    c->io.next_beat = now + l->s->opt.heartbeat_ms;
    list_append(&l->beat_head, &l->beat_tail, c);
}

/* Writes what is queued and ends c if it is closing, fails or lags.
 * Returns true if events went out whole and c goes on (it may be a mark
 * to pace by). */
static bool service(struct stream_loop *l, struct conn *c)
{
    struct event *evs[TAKE_BATCH];
    bool closing = false;
    size_t total = 0, n;
    if (!c->io.started)
        return false;               /* start() takes the queue */
    while ((n = conn_take(c, evs, TAKE_BATCH, &closing)) > 0) {
        if (c->io.draining) {
            for (size_t i = 0; i < n; i++)
                event_unref(evs[i]);
            continue;
        }
        if (out_events(c, evs, n) < 0) {
            end_stream(l, c, CLOSE_SLOW_CONSUMER);
            return false;
        }
        total += n;
    }
    if (c->io.draining)
        return false;
    if (total) {
        if (out_flush(l, c) < 0) {
            end_stream(l, c, CLOSE_WRITE_FAILED);
            return false;
        }
        if (buf_unread(&c->io.out) > OUT_MAX) {
            end_stream(l, c, CLOSE_SLOW_CONSUMER);
            return false;
        }
        /* Traffic stands in for a heartbeat, except where pings carry the
         * sequence numbers the client acks. */
        if (!c->ack)
            reschedule(l, c, time_mono_ms());
    }
    if (closing) {
        end_stream(l, c, CLOSE_NONE);
        return false;
    }
    return total && !out_waiting(c);
}

static void start(struct stream_loop *l, struct conn *c)
{
    buf_init(&c->io.out, OUT_CAP);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->io.fd, &ev) != 0) {
        log_error("epoll_ctl: %s", strerror(errno));
        c->io.started = true;
        end_stream(l, c, CLOSE_WRITE_FAILED);
        return;
    }
    c->io.started = true;
    char text[PROTO_EVENT_MAX];
    int64_t now = time_now_ms();
    int rc = out_stdout(c, stream_headers, sizeof stream_headers - 1);
    if (rc == 0)
        rc = out_proto(c, text, proto_connected(text, sizeof text, c, l->s->opt.heartbeat_ms,
                                                RETRY_MS, now));
    if (rc == 0 && c->reset)
        rc = out_proto(c, text, proto_reset(text, sizeof text, now));
    if (rc == 0 && c->nreplay)
        rc = out_events(c, c->replay, c->nreplay);  /* missed events first */
    c->nreplay = 0;
    if (rc < 0 || out_flush(l, c) < 0) {
        end_stream(l, c, CLOSE_WRITE_FAILED);
        return;
    }
    atomic_store(&c->last_ping_ms, time_now_ms());
    reschedule(l, c, time_mono_ms());
    (void)service(l, c);            /* anything queued since it was registered */
}

/* Milliseconds an acked stream has left before CONN_CLOSE_BEATS heartbeats pass without
 * an ack (from the last one, or from the start). */
static int64_t ack_left(struct stream_loop *l, struct conn *c)
{
    int64_t a = atomic_load(&c->last_ack_ms);
    return (a ? a : c->connected_at_ms) + CONN_CLOSE_BEATS * l->s->opt.heartbeat_ms - time_now_ms();
}

/* A heartbeat is due on c (the head of the list). */
static void beat(struct stream_loop *l, struct conn *c, int64_t now)
{
    int64_t hb = l->s->opt.heartbeat_ms;
    if (c->ack) {
        int64_t left = ack_left(l, c);
        if (left <= 0) {
            end_stream(l, c, CLOSE_ACK_TIMEOUT);
            return;
        }
        if (left < hb)
            ack_list_add(l, c, now + left);    /* check then, not a beat later */
    }
    if (c->io.stalled_since && now - c->io.stalled_since >= STALL_MS) {
        metrics_add(l->s->metrics, METRIC_HEARTBEAT_FAILURES, 1);
        end_stream(l, c, CLOSE_WRITE_FAILED);   /* the web server stopped reading */
        return;
    }
    char ev[PROTO_EVENT_MAX];
    long len = proto_ping(ev, sizeof ev, c->ack ? conn_next_ping(c, now) : 0, time_now_ms());
    if (out_proto(c, ev, len) < 0 || out_flush(l, c) < 0) {
        metrics_add(l->s->metrics, METRIC_HEARTBEAT_FAILURES, 1);
        end_stream(l, c, CLOSE_WRITE_FAILED);
        return;
    }
    if (buf_unread(&c->io.out) > OUT_MAX) {
        end_stream(l, c, CLOSE_SLOW_CONSUMER);
        return;
    }
    atomic_store(&c->last_ping_ms, time_now_ms());
    reschedule(l, c, now);
}

/* ---- the loop ------------------------------------------------------------ */

/* Takes c off a pending list: frees it if it died meanwhile, else serves.
 * `pending` is true exactly while c is linked on a pending list (the
 * loop's, or its backlog), so only here is it cleared.  Returns what
 * service() does, or false. */
static bool take_pending(struct stream_loop *l, struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    c->pending = false;
    bool dead = c->dead;
    pthread_mutex_unlock(&c->mu);
    if (dead) {
        conn_free(c);
        return false;
    }
    return service(l, c);
}

/* Puts the streams of list (linked through pnext) at the end of the backlog. */
static void backlog_append(struct stream_loop *l, struct conn *list)
{
    if (!list)
        return;
    if (l->backlog_tail)
        l->backlog_tail->pnext = list;
    else
        l->backlog = list;
    while (list->pnext)
        list = list->pnext;
    l->backlog_tail = list;
}

/* True while the web server has not read all that was written to fd.
 * SIOCOUTQ on a unix socket counts the buffers the peer has not freed,
 * whole (768 or more for any write).  When the peer has read the last
 * one, the kernel (sock_wfree) wakes the writer before it drops the last
 * unit of the count: a loop woken by that EPOLLOUT could read 1 here, go
 * back to sleep and miss the only wake-up there is.  It did, in about one
 * broadcast to 1,000 streams in 120, and the loop held the rest of the
 * broadcast for PACE_WAIT_MS.  So 1 counts as read. */
static bool unread(int fd)
{
    int q;
    return ioctl(fd, SIOCOUTQ, &q) == 0 && q > 1;
}

/* Makes c the mark, or (NULL) drops the mark, telling epoll either way. */
static void pace_by(struct stream_loop *l, struct conn *c)
{
    struct conn *old = l->pace;
    l->pace = c;
    l->pace_since_us = 0;
    if (old)
        set_epollout(l, old, out_waiting(old));
    if (c)
        set_epollout(l, c, false);  /* written whole: nothing waits */
}

/* Serves the backlog a slice at a time (see Pacing above); with pace
 * false, all of it.  Returns the microseconds left to wait for the mark
 * if it stopped to let the web server catch up, else 0 (the backlog is
 * empty). */
static int64_t serve_backlog(struct stream_loop *l, bool pace)
{
    while (l->backlog) {
        if (pace && l->pace && unread(l->pace->io.fd)) {
            int64_t now = time_mono_us();
            if (!l->pace_since_us)
                l->pace_since_us = now;
            int64_t left = l->pace_since_us + PACE_WAIT_MS * 1000 - now;
            if (left > 0)
                return left;
            metrics_add(l->s->metrics, METRIC_PACE_GIVEUPS, 1);
        }
        if (l->pace)
            pace_by(l, NULL);
        for (int k = 0; k < PACE_SLICE && l->backlog; k++) {
            struct conn *c = l->backlog;
            l->backlog = c->pnext;
            if (!l->backlog)
                l->backlog_tail = NULL;
            /* Until a mark is found: was this stream read to the end? */
            bool was_read = pace && !l->pace && c->io.started && c->io.fd >= 0 &&
                            !unread(c->io.fd);
            if (take_pending(l, c) && was_read)
                pace_by(l, c);
        }
    }
    return 0;
}

static void *loop_main(void *arg)
{
    struct stream_loop *l = arg;
    struct epoll_event evs[EPOLL_BATCH];
    int64_t pace_left_us = 0;               /* waiting on the mark for at most */
    for (;;) {
        int64_t now = time_mono_ms();
        int timeout = -1;
        int64_t due = INT64_MAX;
        if (l->beat_head)
            due = l->beat_head->io.next_beat;
        if (l->drain_head && l->drain_head->io.deadline < due)
            due = l->drain_head->io.deadline;
        for (struct conn *c = l->ack_head; c; c = c->io.anext)
            if (c->io.ack_due < due)
                due = c->io.ack_due;
        if (due != INT64_MAX)
            timeout = due <= now ? 0 : (int)(due - now > 60000 ? 60000 : due - now);
        if (pace_left_us) {
            int ms = (int)((pace_left_us + 999) / 1000);
            if (timeout < 0 || ms < timeout)
                timeout = ms;
        }
        int n = epoll_wait(l->epfd, evs, EPOLL_BATCH, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("epoll_wait: %s", strerror(errno));
            n = 0;
        }
        struct conn *incoming = NULL, *pending = NULL;
        bool stop = false;
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                uint64_t v;
                ssize_t r = read(l->evfd, &v, sizeof v);
                (void)r;
                pthread_mutex_lock(&l->mu);
                incoming = l->incoming;
                pending = l->pending;
                l->incoming = l->pending = NULL;
                l->signalled = false;
                stop = l->stop;
                pthread_mutex_unlock(&l->mu);
                continue;
            }
            if (c->io.draining) {
                drain(l, c, evs[i].events);
            } else if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                end_stream(l, c, CLOSE_CLIENT_CLOSED);
            } else if (evs[i].events & EPOLLOUT) {
                if (out_flush(l, c) < 0)
                    end_stream(l, c, CLOSE_WRITE_FAILED);
            }
        }
        /* Newly handed over first: a stream queued for before it started
         * is served by start(). */
        while (incoming) {
            struct conn *c = incoming;
            incoming = c->inext;
            start(l, c);
        }
        backlog_append(l, pending);
        pace_left_us = serve_backlog(l, !stop);
        now = time_mono_ms();
        while (l->beat_head && l->beat_head->io.next_beat <= now)
            beat(l, l->beat_head, now);
        while (l->drain_head && l->drain_head->io.deadline <= now)
            finish(l, l->drain_head);
        for (struct conn *c = l->ack_head, *next; c; c = next) {
            next = c->io.anext;
            if (c->io.ack_due > now)
                continue;
            ack_list_remove(l, c);
            int64_t left = ack_left(l, c);
            if (left <= 0)
                end_stream(l, c, CLOSE_ACK_TIMEOUT);
            else if (left < l->s->opt.heartbeat_ms)
                ack_list_add(l, c, now + left);     /* an ack came: check again */
        }
        if (stop)
            break;
    }
    /* Stopping: whatever is left is closed as it stands. */
    while (l->beat_head) {
        struct conn *c = l->beat_head;
        registry_remove(l->s->reg, c, CLOSE_SHUTDOWN);
        finish(l, c);
    }
    while (l->drain_head)
        finish(l, l->drain_head);
    return NULL;
}

/* ---- the API -------------------------------------------------------------- */

/* Links c on one of l's lists (incoming, through c->inext, or pending,
 * through c->pnext: a stream can be on both at once) and wakes l unless a
 * wake-up is already on its way. */
static void push_and_wake(struct stream_loop *l, struct conn **list, struct conn **link,
                          struct conn *c)
{
    pthread_mutex_lock(&l->mu);
    *link = *list;
    *list = c;
    bool signal = !l->signalled;
    l->signalled = true;
    pthread_mutex_unlock(&l->mu);
    if (signal) {
        uint64_t one = 1;
        ssize_t r = write(l->evfd, &one, sizeof one);
        (void)r;                    /* a full counter wakes the loop all the same */
    }
}

void stream_loop_wake(void *loop, struct conn *c)
{
    struct stream_loop *l = loop;
    push_and_wake(l, &l->pending, &c->pnext, c);
}

void stream_hand_over(struct conn *c, int fd, int request_id)
{
    struct stream_loop *l = c->loop;
    c->io.fd = fd;
    c->io.request_id = request_id;
    struct server *s = l->s;
    pthread_mutex_lock(&s->mu);
    s->streams++;
    pthread_mutex_unlock(&s->mu);
    push_and_wake(l, &l->incoming, &c->inext, c);
}

void stream_assign(struct server *s, struct conn *c)
{
    unsigned i = atomic_fetch_add(&s->next_loop, 1);
    c->loop = &s->loops[i % (unsigned)s->nloops];
    c->wake = stream_loop_wake;
}

int stream_loops_start(struct server *s, int n, char *err, size_t errlen)
{
    s->loops = calloc((size_t)n, sizeof *s->loops);
    if (!s->loops) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct stream_loop *l = &s->loops[i];
        l->s = s;
        pthread_mutex_init(&l->mu, NULL);
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
        if (l->epfd < 0 || l->evfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) != 0) {
            snprintf(err, errlen, "cannot set up an I/O loop: %s", strerror(errno));
            return -1;
        }
        int rc = pthread_create(&l->thread, NULL, loop_main, l);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start an I/O loop: %s", strerror(rc));
            return -1;
        }
        s->nloops++;
    }
    return 0;
}

void stream_loops_stop(struct server *s)
{
    for (int i = 0; i < s->nloops; i++) {
        struct stream_loop *l = &s->loops[i];
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_mutex_unlock(&l->mu);
        uint64_t one = 1;
        ssize_t r = write(l->evfd, &one, sizeof one);
        (void)r;
        pthread_join(l->thread, NULL);
    }
    if (s->loops) {
        for (int i = 0; i < s->nloops; i++) {
            close(s->loops[i].epfd);
            close(s->loops[i].evfd);
            pthread_mutex_destroy(&s->loops[i].mu);
        }
    }
    free(s->loops);
    s->loops = NULL;
    s->nloops = 0;
}
