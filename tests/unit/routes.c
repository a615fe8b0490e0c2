/* tests/unit/routes.c -- route matching and stream queries (src/routes.c). */
#include "unit.h"

#include "conn.h"
#include "routes.h"

static const char *P = "/api/v1/events";

START_TEST(route_path_nginx_and_lighttpd)
{
    char buf[256];
    /* nginx: DOCUMENT_URI is the decoded path, REQUEST_URI raw with query */
    ck_assert_str_eq(routes_path("/api/v1/events/stats", "/api/v1/events/stats", NULL,
                                 "/api/v1/events/stats?x=1", buf, sizeof buf),
                     "/api/v1/events/stats");
    /* lighttpd: SCRIPT_NAME + PATH_INFO, no DOCUMENT_URI */
    ck_assert_str_eq(routes_path(NULL, "/api/v1/events", "/display/lobby",
                                 "/api/v1/events/display/lobby?a", buf, sizeof buf),
                     "/api/v1/events/display/lobby");
    ck_assert_str_eq(routes_path("", "/api/v1/events/admin", "", NULL, buf, sizeof buf),
                     "/api/v1/events/admin");
    /* only REQUEST_URI: query cut, %XX decoded */
    ck_assert_str_eq(routes_path(NULL, NULL, NULL, "/api/v1/events/disp%6Cay/a?q=%00",
                                 buf, sizeof buf),
                     "/api/v1/events/display/a");
    ck_assert_ptr_null(routes_path(NULL, NULL, NULL, "/a%00b", buf, sizeof buf));
    ck_assert_ptr_null(routes_path(NULL, NULL, NULL, "/a%zz", buf, sizeof buf));
    ck_assert_ptr_null(routes_path(NULL, NULL, NULL, NULL, buf, sizeof buf));
    ck_assert_ptr_null(routes_path("/0123456789", NULL, NULL, NULL, buf, 8));
}
END_TEST

START_TEST(route_matching)
{
    struct route r;
    routes_match(P, "/api/v1/events/admin", &r);
    ck_assert_int_eq(r.id, ROUTE_ADMIN_STREAM);
    ck_assert_str_eq(r.allow, "GET");
    ck_assert(r.admin);
    routes_match(P, "/api/v1/events/disconnect", &r);
    ck_assert_int_eq(r.id, ROUTE_DISCONNECT);
    ck_assert_str_eq(r.allow, "POST");
    ck_assert(!r.admin);
    routes_match(P, "/api/v1/events/stats", &r);
    ck_assert_int_eq(r.id, ROUTE_STATS);
    routes_match(P, "/api/v1/events/test", &r);
    ck_assert_int_eq(r.id, ROUTE_TEST);
    routes_match(P, "/api/v1/events/publish", &r);
    ck_assert_int_eq(r.id, ROUTE_PUBLISH);
    routes_match(P, "/api/v1/events/display/lobby-1.A_b", &r);
    ck_assert_int_eq(r.id, ROUTE_DISPLAY_STREAM);
    ck_assert(!r.admin);
    ck_assert(!r.bad_name);
    ck_assert_str_eq(r.name, "lobby-1.A_b");
    routes_match(P, "/api/v1/events/display/bad name", &r);
    ck_assert_int_eq(r.id, ROUTE_DISPLAY_STREAM);
    ck_assert(r.bad_name);
    routes_match(P, "/api/v1/events/display/", &r);
    ck_assert(r.bad_name);
    routes_match(P, "/api/v1/events/display/a/b", &r);
    ck_assert(r.bad_name);
    const char *misses[] = { "/api/v1/events", "/api/v1/events/", "/api/v1/events/stats/",
                             "/api/v1/eventsstats", "/other/stats", "/api/v1/events/Stats",
                             "/api/v1/events/display" };
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        routes_match(P, misses[i], &r);
        ck_assert_msg(r.id == ROUTE_NOT_FOUND, "%s matched", misses[i]);
    }
    routes_match("", "/stats", &r);             /* --prefix / */
    ck_assert_int_eq(r.id, ROUTE_STATS);
}
END_TEST

START_TEST(route_names)
{
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    ck_assert(routes_valid_name("a", 1));
    ck_assert(routes_valid_name(long_name, 64));
    ck_assert(!routes_valid_name(long_name, 65));
    ck_assert(!routes_valid_name("", 0));
    ck_assert(!routes_valid_name("a/b", 3));
    ck_assert(!routes_valid_name("a b", 3));
    ck_assert(!routes_valid_name("\xc3\xa9", 2));
}
END_TEST

