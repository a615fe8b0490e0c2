/* loop.c -- the I/O loop threads (see stream.h): each an epoll loop over
 * many streams, woken by its eventfd when streams are handed over, events
 * are queued or streams are closed from elsewhere, and by its timers
 * (heartbeats, drains, liveness checks).  What happens to one stream is
 * stream.c's.  A broadcast is written a slice of streams at a time
 * (pace.c), so that a request arriving meanwhile is not queued in the web
 * server behind all of it.
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
#include <unistd.h>

#include "log.h"
#include "output.h"
#include "registry.h"
#include "stream_loop.h"
#include "timeutil.h"

#define EPOLL_BATCH 256

/* ---- lists (stream_loop.h) ------------------------------------------------ */

void loop_list_append(struct conn **head, struct conn **tail, struct conn *c)
{
    c->io.bnext = NULL;
    c->io.bprev = *tail;
    if (*tail)
        (*tail)->io.bnext = c;
    else
        *head = c;
    *tail = c;
}

void loop_list_remove(struct conn **head, struct conn **tail, struct conn *c)
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

/* Acks come just after a ping, so the limits fall just after one: few
 * streams are on this list at a time, and it needs no order. */
void loop_ack_add(struct stream_loop *l, struct conn *c, int64_t due)
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

void loop_ack_remove(struct stream_loop *l, struct conn *c)
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

/* A stream handed over (+1) or answered in full (-1). */
void loop_count(struct stream_loop *l, int delta)
{
    l->env->streams_changed(l->env->ctx, delta);
}

/* ---- the loop ------------------------------------------------------------ */

/* Takes c off a pending list: frees it if it died meanwhile, else serves.
 * `pending` is true exactly while c is linked on a pending list (the
 * loop's, or its backlog), so only here is it cleared.  Returns what
 * stream_serve() does, or false. */
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
    return stream_serve(l, c);
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
        stream_set_epollout(l, old, output_waiting(old));
    if (now)
        stream_set_epollout(l, now, false);    /* written whole: nothing waits */
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
            stream_ready(l, c, evs[i].events);
        }
        /* Newly handed over first: a stream queued for before it started
         * is served by stream_start(). */
        while (incoming) {
            struct conn *c = incoming;
            incoming = c->inext;
            stream_start(l, c);
        }
        pace_append(&l->pacer, pending);
        pace_left_us = pace_serve(&l->pacer, !stop);
        now = time_mono_ms();
        while (l->beat_head && l->beat_head->io.next_beat <= now)
            stream_beat(l, l->beat_head, now);
        while (l->drain_head && l->drain_head->io.deadline <= now)
            stream_finish(l, l->drain_head);
        for (struct conn *c = l->ack_head, *next; c; c = next) {
            next = c->io.anext;
            if (c->io.ack_due > now)
                continue;
            loop_ack_remove(l, c);
            stream_check_liveness(l, c, now);              /* may put it back on the list */
        }
        if (stop)
            break;
    }
    /* Stopping: whatever is left is closed as it stands. */
    while (l->beat_head) {
        struct conn *c = l->beat_head;
        registry_remove(l->env->reg, c, CLOSE_SHUTDOWN);
        stream_finish(l, c);
    }
    while (l->drain_head)
        stream_finish(l, l->drain_head);
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
    loop_count(l, +1);
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
