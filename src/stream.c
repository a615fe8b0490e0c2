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
 * A broadcast is written a slice of streams at a time (pace.c), so that a
 * request arriving meanwhile is not queued in the web server behind all of
 * it.
 *
 * The loops know only their environment (struct stream_env): the
 * heartbeat, the registry that streams leave when they end, the metrics
 * and the event window, and whom to tell when a stream is handed over and
 * when it has ended. */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "output.h"
#include "pace.h"
#include "proto.h"
#include "registry.h"
#include "stream.h"
#include "timeutil.h"
#include "window.h"

#define TAKE_BATCH 32
#define STALL_MS 3000               /* output that does not move: gone (as the
                                       workers' socket timeouts) */
#define RETRY_MS 3000               /* the stream's `retry:` */
#define DRAIN_MS 2000               /* waiting for the web server to close */
#define EPOLL_BATCH 256

struct stream_loop {
    struct stream_loops *set;       /* the loops this one is of */
    const struct stream_env *env;   /* the set's */
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
    struct conn *ack_head;                  /* liveness checks due before the next beat */
    struct pacer pacer;                     /* pending streams taken off `pending` */
};

struct stream_loops {
    struct stream_env env;
    struct stream_loop *loops;
    int n;                          /* started */
    atomic_uint next;               /* round robin */
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

/* The short, unsorted list of acked streams whose next liveness check
 * falls before their next heartbeat (their acks come just after a ping,
 * so the limits fall just after one). */
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

/* What epoll reports for c: EPOLLOUT while its output waits (on), and, for
 * the mark, each time the web server reads (see pace.h). */
static void set_epollout(struct stream_loop *l, struct conn *c, bool on)
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
        set_epollout(l, c, f.started_waiting);
    return 0;
}

/* ---- ending ----------------------------------------------------------- */

/* A stream handed over (+1) or answered in full (-1). */
static void count(struct stream_loop *l, int delta)
{
    l->env->streams_changed(l->env->ctx, delta);
}

/* All of c's response is written and the write side shut: only the web
 * server's close is awaited, which shutdown need not wait for. */
static void shut_write(struct stream_loop *l, struct conn *c)
{
    shutdown(c->io.fd, SHUT_WR);
    c->io.answered = true;
    count(l, -1);
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
    pace_forget(&l->pacer, c);
    close(c->io.fd);                /* also leaves the epoll set */
    c->io.fd = -1;
    unsigned lost = conn_queue_depth(c);
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
        count(l, -1);
}

/* Ends c: out of the registry first (why: `reason`, or, for CLOSE_NONE,
 * whatever the thread that removed it said), then a farewell and
 * END_REQUEST where the web server is still there to read them. */
static void end_stream(struct stream_loop *l, struct conn *c, enum close_reason reason)
{
    if (c->io.draining)
        return;
    if (!registry_remove(l->env->reg, c, reason == CLOSE_NONE ? CLOSE_CLIENT_CLOSED : reason))
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
        output_stdout(c, ev, (size_t)len);
    output_end(c);
    list_remove(&l->beat_head, &l->beat_tail, c);
    ack_list_remove(l, c);
    c->io.draining = true;
    c->io.deadline = time_mono_ms() + DRAIN_MS;
    list_append(&l->drain_head, &l->drain_tail, c);
    if (flush(l, c) < 0) {
        finish(l, c);
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
            finish(l, c);
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
            finish(l, c);           /* EOF or error: the web server let go */
            return;
        }
    }
}

/* ---- serving ---------------------------------------------------------- */