START_TEST(stream_queries)
{
    struct stream_query q;
    const char *err;
    ck_assert_int_eq(routes_stream_query(NULL, &q, &err), 0);
    ck_assert(!q.ack);
    ck_assert_str_eq(q.client, "");
    ck_assert_int_eq(routes_stream_query("ack=1&client=tab-1.x&other=%zz", &q, &err), 0);
    ck_assert(q.ack);
    ck_assert_str_eq(q.client, "tab-1.x");
    ck_assert_int_eq(routes_stream_query("client=a%2Db&ack=true&ack=0&lastEventId=42", &q, &err), 0);
    ck_assert(!q.ack);
    ck_assert_str_eq(q.client, "a-b");
    ck_assert(q.has_last_event_id);
    ck_assert_uint_eq(q.last_event_id, 42);
    ck_assert_int_eq(routes_stream_query("&&x&=1&", &q, &err), 0);
    const char *bad[] = { "ack=2", "ack=", "client=", "client=a%20b", "client=a%2", "client=%00",
                          "lastEventId=x", "lastEventId=-1", "lastEventId=", "lastEventId=99999999999999999999999",
                          "client=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        ck_assert_msg(routes_stream_query(bad[i], &q, &err) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
}
END_TEST

START_TEST(event_ids)
{
    unsigned long long id = 7;
    ck_assert(routes_decimal("0", &id) && id == 0);
    ck_assert(routes_decimal("1796040245123", &id) && id == 1796040245123ULL);
    ck_assert(routes_decimal("18446744073709551615", &id) && id == 18446744073709551615ULL);
    const char *bad[] = { NULL, "", "18446744073709551616", "-1", "+1", " 1", "1 ", "1a", "0x10" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        id = 7;
        ck_assert_msg(!routes_decimal(bad[i], &id), "accepted %s", bad[i] ? bad[i] : "NULL");
        ck_assert_uint_eq(id, 7);
    }
}
END_TEST

START_TEST(stats_queries)
{
    struct stats_query q;
    const char *err;
    ck_assert_int_eq(routes_stats_query(NULL, &q, &err), 0);
    ck_assert(!q.summary && !q.paged);
    ck_assert_int_eq(q.type, -1);
    ck_assert_int_eq(q.state, -1);
    ck_assert_uint_eq(q.limit, STATS_PAGE_DEFAULT);
    ck_assert_int_eq(routes_stats_query("summary=1", &q, &err), 0);
    ck_assert(q.summary && !q.paged);
    ck_assert_int_eq(routes_stats_query("limit=50&offset=100&type=display&state=stale&q=Lob%20by",
                                        &q, &err), 0);
    ck_assert(q.paged);
    ck_assert_uint_eq(q.limit, 50);
    ck_assert_uint_eq(q.offset, 100);
    ck_assert_int_eq(q.type, CONN_DISPLAY);
    ck_assert_int_eq(q.state, 1);
    ck_assert_str_eq(q.text, "Lob by");
    ck_assert_int_eq(routes_stats_query("q=x", &q, &err), 0);          /* a filter alone pages */
    ck_assert(q.paged);
    ck_assert_int_eq(routes_stats_query("x=1&monitor=1", &q, &err), 0);  /* unknown: ignored */
    ck_assert(!q.paged);
    char long_q[200];
    snprintf(long_q, sizeof long_q, "q=%0129d", 0);
    const char *bad[] = { "limit=0", "limit=1001", "limit=x", "limit=", "offset=-1", "type=kiosk",
                          "state=dead", "summary=2", "q=a%00b", long_q };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err = NULL;
        ck_assert_msg(routes_stats_query(bad[i], &q, &err) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
    struct stream_query sq;
    ck_assert_int_eq(routes_stream_query("monitor=1&ack=true", &sq, &err), 0);
    ck_assert(sq.monitor && sq.ack);
    ck_assert_int_eq(routes_stream_query("monitor=yes", &sq, &err), -1);
}
END_TEST

START_TEST(routes_query_value_key)
{
    char out[17];
    ck_assert_int_eq(routes_query_value(NULL, "key", out, sizeof out), ROUTES_QUERY_ABSENT);
    ck_assert_int_eq(routes_query_value("", "key", out, sizeof out), ROUTES_QUERY_ABSENT);
    ck_assert_int_eq(routes_query_value("keys=a&ke=b&k%65y=c", "key", out, sizeof out), 1);
    ck_assert_str_eq(out, "c");                         /* the name decoded too */
    ck_assert_int_eq(routes_query_value("client=x&key=a%2Bb+c%26d&ack=1", "key", out, sizeof out), 7);
    ck_assert_str_eq(out, "a+b c&d");
    ck_assert_int_eq(routes_query_value("key=first&key=last", "key", out, sizeof out), 4);
    ck_assert_str_eq(out, "last");                      /* the last counts */
    ck_assert_int_eq(routes_query_value("key", "key", out, sizeof out), 0);
    ck_assert_int_eq(routes_query_value("key=", "key", out, sizeof out), 0);
    ck_assert_int_eq(routes_query_value("key=0123456789abcdef", "key", out, sizeof out), 16);
    ck_assert_int_eq(routes_query_value("key=0123456789abcdefg", "key", out, sizeof out),
                     ROUTES_QUERY_BAD);                 /* longer than the room */
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(routes_query_value("key=%zz", "key", out, sizeof out), ROUTES_QUERY_BAD);
    ck_assert_int_eq(routes_query_value("key=a%00b", "key", out, sizeof out), ROUTES_QUERY_BAD);
    ck_assert_int_eq(routes_query_value("key=%zz&key=ok", "key", out, sizeof out), 2);
    ck_assert_int_eq(routes_query_value("key=ok&key=%zz", "key", out, sizeof out), ROUTES_QUERY_BAD);
}
END_TEST

Suite *routes_suite(void)
{
    Suite *s = suite_create("routes");
    UNIT_TEST(s, routes_query_value_key);
    UNIT_TEST(s, route_path_nginx_and_lighttpd);
    UNIT_TEST(s, route_matching);
    UNIT_TEST(s, route_names);
    UNIT_TEST(s, stream_queries);
    UNIT_TEST(s, event_ids);
    UNIT_TEST(s, stats_queries);
    return s;
}
