/* tests/unit/proto.c -- the protocol's own events (src/proto.c). */
#include "unit.h"

#include "proto.h"

#define T0 1796040245123LL          /* 2026-11-30T12:04:05.123Z */

START_TEST(proto_connected_event)
{
    struct conn *c = conn_create(CONN_DISPLAY, "lobby", "kiosk-1", true);
    ck_assert_ptr_nonnull(c);
    c->start_id = 42;
    char buf[PROTO_EVENT_MAX];
    long n = proto_connected(buf, sizeof buf, c, NULL, 5000, 3000, T0);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    ck_assert_msg(strncmp(buf, "retry: 3000\nid: 42\nevent: connected\ndata: {", 42) == 0, "%s", buf);
    char want[512];
    snprintf(want, sizeof want,
             "{\"message\":\"SSE connection established\",\"connection_id\":\"%s\","
             "\"connection_type\":\"display\",\"public_id\":\"%s\",\"ack\":true,\"monitor\":false,"
             "\"heartbeat_ms\":5000,\"stale_after_heartbeats\":2,\"close_after_heartbeats\":3,"
             "\"client\":\"kiosk-1\",\"timestamp\":\"2026-11-30T12:04:05.123Z\"}\n\n",
             c->token, c->public_id);
    ck_assert_str_eq(buf + 42, want);
    /* no client id: null; too small a buffer: refused */
    struct conn *a = conn_create(CONN_ADMIN, "alice", NULL, false);
    n = proto_connected(buf, sizeof buf, a, "node-2", 1000, 3000, T0);
    ck_assert_int_gt(n, 0);
    ck_assert(strstr(buf, "\"client\":null,\"node\":\"node-2\",") != NULL);  /* a cluster's */
    ck_assert(strstr(buf, "\"connection_type\":\"admin\"") != NULL);
    ck_assert(strstr(buf, "\nid: 0\n") == NULL);            /* id 0: no id line */
    ck_assert_int_eq(proto_connected(buf, 100, a, NULL, 1000, 3000, T0), -1);
    conn_free(a);
    conn_free(c);
}
END_TEST

START_TEST(proto_ping_and_reset)
{
    char buf[PROTO_EVENT_MAX];
    ck_assert_int_gt(proto_ping(buf, sizeof buf, 0, T0), 0);
    ck_assert_str_eq(buf, "event: ping\ndata: {\"message\":\"keep-alive\","
                          "\"timestamp\":\"2026-11-30T12:04:05.123Z\"}\n\n");
    ck_assert_int_gt(proto_ping(buf, sizeof buf, 7, T0), 0);
    ck_assert_str_eq(buf, "event: ping\ndata: {\"message\":\"keep-alive\",\"seq\":7,"
                          "\"timestamp\":\"2026-11-30T12:04:05.123Z\"}\n\n");
    ck_assert_int_gt(proto_reset(buf, sizeof buf, T0), 0);
    ck_assert(strncmp(buf, "event: reset\ndata: {\"message\":", 30) == 0);
    ck_assert_int_eq(proto_ping(buf, 20, 1, T0), -1);
}
END_TEST

START_TEST(proto_farewells)
{
    static const struct { enum close_reason r; const char *event, *reason; } said[] = {
        { CLOSE_SHUTDOWN, "shutdown", "shutdown" },
        { CLOSE_SUPERSEDED, "superseded", "superseded" },
        { CLOSE_ADMIN_CLOSED, "closed", "admin_closed" },
        { CLOSE_ACK_TIMEOUT, "closed", "ack_timeout" },
        { CLOSE_DISCONNECT_ROUTE, "closed", "disconnect_route" },
    };
    char buf[PROTO_EVENT_MAX], want[128];
    for (size_t i = 0; i < sizeof said / sizeof *said; i++) {
        ck_assert_int_gt(proto_farewell(buf, sizeof buf, said[i].r, T0), 0);
        snprintf(want, sizeof want, "event: %s\ndata: {\"message\":", said[i].event);
        ck_assert_msg(strncmp(buf, want, strlen(want)) == 0, "%s", buf);
        snprintf(want, sizeof want, ",\"reason\":\"%s\",", said[i].reason);
        ck_assert_msg(strstr(buf, want) != NULL, "%s", buf);
    }
    /* nobody left to read it */
    static const enum close_reason silent[] = { CLOSE_CLIENT_CLOSED, CLOSE_WRITE_FAILED,
                                                CLOSE_SLOW_CONSUMER };
    for (size_t i = 0; i < sizeof silent / sizeof *silent; i++)
        ck_assert_int_eq(proto_farewell(buf, sizeof buf, silent[i], T0), 0);
}
END_TEST

Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    UNIT_TEST(s, proto_connected_event);
    UNIT_TEST(s, proto_ping_and_reset);
    UNIT_TEST(s, proto_farewells);
    return s;
}
