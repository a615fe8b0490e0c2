/* tests/unit/cluster_wire.c -- what the nodes of a cluster write to Redis
 * and read back (src/cluster_wire.c).  The Lua scripts run against a real
 * redis-server in the cluster suite (tests/integration/cluster.mjs). */
#include "unit.h"

#include "cluster_wire.h"

static struct conn_info sample(void)
{
    struct conn_info ci = { .type = CONN_ADMIN, .ack = true, .stale = true,
                            .connected_at_ms = 1796665691741LL, .last_ping_ms = 1796665692741LL,
                            .last_ack_ms = 1796665692751LL, .last_ack_rtt_ms = 10,
                            .events_sent = 7, .events_queued = 8, .bytes_sent = 4096 };
    snprintf(ci.public_id, sizeof ci.public_id, "c-0123456789abcdef");
    snprintf(ci.name, sizeof ci.name, "al\"ice|x");
    snprintf(ci.client, sizeof ci.client, "tab-1");
    snprintf(ci.node, sizeof ci.node, "ignored");
    return ci;
}

START_TEST(wire_names)
{
    char k[WIRE_KEY_MAX], claim[CONN_NAME_MAX + CONN_CLIENT_MAX + 4];
    wire_alive_key(k, "n-1");
    ck_assert_str_eq(k, "sse:alive:n-1");
    wire_node_key(k, "n-1", NULL);
    ck_assert_str_eq(k, "sse:node:n-1");
    wire_node_key(k, "n-1", ":u");
    ck_assert_str_eq(k, "sse:node:n-1:u");
    wire_cmd_channel(k, "n-1");
    ck_assert_str_eq(k, "sse:cmd:n-1");
    wire_claim(claim, sizeof claim, CONN_DISPLAY, "lobby", "");
    ck_assert_str_eq(claim, "d:lobby");
    wire_claim(claim, sizeof claim, CONN_ADMIN, "alice", "tab-1");
    ck_assert_str_eq(claim, "a:alice\ntab-1");
    wire_claim(claim, sizeof claim, CONN_ADMIN, "alice", "");
    ck_assert_str_eq(claim, "");                        /* supersedes nothing */
}
END_TEST

