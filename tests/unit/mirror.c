/* tests/unit/mirror.c -- the other nodes' connections (src/mirror.c). */
#include "unit.h"

#include "feed.h"
#include "mirror.h"
#include "registry.h"

struct seen {
    size_t n;
    enum feed_kind kind[16];
    char id[16][PUBLIC_ID_LEN + 1];
    enum close_reason reason[16];
    char node[16][CONN_NODE_MAX + 1];
    uint64_t seq[16];
};

static void record(void *ctx, const struct feed_change *ch)
{
    struct seen *s = ctx;
    if (s->n == 16)
        return;
    s->kind[s->n] = ch->kind;
    s->reason[s->n] = ch->reason;
    s->seq[s->n] = ch->seq;
    memcpy(s->id[s->n], ch->info->public_id, sizeof s->id[0]);
    memcpy(s->node[s->n], ch->info->node, sizeof s->node[0]);
    s->n++;
}

static struct mirror_conn remote(const char *node, const char *id, enum conn_type t,
                                 const char *name, const char *th)
{
    struct mirror_conn mc = { 0 };
    snprintf(mc.info.node, sizeof mc.info.node, "%s", node);
    snprintf(mc.info.public_id, sizeof mc.info.public_id, "%s", id);
    snprintf(mc.info.name, sizeof mc.info.name, "%s", name);
    snprintf(mc.token_hash, sizeof mc.token_hash, "%s", th);
    mc.info.type = t;
    mc.info.connected_at_ms = 1000;
    mc.info.last_ack_rtt_ms = -1;
    return mc;
}

START_TEST(mirror_follows_other_nodes)
{
    struct feed *f = feed_create();
    struct seen s = { 0 };
    feed_subscribe(f, record, NULL, &s);
    struct mirror *m = mirror_create(f);
    struct mirror_conn a = remote("n2", "c-000000000000000a", CONN_ADMIN, "alice", "aa");
    struct mirror_conn d = remote("n2", "c-000000000000000d", CONN_DISPLAY, "lobby", "dd");
    struct mirror_conn e = remote("n3", "c-000000000000000e", CONN_DISPLAY, "hall", "ee");
    ck_assert(mirror_put(m, &a, 10, 0));
    ck_assert(mirror_put(m, &d, 11, 0));
    ck_assert(mirror_put(m, &e, 12, 0));
    ck_assert(mirror_put(m, &a, 13, 0));                /* again, unchanged: no change */
    ck_assert_uint_eq(s.n, 3);
    ck_assert_uint_eq(s.seq[2], 3);
    a.info.stale = true;
    ck_assert(mirror_put(m, &a, 14, 0));                /* its state changed */
    ck_assert_uint_eq(s.n, 4);
    ck_assert_int_eq(s.kind[3], FEED_STATE);
    ck_assert_str_eq(s.node[3], "n2");

    struct mirror_conn found;
    struct conn_info ci;
    ck_assert(mirror_find_token(m, "dd", &found));
    ck_assert_str_eq(found.info.public_id, d.info.public_id);
    ck_assert(!mirror_find_token(m, "zz", &found));
    ck_assert(mirror_find_public_id(m, "c-000000000000000e", &found));
    ck_assert_str_eq(found.info.node, "n3");
    ck_assert(mirror_display(m, "lobby", &ci));
    ck_assert(!mirror_display(m, "alice", &ci));       /* an admin is no display */

    /* counts and list, after the registry's */
    struct registry_snapshot snap = { .count = 1, .admin_count = 1 };
    ck_assert_int_eq(mirror_add_to(m, &snap, true), 0);
    ck_assert_uint_eq(snap.count, 4);
    ck_assert_uint_eq(snap.admin_count, 2);
    ck_assert_uint_eq(snap.display_count, 2);
    ck_assert_uint_eq(snap.stale_count, 1);
    ck_assert_uint_eq(snap.nconns, 3);
    ck_assert_uint_eq(snap.seq, 4);
    registry_snapshot_release(&snap);
    ck_assert_uint_eq(mirror_count(m, "n2"), 2);

    /* n2 reloaded after a reconnect: alice is gone, a new one came */
    struct mirror_conn now[2] = { d, remote("n2", "c-000000000000000b", CONN_ADMIN, "bob", "bb") };
    ck_assert_int_eq(mirror_load_node(m, "n2", now, 2, 20), 2);
    ck_assert_int_eq(mirror_load_node(m, "n2", now, 2, 21), 0);    /* nothing new */
    ck_assert_uint_eq(mirror_count(m, "n2"), 2);
    ck_assert(!mirror_find_token(m, "aa", &found));
    ck_assert_int_eq(s.kind[4], FEED_CLOSED);
    ck_assert_str_eq(s.id[4], "c-000000000000000a");
    ck_assert_int_eq(s.kind[5], FEED_OPENED);

    /* a close from the wrong node is ignored; n3 lost: its streams leave */
    ck_assert(!mirror_remove(m, "n2", "c-000000000000000e", CLOSE_CLIENT_CLOSED, 30, 0));
    ck_assert(mirror_remove(m, "n2", "c-000000000000000d", CLOSE_SUPERSEDED, 31, 0));
    ck_assert_uint_eq(mirror_drop_node(m, "n3", CLOSE_NODE_LOST, 32, 0), 1);
    ck_assert_int_eq(s.reason[s.n - 1], CLOSE_NODE_LOST);
    ck_assert(!mirror_display(m, "hall", &ci));
    struct closed_info *log;
    uint64_t totals[CLOSE_REASONS];
    ck_assert_int_eq(mirror_closed(m, &log, totals), 3);
    ck_assert_int_eq(log[0].reason, CLOSE_NODE_LOST);
    ck_assert_uint_eq(totals[CLOSE_SUPERSEDED], 1);
    free(log);
    ck_assert_uint_eq(mirror_count(m, NULL), 1);
    feed_unsubscribe(f, record, &s);
    mirror_free(m);
    mirror_free(NULL);
    feed_free(f);
}
END_TEST

