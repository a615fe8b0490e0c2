/* tests/unit/hub.c -- the hub of one process (src/hub_local.c): ids, the
 * replay-or-live rule, closing, and its feed. */
#include "unit.h"

#include "feed.h"
#include "hub.h"
#include "metrics.h"
#include "registry.h"

static struct hub_published publish(struct hub *h, const char *name, const struct filter *to)
{
    struct hub_event ev = { .name = name, .data = "{}", .len = 2, .to = to };
    struct hub_published out;
    ck_assert_int_eq(hub_publish(h, &ev, &out), 0);
    return out;
}

/* Takes the ids of the events in a stream's replay, then of its queue, in
 * order, as its loop would take the events. */
static size_t received(struct conn *c, uint64_t *ids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nreplay; i++) {
        if (n < max)
            ids[n++] = strtoull(event_text(c->replay[i]) + 4, NULL, 10);  /* "id: N\n" */
        event_unref(c->replay[i]);
    }
    c->nreplay = 0;
    struct event *evs[CONN_QUEUE_MAX];
    bool closing;
    size_t k = conn_take(c, evs, CONN_QUEUE_MAX, &closing);
    for (size_t i = 0; i < k; i++) {
        if (n < max)
            ids[n++] = strtoull(event_text(evs[i]) + 4, NULL, 10);
        event_unref(evs[i]);
    }
    return n;
}

START_TEST(hub_ids_replay_and_close)
{
    struct registry *r = registry_create(10, 0, 0);
    struct metrics *m = metrics_create();
    struct hub *h = hub_local_create(r, m, 100, 60000, 1000);
    ck_assert_ptr_nonnull(h);
    struct filter lobby = { .type = -1, .display = "lobby" };
    ck_assert_uint_eq(publish(h, "a", NULL).id, 1000);
    struct conn *d = mk(CONN_DISPLAY, "lobby");
    struct hub_resume fresh = { 0 };
    ck_assert_int_eq(hub_subscribe(h, d, &fresh), 0);
    ck_assert_uint_eq(d->start_id, 1000);               /* resume from here */
    ck_assert_uint_eq(d->nreplay, 0);
    struct hub_published p = publish(h, "b", &lobby);
    ck_assert_uint_eq(p.id, 1001);
    ck_assert_uint_eq(p.notified, 1);
    ck_assert_uint_eq(publish(h, "c", &(struct filter){ .type = CONN_ADMIN }).notified, 0);
    /* a second stream resuming from 999 gets 1000 and 1001 again, not 1002 */
    struct conn *again = mk(CONN_DISPLAY, "hall");
    struct hub_resume back = { .resume = true, .last_id = 999 };
    ck_assert_int_eq(hub_subscribe(h, again, &back), 0);
    uint64_t ids[8];
    ck_assert_uint_eq(received(again, ids, 8), 1);      /* 1001 was for lobby */
    ck_assert_uint_eq(ids[0], 1000);
    ck_assert_uint_eq(again->start_id, 999);
    ck_assert(!again->reset);
    /* an id never issued: reset */
    struct conn *lost = mk(CONN_ADMIN, "x");
    struct hub_resume future = { .resume = true, .last_id = 5000 };
    ck_assert_int_eq(hub_subscribe(h, lost, &future), 0);
    ck_assert(lost->reset);
    ck_assert_uint_eq(lost->start_id, 1002);
    /* closing */
    ck_assert_int_eq(hub_close_token(h, d->token, CLOSE_DISCONNECT_ROUTE), 1);
    ck_assert_int_eq(hub_close_token(h, d->token, CLOSE_DISCONNECT_ROUTE), 0);
    ck_assert_int_eq(hub_close_public_id(h, again->public_id, CLOSE_ADMIN_CLOSED), 1);
    struct registry_snapshot snap;
    ck_assert_int_eq(hub_snapshot(h, &snap), 0);
    ck_assert_uint_eq(snap.count, 1);
    registry_snapshot_release(&snap);
    struct closed_info *log;
    uint64_t totals[CLOSE_REASONS];
    ck_assert_int_eq(hub_closed(h, &log, totals), 2);
    ck_assert_int_eq(log[0].reason, CLOSE_ADMIN_CLOSED);
    free(log);
    ck_assert_uint_eq(feed_seq(hub_feed(h)), 5);        /* 3 opened, 2 closed */
    registry_remove_all(r, CLOSE_SHUTDOWN);
    conn_free(d);
    conn_free(again);
    conn_free(lost);
    hub_free(h);
    hub_free(NULL);
    metrics_free(m);
    registry_free(r);
}
END_TEST

