/* tests/unit/pace.c -- writing a broadcast a slice at a time (src/pace.c),
 * over real socket pairs: the test plays the web server that reads them. */
#include "unit.h"

#include <sys/socket.h>

#include "metrics.h"
#include "pace.h"

enum { NSTREAMS = 2 * PACE_SLICE + 10 };

struct world {
    struct conn *c[NSTREAMS];
    int peer[NSTREAMS];
    int served;
    struct conn *marks[8];
    int nmarks;
};

/* serve: writes an event's worth of bytes to the stream's socket. */
static bool serve(void *ctx, struct conn *c)
{
    struct world *w = ctx;
    char bytes[1000];
    memset(bytes, 'e', sizeof bytes);
    ck_assert_int_eq(write(c->io.fd, bytes, sizeof bytes), (ssize_t)sizeof bytes);
    w->served++;
    return true;
}

static void mark_moved(void *ctx, struct conn *old, struct conn *now)
{
    struct world *w = ctx;
    (void)old;
    if (now && w->nmarks < 8)
        w->marks[w->nmarks++] = now;
}

static const struct pace_ops ops = { serve, mark_moved };

/* Drains what the web server has not read of stream i. */
static void web_server_reads(struct world *w, int i)
{
    char buf[4096];
    while (recv(w->peer[i], buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

START_TEST(pace_slices_follow_the_reader)
{
    struct world w = { 0 };
    struct metrics *m = metrics_create();
    struct pacer p;
    pace_init(&p, &ops, &w, m);
    struct conn *list = NULL, **tail = &list;
    for (int i = 0; i < NSTREAMS; i++) {
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        w.c[i] = mk(CONN_ADMIN, "p");
        w.c[i]->io.fd = sv[0];
        w.c[i]->io.started = true;
        w.peer[i] = sv[1];
        *tail = w.c[i];
        tail = &w.c[i]->pnext;
    }
    pace_append(&p, list);
    /* the first slice goes at once; its first stream, read to the end
     * before, is the mark; the next slice waits for it */
    int64_t left = pace_serve(&p, true);
    ck_assert_int_gt(left, 0);
    ck_assert_int_le(left, PACE_WAIT_MS * 1000);
    ck_assert_int_eq(w.served, PACE_SLICE);
    ck_assert_ptr_eq(p.mark, w.c[0]);
    ck_assert_int_gt(pace_serve(&p, true), 0);          /* still unread: still waiting */
    ck_assert_int_eq(w.served, PACE_SLICE);
    web_server_reads(&w, 0);                            /* the web server caught up */
    ck_assert_int_gt(pace_serve(&p, true), 0);
    ck_assert_int_eq(w.served, 2 * PACE_SLICE);
    ck_assert_ptr_eq(p.mark, w.c[PACE_SLICE]);
    ck_assert_int_eq(w.nmarks, 2);
    /* left unread for PACE_WAIT_MS: given up, and counted */
    struct timespec ts = { 0, (PACE_WAIT_MS + 5) * 1000000L };
    nanosleep(&ts, NULL);
    ck_assert_int_eq(pace_serve(&p, true), 0);          /* the backlog is done */
    ck_assert_int_eq(w.served, NSTREAMS);
    size_t len;
    char *text = metrics_render(m, &(struct metrics_gauges){ .closed_by_reason =
                                                              (uint64_t[CLOSE_REASONS]){ 0 } },
                                &len);
    ck_assert_msg(strstr(text, "\nsse_pace_giveups_total 1\n") != NULL, "%s", text);
    free(text);
    /* unpaced (stopping): everything at once */
    w.served = 0;
    for (int i = 0; i < NSTREAMS; i++)
        w.c[i]->pnext = i + 1 < NSTREAMS ? w.c[i + 1] : NULL;
    pace_append(&p, w.c[0]);
    ck_assert_int_eq(pace_serve(&p, false), 0);
    ck_assert_int_eq(w.served, NSTREAMS);
    pace_forget(&p, p.mark);
    ck_assert_ptr_null(p.mark);
    for (int i = 0; i < NSTREAMS; i++) {
        close(w.c[i]->io.fd);
        close(w.peer[i]);
        conn_free(w.c[i]);
    }
    metrics_free(m);
}
END_TEST

Suite *pace_suite(void)
{
    Suite *s = suite_create("pace");
    UNIT_TEST(s, pace_slices_follow_the_reader);
    return s;
}