static void reschedule(struct stream_loop *l, struct conn *c, int64_t now)
{
    list_remove(&l->beat_head, &l->beat_tail, c);
    c->io.next_beat = now + l->env->heartbeat_ms;
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
        if (output_events(c, evs, n) < 0) {
            end_stream(l, c, CLOSE_SLOW_CONSUMER);
            return false;
        }
        total += n;
    }
    if (c->io.draining)
        return false;
    if (total) {
        if (flush(l, c) < 0) {
            end_stream(l, c, CLOSE_WRITE_FAILED);
            return false;
        }
        if (output_pending(c) > OUTPUT_MAX) {
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
    return total && !output_waiting(c);
}

static void start(struct stream_loop *l, struct conn *c)
{
    output_init(c);
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
    int rc = output_stdout(c, stream_headers, sizeof stream_headers - 1);
    if (rc == 0)
        rc = output_proto(c, text, proto_connected(text, sizeof text, c, l->env->heartbeat_ms,
                                                RETRY_MS, now));
    if (rc == 0 && c->reset)
        rc = output_proto(c, text, proto_reset(text, sizeof text, now));
    if (rc == 0 && c->nreplay)
        rc = output_events(c, c->replay, c->nreplay);  /* missed events first */
    c->nreplay = 0;
    if (rc < 0 || flush(l, c) < 0) {
        end_stream(l, c, CLOSE_WRITE_FAILED);
        return;
    }
    atomic_store(&c->last_ping_ms, time_now_ms());
    reschedule(l, c, time_mono_ms());
    (void)service(l, c);            /* anything queued since it was registered */
}

/* Checks an acked stream's liveness (from its last ack, or its start):
 * closed after CONN_CLOSE_BEATS heartbeats without an ack, marked stale
 * after CONN_STALE_BEATS (once per silence; an ack marks it live again,
 * registry_ack), and checked again when that falls before its next
 * heartbeat.  Returns false if it ended c. */
static bool check_liveness(struct stream_loop *l, struct conn *c, int64_t now_mono)
{
    int64_t hb = l->env->heartbeat_ms;
    int64_t a = atomic_load(&c->last_ack_ms);
    int64_t since = a ? a : c->connected_at_ms;
    int64_t quiet = time_now_ms() - since;
    if (quiet >= CONN_CLOSE_BEATS * hb) {
        end_stream(l, c, CLOSE_ACK_TIMEOUT);
        return false;
    }
    bool stale = quiet >= CONN_STALE_BEATS * hb;
    if (stale && c->io.stale_marked != since) {
        c->io.stale_marked = since;
        registry_set_stale(l->env->reg, c);
    }
    int64_t next = (stale ? CONN_CLOSE_BEATS : CONN_STALE_BEATS) * hb - quiet;
    if (next < hb)
        ack_list_add(l, c, now_mono + next);    /* check then, not a beat later */
    return true;
}

/* A heartbeat is due on c (the head of the list). */
static void beat(struct stream_loop *l, struct conn *c, int64_t now)
{
    if (c->ack && !check_liveness(l, c, now))
        return;
    if (c->io.stalled_since && now - c->io.stalled_since >= STALL_MS) {
        metrics_add(l->env->metrics, METRIC_HEARTBEAT_FAILURES, 1);
        end_stream(l, c, CLOSE_WRITE_FAILED);   /* the web server stopped reading */
        return;
    }
    char ev[PROTO_EVENT_MAX];
    long len = proto_ping(ev, sizeof ev, c->ack ? conn_next_ping(c, now) : 0, time_now_ms());
    if (output_proto(c, ev, len) < 0 || flush(l, c) < 0) {
        metrics_add(l->env->metrics, METRIC_HEARTBEAT_FAILURES, 1);
        end_stream(l, c, CLOSE_WRITE_FAILED);
        return;
    }
    if (output_pending(c) > OUTPUT_MAX) {
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

/* The pacer's ops (pace.h). */
static bool pace_serve_one(void *ctx, struct conn *c)
{
    return take_pending(ctx, c);
}

static void pace_mark_moved(void *ctx, struct conn *old, struct conn *now)
{
    struct stream_loop *l = ctx;
    if (old)
        set_epollout(l, old, output_waiting(old));
    if (now)
        set_epollout(l, now, false);    /* written whole: nothing waits */
}

static const struct pace_ops loop_pace_ops = { pace_serve_one, pace_mark_moved };

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
                if (flush(l, c) < 0)
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
        pace_append(&l->pacer, pending);
        pace_left_us = pace_serve(&l->pacer, !stop);
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
            check_liveness(l, c, now);              /* may put it back on the list */
        }
        if (stop)
            break;
    }
    /* Stopping: whatever is left is closed as it stands. */
    while (l->beat_head) {
        struct conn *c = l->beat_head;
        registry_remove(l->env->reg, c, CLOSE_SHUTDOWN);
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
    count(l, +1);
    push_and_wake(l, &l->incoming, &c->inext, c);
}

void stream_assign(struct stream_loops *ls, struct conn *c)
{
    unsigned i = atomic_fetch_add(&ls->next, 1);
    c->loop = &ls->loops[i % (unsigned)ls->n];
    c->wake = stream_loop_wake;
}

int stream_loops_count(const struct stream_loops *ls)
{
    return ls->n;
}

/* Frees what stream_loops_start() set up for loop l that never started. */
static void loop_unset(struct stream_loop *l)
{
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->evfd >= 0)
        close(l->evfd);
    pthread_mutex_destroy(&l->mu);
}

struct stream_loops *stream_loops_start(const struct stream_env *env, int n, char *err,
                                        size_t errlen)
{
    struct stream_loops *ls = calloc(1, sizeof *ls);
    if (!ls || !(ls->loops = calloc((size_t)n, sizeof *ls->loops))) {
        free(ls);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ls->env = *env;
    for (int i = 0; i < n; i++) {
        struct stream_loop *l = &ls->loops[i];
        l->set = ls;
        l->env = &ls->env;
        pace_init(&l->pacer, &loop_pace_ops, l, env->metrics);
        pthread_mutex_init(&l->mu, NULL);
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
        if (l->epfd < 0 || l->evfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) != 0) {
            snprintf(err, errlen, "cannot set up an I/O loop: %s", strerror(errno));
            loop_unset(l);
            stream_loops_stop(ls);
            return NULL;
        }
        int rc = pthread_create(&l->thread, NULL, loop_main, l);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start an I/O loop: %s", strerror(rc));
            loop_unset(l);
            stream_loops_stop(ls);
            return NULL;
        }
        ls->n++;
    }
    return ls;
}

void stream_loops_stop(struct stream_loops *ls)
{
    if (!ls)
        return;
    for (int i = 0; i < ls->n; i++) {
        struct stream_loop *l = &ls->loops[i];
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_mutex_unlock(&l->mu);
        uint64_t one = 1;
        ssize_t r = write(l->evfd, &one, sizeof one);
        (void)r;
        pthread_join(l->thread, NULL);
    }
    for (int i = 0; i < ls->n; i++)
        loop_unset(&ls->loops[i]);
    free(ls->loops);
    free(ls);
}