/* Streams subscribe, fresh or resuming from ids just issued, while events
 * are published from another thread: each gets every event after its
 * start exactly once, replayed or live, in order. */
enum { RACE_EVENTS = 3000, RACE_STREAMS = 60, RACE_AHEAD = 64 };

struct race {
    struct hub *h;
    _Atomic uint64_t last;          /* the newest id published */
    _Atomic uint64_t drained;       /* every queue was drained after this id */
    atomic_bool done;
};

static void *publisher(void *arg)
{
    struct race *ra = arg;
    for (int i = 0; i < RACE_EVENTS; i++) {
        /* never more than RACE_AHEAD ahead of the drains: no queue fills */
        while (atomic_load(&ra->last) >= atomic_load(&ra->drained) + RACE_AHEAD)
            sched_yield();
        struct hub_event ev = { .name = "e", .data = "{}", .len = 2 };
        struct hub_published out;
        ck_assert_int_eq(hub_publish(ra->h, &ev, &out), 0);
        atomic_store(&ra->last, out.id);
    }
    atomic_store(&ra->done, true);
    return NULL;
}

START_TEST(hub_replay_or_live_never_both)
{
    struct registry *r = registry_create(RACE_STREAMS, 0, 0);
    struct metrics *m = metrics_create();
    struct hub *h = hub_local_create(r, m, RACE_EVENTS, 600000, 1);
    struct race ra = { .h = h };
    static struct conn *c[RACE_STREAMS];
    static uint64_t got[RACE_STREAMS][RACE_EVENTS + 1];
    static size_t ngot[RACE_STREAMS];
    int nc = 0;
    pthread_t t;
    pthread_create(&t, NULL, publisher, &ra);
    for (;;) {
        bool done = atomic_load(&ra.done);
        uint64_t seen = atomic_load(&ra.last);
        if (nc < RACE_STREAMS) {
            char name[16];
            snprintf(name, sizeof name, "s%d", nc);
            c[nc] = mk(CONN_ADMIN, name);
            struct hub_resume from = { .resume = nc % 2 == 0 && seen > 5, .last_id = seen - 5 };
            ck_assert_int_eq(hub_subscribe(h, c[nc], &from), 0);
            ck_assert(!c[nc]->reset);
            nc++;
        }
        for (int i = 0; i < nc; i++)
            ngot[i] += received(c[i], got[i] + ngot[i], RACE_EVENTS + 1 - ngot[i]);
        atomic_store(&ra.drained, seen);
        if (done && nc == RACE_STREAMS)
            break;
    }
    pthread_join(t, NULL);
    uint64_t last = atomic_load(&ra.last);
    for (int i = 0; i < RACE_STREAMS; i++) {
        ngot[i] += received(c[i], got[i] + ngot[i], RACE_EVENTS + 1 - ngot[i]);
        ck_assert_msg(registry_contains(r, c[i]), "stream %d was dropped", i);
        uint64_t want = c[i]->start_id;
        for (size_t k = 0; k < ngot[i]; k++)
            ck_assert_msg(got[i][k] == ++want, "stream %d (from %llu): got %llu, not %llu", i,
                          (unsigned long long)c[i]->start_id, (unsigned long long)got[i][k],
                          (unsigned long long)want);
        ck_assert_msg(want == last, "stream %d: last %llu, not %llu", i,
                      (unsigned long long)want, (unsigned long long)last);
    }
    registry_remove_all(r, CLOSE_SHUTDOWN);
    for (int i = 0; i < RACE_STREAMS; i++)
        conn_free(c[i]);
    hub_free(h);
    metrics_free(m);
    registry_free(r);
}
END_TEST

Suite *hub_suite(void)
{
    Suite *s = suite_create("hub");
    UNIT_TEST(s, hub_ids_replay_and_close);
    UNIT_TEST(s, hub_replay_or_live_never_both);
    return s;
}
