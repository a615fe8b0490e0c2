/* pace.c -- writing a broadcast a slice of streams at a time (see pace.h). */
#include "autoconf.h"

#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "pace.h"
#include "timeutil.h"

void pace_init(struct pacer *p, const struct pace_ops *ops, void *ctx, struct metrics *m)
{
    *p = (struct pacer){ .ops = ops, .ctx = ctx, .metrics = m };
}

void pace_append(struct pacer *p, struct conn *list)
{
    if (!list)
        return;
    if (p->backlog_tail)
        p->backlog_tail->pnext = list;
    else
        p->backlog = list;
    while (list->pnext)
        list = list->pnext;
    p->backlog_tail = list;
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

/* Makes c the mark, or (NULL) drops the mark. */
static void mark(struct pacer *p, struct conn *c)
{
    struct conn *old = p->mark;
    p->mark = c;
    p->since_us = 0;
    p->ops->mark_moved(p->ctx, old, c);
}

void pace_forget(struct pacer *p, struct conn *c)
{
    if (p->mark == c) {
        p->mark = NULL;
        p->since_us = 0;
    }
}

int64_t pace_serve(struct pacer *p, bool pace)
{
    while (p->backlog) {
        if (pace && p->mark && unread(p->mark->io.fd)) {
            int64_t now = time_mono_us();
            if (!p->since_us)
                p->since_us = now;
            int64_t left = p->since_us + PACE_WAIT_MS * 1000 - now;
            if (left > 0)
                return left;
            metrics_add(p->metrics, METRIC_PACE_GIVEUPS, 1);
        }
        if (p->mark)
            mark(p, NULL);
        for (int k = 0; k < PACE_SLICE && p->backlog; k++) {
            struct conn *c = p->backlog;
            p->backlog = c->pnext;
            if (!p->backlog)
                p->backlog_tail = NULL;
            /* Until a mark is found: was this stream read to the end? */
            bool was_read = pace && !p->mark && c->io.started && c->io.fd >= 0 &&
                            !unread(c->io.fd);
            if (p->ops->serve(p->ctx, c) && was_read)
                mark(p, c);
        }
    }
    return 0;
}
