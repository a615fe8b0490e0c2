/* tests/unit/closed_log.c -- the log of closed connections (src/closed_log.c).
 * The registry's use of it: registry_closed_ring in registry.c. */
#include "unit.h"

#include "closed_log.h"

START_TEST(closed_log_keeps_the_newest)
{
    struct closed_log *lg = closed_log_create(3);
    char longname[CONN_NAME_MAX + 1];
    memset(longname, 'n', CONN_NAME_MAX);
    longname[CONN_NAME_MAX] = '\0';
    struct conn *c[5];
    for (int i = 0; i < 5; i++) {
        c[i] = conn_create(i % 2 ? CONN_ADMIN : CONN_DISPLAY, i == 3 ? longname : "short",
                           i == 4 ? "client-4" : NULL, false);
        atomic_store(&c[i]->events_sent, (uint64_t)i);
        closed_log_add(lg, c[i], i < 2 ? CLOSE_CLIENT_CLOSED : CLOSE_SUPERSEDED, 1000 + i);
    }
    struct closed_info *v;
    uint64_t totals[CLOSE_REASONS];
    ck_assert_int_eq(closed_log_copy(lg, &v, totals), 3);
    for (int k = 0; k < 3; k++) {                   /* newest first: 4, 3, 2 */
        ck_assert_str_eq(v[k].public_id, c[4 - k]->public_id);
        ck_assert_int_eq(v[k].closed_ms, 1004 - k);
        ck_assert_uint_eq(v[k].events_sent, 4 - k);
        ck_assert_int_eq(v[k].reason, CLOSE_SUPERSEDED);
    }
    ck_assert_str_eq(v[0].client, "client-4");
    ck_assert_str_eq(v[1].name, longname);         /* kept whole, in a block of its own */
    ck_assert_int_eq(v[1].type, CONN_ADMIN);
    ck_assert_str_eq(v[2].client, "");
    ck_assert_uint_eq(totals[CLOSE_CLIENT_CLOSED], 2);
    ck_assert_uint_eq(totals[CLOSE_SUPERSEDED], 3);
    free(v);
    for (int i = 0; i < 5; i++)
        conn_free(c[i]);
    closed_log_free(lg);                            /* frees the boxed name (ASan) */
    closed_log_free(NULL);
}
END_TEST

/* Another node's closes keep their node: inline when the names are short,
 * boxed when not; this node's own have none. */
START_TEST(closed_log_keeps_the_node)
{
    struct closed_log *lg = closed_log_create(4);
    struct conn_info ci = { .type = CONN_ADMIN, .connected_at_ms = 5 };
    snprintf(ci.public_id, sizeof ci.public_id, "c-0000000000000001");
    snprintf(ci.name, sizeof ci.name, "alice");
    snprintf(ci.node, sizeof ci.node, "node-2");
    closed_log_add_info(lg, &ci, CLOSE_NODE_LOST, 10);
    memset(ci.node, 'w', CONN_NODE_MAX);
    ci.node[CONN_NODE_MAX] = '\0';
    snprintf(ci.client, sizeof ci.client, "tab-0123456789abcdef");
    closed_log_add_info(lg, &ci, CLOSE_CLIENT_CLOSED, 11);
    struct conn *c = conn_create(CONN_DISPLAY, "lobby", NULL, false);
    closed_log_add(lg, c, CLOSE_SUPERSEDED, 12);
    struct closed_info *v;
    uint64_t totals[CLOSE_REASONS];
    ck_assert_int_eq(closed_log_copy(lg, &v, totals), 3);
    ck_assert_str_eq(v[0].node, "");
    ck_assert_str_eq(v[0].name, "lobby");
    ck_assert_str_eq(v[1].node, ci.node);          /* boxed, whole */
    ck_assert_str_eq(v[1].client, "tab-0123456789abcdef");
    ck_assert_str_eq(v[2].node, "node-2");
    ck_assert_str_eq(v[2].name, "alice");
    ck_assert_str_eq(v[2].client, "");
    ck_assert_int_eq(v[2].reason, CLOSE_NODE_LOST);
    free(v);
    conn_free(c);
    closed_log_free(lg);
}
END_TEST

Suite *closed_log_suite(void)
{
    Suite *s = suite_create("closed_log");
    UNIT_TEST(s, closed_log_keeps_the_newest);
    UNIT_TEST(s, closed_log_keeps_the_node);
    return s;
}