START_TEST(mirror_numbers_changes_as_the_cluster_does)
{
    struct feed *f = feed_create();
    struct seen s = { 0 };
    feed_subscribe(f, record, NULL, &s);
    struct mirror *m = mirror_create(f);
    struct mirror_conn a = remote("n2", "c-000000000000000a", CONN_ADMIN, "alice", "aa");
    struct mirror_conn b = remote("n2", "c-000000000000000b", CONN_ADMIN, "bob", "bb");
    ck_assert(mirror_put(m, &a, 10, 40));               /* the cluster's number */
    ck_assert(mirror_put(m, &b, 11, 0));                /* none: the next */
    ck_assert_uint_eq(s.seq[0], 40);
    ck_assert_uint_eq(s.seq[1], 41);
    ck_assert(mirror_remove(m, "n2", a.info.public_id, CLOSE_CLIENT_CLOSED, 12, 41));
    ck_assert_uint_eq(s.seq[2], 42);                    /* never twice, never back */

    /* this node's own change: to the feed, not into the mirror */
    struct conn_info mine = { .type = CONN_ADMIN };
    snprintf(mine.public_id, sizeof mine.public_id, "c-00000000000000ff");
    snprintf(mine.node, sizeof mine.node, "n1");
    struct feed_change ch = { .seq = 50, .kind = FEED_OPENED, .info = &mine, .at_ms = 13 };
    mirror_own(m, &ch);
    ck_assert_uint_eq(s.n, 4);
    ck_assert_uint_eq(s.seq[3], 50);
    ck_assert_str_eq(s.id[3], "c-00000000000000ff");
    ck_assert_uint_eq(mirror_count(m, NULL), 1);
    mirror_resync(m);
    ck_assert_int_eq(s.kind[4], FEED_RESYNC);
    ck_assert_uint_eq(feed_seq(f), 50);
    feed_unsubscribe(f, record, &s);
    mirror_free(m);
    feed_free(f);
}
END_TEST

Suite *mirror_suite(void)
{
    Suite *s = suite_create("mirror");
    UNIT_TEST(s, mirror_follows_other_nodes);
    UNIT_TEST(s, mirror_numbers_changes_as_the_cluster_does);
    return s;
}