START_TEST(wire_connection_round_trip)
{
    struct conn_info ci = sample();
    char th[MIRROR_HASH_LEN + 1];
    memset(th, 'a', MIRROR_HASH_LEN);
    th[MIRROR_HASH_LEN] = '\0';
    char *json = wire_conn_json(&ci, th, "10.0.0.7");
    ck_assert_ptr_nonnull(json);
    ck_assert(strstr(json, "tab-1") != NULL);
    struct mirror_conn mc;
    ck_assert(wire_conn_parse(json, strlen(json), "n-2", &mc));
    ck_assert_str_eq(mc.info.public_id, ci.public_id);
    ck_assert_str_eq(mc.info.node, "n-2");              /* the owner's name, not the text's */
    ck_assert_str_eq(mc.info.name, ci.name);
    ck_assert_str_eq(mc.info.client, "tab-1");
    ck_assert_int_eq(mc.info.type, CONN_ADMIN);
    ck_assert(mc.info.ack && mc.info.stale);
    ck_assert_int_eq(mc.info.connected_at_ms, ci.connected_at_ms);
    ck_assert_int_eq(mc.info.last_ack_rtt_ms, 10);
    ck_assert_uint_eq(mc.info.events_sent, 7);
    ck_assert_uint_eq(mc.info.events_queued, 8);
    ck_assert_uint_eq(mc.info.bytes_sent, 4096);
    ck_assert_str_eq(mc.token_hash, th);
    ck_assert_str_eq(mc.addr, "10.0.0.7");
    free(json);

    /* no client id, no address: null, and back to "" */
    ci.client[0] = '\0';
    ci.type = CONN_DISPLAY;
    json = wire_conn_json(&ci, "", "");
    ck_assert(strstr(json, "\"client\":null") != NULL);
    ck_assert(wire_conn_parse(json, strlen(json), "n-2", &mc));
    ck_assert_str_eq(mc.info.client, "");
    ck_assert_str_eq(mc.addr, "");
    ck_assert_int_eq(mc.info.type, CONN_DISPLAY);
    free(json);

    /* what is not one: refused, never half read */
    const char *bad[] = {
        "", "[]", "{", "{\"id\":\"c-1\",\"type\":\"robot\"}", "{\"type\":\"admin\"}",
        "{\"id\":\"\",\"type\":\"admin\"}",
        "{\"id\":\"c-0123456789abcdef-and-far-too-long\",\"type\":\"admin\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!wire_conn_parse(bad[i], strlen(bad[i]), "n", &mc), "took %s", bad[i]);
    char big[CONN_NAME_MAX + 64];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    char text[sizeof big + 64];
    snprintf(text, sizeof text, "{\"id\":\"c-1\",\"type\":\"admin\",\"name\":\"%s\"}", big);
    ck_assert(!wire_conn_parse(text, strlen(text), "n", &mc));      /* a name too long */
}
END_TEST

/* What wire_change_script makes of a change: its number in front. */
static char *numbered(uint64_t q, const char *change)
{
    size_t n = strlen(change) + 32;
    char *s = malloc(n);
    snprintf(s, n, "{\"q\":%llu,%s", (unsigned long long)q, change + 1);
    return s;
}

START_TEST(wire_change_round_trip)
{
    struct conn_info ci = sample();
    char *conn = wire_conn_json(&ci, "ab", "10.0.0.7");
    char *open = wire_change_json("n-3", 'o', conn, CLOSE_NONE, 5);
    char *closed = wire_change_json("n-3", 'c', conn, CLOSE_SUPERSEDED, 6);
    char *reload = wire_change_json("n-3", 'r', NULL, CLOSE_NONE, 7);
    char *lost = wire_change_json("n-4", 'l', NULL, CLOSE_NODE_LOST, 8);
    ck_assert(open && closed && reload && lost);
    ck_assert_int_eq(open[0], '{');                     /* the script relies on it */

    struct wire_change ch;
    ck_assert(wire_change_parse(open, strlen(open), &ch));
    ck_assert_uint_eq(ch.q, 0);                         /* not numbered yet */
    ck_assert_int_eq(ch.kind, 'o');
    ck_assert_str_eq(ch.node, "n-3");
    ck_assert_str_eq(ch.conn.info.node, "n-3");
    ck_assert_str_eq(ch.conn.info.public_id, ci.public_id);
    ck_assert_str_eq(ch.conn.token_hash, "ab");
    ck_assert_int_eq(ch.at_ms, 5);

    char *q = numbered(1043, closed);
    ck_assert(wire_change_parse(q, strlen(q), &ch));
    ck_assert_uint_eq(ch.q, 1043);
    ck_assert_int_eq(ch.kind, 'c');
    ck_assert_int_eq(ch.reason, CLOSE_SUPERSEDED);
    free(q);

    q = numbered(1044, reload);
    ck_assert(wire_change_parse(q, strlen(q), &ch));
    ck_assert_int_eq(ch.kind, 'r');
    ck_assert_uint_eq(ch.q, 1044);
    free(q);
    ck_assert(wire_change_parse(lost, strlen(lost), &ch));
    ck_assert_int_eq(ch.kind, 'l');
    ck_assert_str_eq(ch.node, "n-4");

    const char *bad[] = {
        "{}", "{\"node\":\"n\",\"k\":\"x\"}", "{\"node\":\"n\",\"k\":\"rr\"}", "{\"node\":\"\",\"k\":\"r\"}",
        "{\"node\":\"n\",\"k\":\"o\"}",                                  /* no connection */
        "{\"node\":\"n\",\"k\":\"c\",\"r\":\"bored\",\"c\":{\"id\":\"c-1\",\"type\":\"admin\"}}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!wire_change_parse(bad[i], strlen(bad[i]), &ch), "took %s", bad[i]);
    free(conn);
    free(open);
    free(closed);
    free(reload);
    free(lost);
}
END_TEST

START_TEST(wire_command_round_trip)
{
    struct wire_cmd c = { .reason = CLOSE_DISCONNECT_ROUTE, .seq = 9, .req = 12, .result = -2 };
    snprintf(c.op, sizeof c.op, "close");
    snprintf(c.public_id, sizeof c.public_id, "c-0123456789abcdef");
    snprintf(c.from, sizeof c.from, "n-1");
    char *json = wire_cmd_json(&c);
    struct wire_cmd back;
    ck_assert(wire_cmd_parse(json, strlen(json), &back));
    ck_assert_str_eq(back.op, "close");
    ck_assert_str_eq(back.public_id, c.public_id);
    ck_assert_str_eq(back.from, "n-1");
    ck_assert_int_eq(back.reason, CLOSE_DISCONNECT_ROUTE);
    ck_assert_uint_eq(back.seq, 9);
    ck_assert_uint_eq(back.req, 12);
    ck_assert_int_eq(back.result, -2);
    free(json);
    ck_assert(!wire_cmd_parse("{\"op\":\"far-too-long-an-op\"}", 27, &back));
    ck_assert(!wire_cmd_parse("[1]", 3, &back));
    ck_assert_int_eq(wire_reason("node_lost"), CLOSE_NODE_LOST);
    ck_assert_int_eq(wire_reason("nonsense"), CLOSE_NONE);
}
END_TEST

START_TEST(wire_filter_round_trip)
{
    char text[2 * CONN_NAME_MAX + 16], buf[2 * CONN_NAME_MAX + 16];
    struct filter f = { .type = CONN_ADMIN, .user = "a|b" }, back;
    wire_filter(text, sizeof text, &f);
    wire_filter_parse(text, buf, sizeof buf, &back);
    ck_assert_int_eq(back.type, CONN_ADMIN);
    ck_assert_str_eq(back.user, "a|b");                 /* a user's name may hold '|' */
    ck_assert_ptr_null(back.display);
    struct filter d = { .type = -1, .display = "lobby" };
    wire_filter(text, sizeof text, &d);
    wire_filter_parse(text, buf, sizeof buf, &back);
    ck_assert_int_eq(back.type, -1);
    ck_assert_str_eq(back.display, "lobby");
    ck_assert_ptr_null(back.user);
    wire_filter(text, sizeof text, NULL);               /* everyone */
    wire_filter_parse(text, buf, sizeof buf, &back);
    ck_assert_int_eq(back.type, -1);
    ck_assert_ptr_null(back.display);
    ck_assert_ptr_null(back.user);
    wire_filter_parse("7|x|y", buf, sizeof buf, &back);  /* no such type: everyone's */
    ck_assert_int_eq(back.type, -1);
}
END_TEST

Suite *cluster_wire_suite(void)
{
    Suite *s = suite_create("cluster_wire");
    UNIT_TEST(s, wire_names);
    UNIT_TEST(s, wire_connection_round_trip);
    UNIT_TEST(s, wire_change_round_trip);
    UNIT_TEST(s, wire_command_round_trip);
    UNIT_TEST(s, wire_filter_round_trip);
    return s;
}
