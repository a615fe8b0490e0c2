/* tests/unit/feed.c -- the change feed (src/feed.c) and the registry's
 * changes through it. */
#include "unit.h"

#include "feed.h"
#include "registry.h"
#include "timeutil.h"

struct seen {
    size_t n;
    struct {
        uint64_t seq;
        enum feed_kind kind;
        char id[PUBLIC_ID_LEN + 1];
        char name[CONN_NAME_MAX + 1];
        bool stale;
        enum close_reason reason;
    } v[32];
};

static void record(void *ctx, const struct feed_change *ch)
{
    struct seen *s = ctx;
    ck_assert_uint_lt(s->n, 32);
    s->v[s->n].seq = ch->seq;
    s->v[s->n].kind = ch->kind;
    memcpy(s->v[s->n].id, ch->info->public_id, sizeof s->v[0].id);
    memcpy(s->v[s->n].name, ch->info->name, sizeof s->v[0].name);
    s->v[s->n].stale = ch->stale;
    s->v[s->n].reason = ch->reason;
    s->n++;
}

static int fills;

static void fill(void *arg, struct conn_info *out)
{
    (void)arg;
    fills++;
    memset(out, 0, sizeof *out);
}

START_TEST(feed_numbers_and_hands_on)
{
    struct feed *f = feed_create();
    struct seen a = { 0 }, b = { 0 };
    struct feed_change ch = { .kind = FEED_OPENED };
    fills = 0;
    feed_publish(f, &ch, fill, NULL);                   /* nobody listens: nothing built */
    ck_assert_int_eq(fills, 0);
    ck_assert_uint_eq(ch.seq, 1);
    ck_assert_uint_eq(feed_seq(f), 1);
    ck_assert_int_eq(feed_subscribe(f, record, NULL, &a), 0);
    ck_assert_int_eq(feed_subscribe(f, record, NULL, &b), 0);
    feed_publish(f, &ch, fill, NULL);
    ck_assert_int_eq(fills, 1);                         /* built once for both */
    ck_assert_uint_eq(a.n, 1);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_uint_eq(a.v[0].seq, 2);
    feed_unsubscribe(f, record, &a);
    feed_publish(f, &ch, fill, NULL);
    ck_assert_uint_eq(a.n, 1);
    ck_assert_uint_eq(b.n, 2);
    ck_assert_uint_eq(b.v[1].seq, 3);
    feed_unsubscribe(f, record, &b);
    feed_publish(NULL, &ch, fill, NULL);                /* no feed: nothing */
    feed_free(f);
    feed_free(NULL);
}
END_TEST

START_TEST(feed_takes_a_cluster_number)
{
    struct feed *f = feed_create();
    struct seen s = { 0 };
    ck_assert_int_eq(feed_subscribe(f, record, NULL, &s), 0);
    struct conn_info ci = { 0 };
    struct feed_change a = { .seq = 40, .kind = FEED_OPENED, .info = &ci };
    feed_publish(f, &a, NULL, NULL);
    ck_assert_uint_eq(a.seq, 40);                       /* the number asked for */
    struct feed_change b = { .seq = 12, .kind = FEED_CLOSED, .info = &ci };
    feed_publish(f, &b, NULL, NULL);
    ck_assert_uint_eq(b.seq, 41);                       /* never back: the next */
    feed_resync(f);
    ck_assert_uint_eq(s.n, 3);
    ck_assert_int_eq(s.v[2].kind, FEED_RESYNC);
    ck_assert_uint_eq(s.v[2].seq, 41);                  /* not a change: no number of its own */
    ck_assert_uint_eq(feed_seq(f), 41);
    feed_unsubscribe(f, record, &s);
    feed_free(f);
}
END_TEST

START_TEST(feed_of_the_registry)
{
    struct feed *f = feed_create();
    struct registry *r = registry_create(10, 0, 0);
    registry_set_feed(r, f);
    struct seen s = { 0 };
    ck_assert_int_eq(feed_subscribe(f, record, NULL, &s), 0);
    struct conn *d1 = mk(CONN_DISPLAY, "lobby"), *d2 = mk(CONN_DISPLAY, "lobby");
    d2->keyed = true;                                   /* may replace d1 */
    struct conn *a = conn_create(CONN_ADMIN, "alice", NULL, true);
    ck_assert_int_eq(registry_add(r, d1), 0);
    ck_assert_int_eq(registry_add(r, a), 0);
    ck_assert_int_eq(registry_add(r, d2), 1);           /* supersedes d1 */
    ck_assert_uint_eq(s.n, 4);
    ck_assert_int_eq(s.v[0].kind, FEED_OPENED);
    ck_assert_str_eq(s.v[0].id, d1->public_id);
    ck_assert_str_eq(s.v[1].name, "alice");
    ck_assert_int_eq(s.v[2].kind, FEED_CLOSED);         /* the old one leaves first */
    ck_assert_str_eq(s.v[2].id, d1->public_id);
    ck_assert_int_eq(s.v[2].reason, CLOSE_SUPERSEDED);
    ck_assert_int_eq(s.v[3].kind, FEED_OPENED);
    ck_assert_str_eq(s.v[3].id, d2->public_id);
    for (size_t i = 0; i < s.n; i++)
        ck_assert_uint_eq(s.v[i].seq, i + 1);

    /* stale once, live again on a valid ack */
    ck_assert(registry_set_stale(r, a));
    ck_assert(!registry_set_stale(r, a));
    ck_assert_uint_eq(s.n, 5);
    ck_assert_int_eq(s.v[4].kind, FEED_STATE);
    ck_assert(s.v[4].stale);
    ck_assert_int_eq(registry_ack(r, a->token, 1), -1); /* unsent seq: still stale */
    ck_assert_uint_eq(s.n, 5);
    conn_next_ping(a, time_mono_ms());
    ck_assert_int_ge(registry_ack(r, a->token, 1), 0);
    ck_assert_uint_eq(s.n, 6);
    ck_assert(!s.v[5].stale);
    ck_assert_int_ge(registry_ack(r, a->token, 1), 0);  /* live already: no change */
    ck_assert_uint_eq(s.n, 6);

    /* a snapshot says which changes it holds */
    struct registry_snapshot snap;
    ck_assert_int_eq(registry_snapshot(r, &snap), 0);
    ck_assert_uint_eq(snap.seq, 6);
    ck_assert_uint_eq(snap.count, 2);
    registry_snapshot_release(&snap);

    ck_assert(registry_remove_token(r, a->token, CLOSE_DISCONNECT_ROUTE));
    ck_assert(!registry_set_stale(r, a));               /* gone: nothing */
    ck_assert_uint_eq(s.n, 7);
    ck_assert_int_eq(s.v[6].reason, CLOSE_DISCONNECT_ROUTE);
    ck_assert_uint_eq(registry_remove_all(r, CLOSE_SHUTDOWN), 1);
    ck_assert_uint_eq(s.n, 8);
    ck_assert_uint_eq(feed_seq(f), 8);
    feed_unsubscribe(f, record, &s);
    conn_free(d1);
    conn_free(d2);
    conn_free(a);
    registry_free(r);
    feed_free(f);
}
END_TEST

Suite *feed_suite(void)
{
    Suite *s = suite_create("feed");
    UNIT_TEST(s, feed_numbers_and_hands_on);
    UNIT_TEST(s, feed_takes_a_cluster_number);
    UNIT_TEST(s, feed_of_the_registry);
    return s;
}
