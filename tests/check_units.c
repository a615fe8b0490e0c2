/* check_units.c -- unit suites for the pure modules and the registry. */
#include "autoconf.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "displays.h"
#include "event.h"
#include "history.h"
#include "jsonw.h"
#include "options.h"
#include "registry.h"
#include "routes.h"
#include "sse.h"
#include "stats.h"
#include "timeutil.h"
#include "token.h"
#include "window.h"

/* ---- SSE encoder ------------------------------------------------------- */

static char *encode(const struct sse_event *ev)
{
    static char buf[4096];
    long n = sse_encode(buf, sizeof buf, ev);
    ck_assert_int_ge(n, 0);
    ck_assert_int_lt(n, (long)sizeof buf);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    return buf;
}

START_TEST(sse_full_event)
{
    struct sse_event ev = { .id = 42, .name = "system.test_event", .data = "{\"a\":1}",
                            .data_len = 7, .retry_ms = 3000 };
    ck_assert_str_eq(encode(&ev),
                     "retry: 3000\nid: 42\nevent: system.test_event\ndata: {\"a\":1}\n\n");
}
END_TEST

START_TEST(sse_multiline_data)
{
    const char *d = "one\ntwo\r\nthree\rfour";
    struct sse_event ev = { .name = "x", .data = d, .data_len = strlen(d) };
    ck_assert_str_eq(encode(&ev),
                     "event: x\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
}
END_TEST

START_TEST(sse_trailing_newline_and_empty)
{
    struct sse_event ev = { .data = "a\n", .data_len = 2 };
    ck_assert_str_eq(encode(&ev), "data: a\ndata: \n\n");
    struct sse_event empty = { 0 };
    ck_assert_str_eq(encode(&empty), "data: \n\n");
}
END_TEST

START_TEST(sse_bad_names)
{
    char buf[64];
    struct sse_event ev = { .name = "a\nb" };
    ck_assert_int_eq(sse_encode(buf, sizeof buf, &ev), -1);
    ev.name = "a\rb";
    ck_assert_int_eq(sse_encode(buf, sizeof buf, &ev), -1);
    ev.name = "";
    ck_assert_int_eq(sse_encode(buf, sizeof buf, &ev), -1);
}
END_TEST

START_TEST(sse_measure_and_truncate)
{
    struct sse_event ev = { .name = "ping", .data = "0123456789", .data_len = 10 };
    long need = sse_encode(NULL, 0, &ev);
    ck_assert_int_eq(need, (long)strlen("event: ping\ndata: 0123456789\n\n"));
    char small[8];
    memset(small, 'Z', sizeof small);
    ck_assert_int_eq(sse_encode(small, sizeof small, &ev), need);  /* too small: says so */
    struct event *e = event_create(&ev);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(event_len(e), (size_t)need);
    ck_assert_str_eq(event_text(e), "event: ping\ndata: 0123456789\n\n");
    event_unref(event_ref(e));
    event_unref(e);
    event_unref(NULL);
}
END_TEST

/* ---- JSON writer --------------------------------------------------------- */

static void collect(void *ctx, const char *data, size_t len)
{
    strncat(ctx, data, len);
}

START_TEST(jsonw_writes)
{
    static char out[65536];
    out[0] = '\0';
    static char buf[JW_STREAM_BUF];
    struct jw w;
    jw_init(&w, buf, sizeof buf, collect, out);
    jw_lit(&w, "[");
    jw_str(&w, "a\"b\\c\n\r\t\b\f\x01\x1f/\xc3\xa9");
    jw_lit(&w, ",");
    jw_u64(&w, 0);
    jw_lit(&w, ",");
    jw_u64(&w, UINT64_MAX);
    jw_lit(&w, ",");
    jw_i64(&w, INT64_MIN);
    jw_lit(&w, ",");
    jw_i64(&w, -42);
    jw_lit(&w, ",");
    jw_bool(&w, true);
    jw_lit(&w, ",");
    jw_str(&w, NULL);
    jw_lit(&w, ",{");
    jw_key(&w, "k");
    jw_bool(&w, false);
    jw_lit(&w, "}]");
    jw_flush(&w);
    ck_assert_str_eq(out, "[\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f/\xc3\xa9\","
                          "0,18446744073709551615,-9223372036854775808,-42,true,null,{\"k\":false}]");
    /* more than its buffer: passed on in order */
    out[0] = '\0';
    jw_init(&w, buf, sizeof buf, collect, out);
    for (int i = 0; i < 5000; i++)
        jw_lit(&w, "0123456789");
    jw_flush(&w);
    ck_assert_uint_eq(strlen(out), 50000);
}
END_TEST

START_TEST(jsonw_bounded)
{
    char small[16];
    struct jw w;
    jw_init(&w, small, sizeof small, NULL, NULL);
    jw_lit(&w, "{");
    jw_key(&w, "k");
    jw_str(&w, "v\n");
    jw_lit(&w, "}");
    jw_flush(&w);                   /* bounded: nothing to hand on */
    ck_assert(!w.overflow);
    ck_assert_uint_eq(w.len, 11);
    ck_assert(memcmp(small, "{\"k\":\"v\\n\"}", 11) == 0);
    /* exactly full still fits; one byte more is flagged, and stays so */
    jw_lit(&w, "01234");
    ck_assert(!w.overflow);
    ck_assert_uint_eq(w.len, 16);
    jw_lit(&w, "x");
    ck_assert(w.overflow);
    ck_assert_uint_eq(w.len, 16);
    jw_init(&w, small, sizeof small, NULL, NULL);
    jw_str(&w, "a string longer than the buffer");
    ck_assert(w.overflow);
    ck_assert_uint_eq(w.len, 1);    /* the opening quote; the closing one dropped too */
    /* after a dropped write, a short one that would fit is dropped as well */
    jw_init(&w, small, sizeof small, NULL, NULL);
    jw_lit(&w, "0123456789");
    jw_lit(&w, "abcdefgh");
    jw_lit(&w, "z");
    ck_assert(w.overflow);
    ck_assert_uint_eq(w.len, 10);
}
END_TEST

/* ---- window -------------------------------------------------------------- */

START_TEST(window_slides)
{
    struct window *w = window_create();
    window_add(w, 1000, 5);
    window_add(w, 1001, 2);
    ck_assert_uint_eq(window_sum(w, 1001), 7);
    ck_assert_uint_eq(window_sum(w, 1000 + WINDOW_SECONDS - 1), 7);
    ck_assert_uint_eq(window_sum(w, 1000 + WINDOW_SECONDS), 2);    /* second 1000 left */
    ck_assert_uint_eq(window_sum(w, 1001 + WINDOW_SECONDS), 0);
    window_add(w, 50000, 3);
    window_add(w, 49000, 4);                                          /* late: counted now */
    ck_assert_uint_eq(window_sum(w, 50000), 7);
    ck_assert_uint_eq(window_sum(w, 50000 + 10 * WINDOW_SECONDS), 0);
    window_free(w);
    window_free(NULL);
}
END_TEST

/* ---- tokens and time ------------------------------------------------------ */

START_TEST(token_shape_and_uniqueness)
{
    char a[TOKEN_LEN + 1], b[TOKEN_LEN + 1], p[PUBLIC_ID_LEN + 1];
    ck_assert_int_eq(token_new(a), 0);
    ck_assert_int_eq(token_new(b), 0);
    ck_assert(token_is_wellformed(a, strlen(a)));
    ck_assert_int_eq(a[14], '4');                           /* version 4 */
    ck_assert(strchr("89ab", a[19]) != NULL);               /* RFC 4122 variant */
    ck_assert(!token_equal(a, b));
    ck_assert(token_equal(a, a));
    ck_assert_int_eq(token_public_id(p), 0);
    ck_assert_uint_eq(strlen(p), PUBLIC_ID_LEN);
    ck_assert(strncmp(p, "c-", 2) == 0);
    ck_assert(!token_is_wellformed(p, strlen(p)));
    ck_assert(!token_is_wellformed("0000000-0000-4000-8000-0000000000000", 36));
    ck_assert(!token_is_wellformed("00000000-0000-4000-8000-00000000000G", 36));
    ck_assert(!token_is_wellformed("00000000-0000-4000-8000-00000000000", 35));
}
END_TEST

START_TEST(time_iso)
{
    char buf[TIME_ISO_LEN];
    ck_assert_str_eq(time_iso8601(buf, 0), "1970-01-01T00:00:00.000Z");
    ck_assert_str_eq(time_iso8601(buf, 999), "1970-01-01T00:00:00.999Z");    /* cached second */
    ck_assert_str_eq(time_iso8601(buf, -1), "1969-12-31T23:59:59.999Z");
    ck_assert_str_eq(time_iso8601(buf, 1796040245123LL), "2026-11-30T12:04:05.123Z");
}
END_TEST

/* ---- routes -------------------------------------------------------------- */

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

START_TEST(route_content_types)
{
    ck_assert(routes_json_content_type(NULL));
    ck_assert(routes_json_content_type(""));
    ck_assert(routes_json_content_type("application/json"));
    ck_assert(routes_json_content_type("Application/JSON; charset=utf-8"));
    ck_assert(routes_json_content_type("text/plain;charset=UTF-8"));
    ck_assert(!routes_json_content_type("application/x-www-form-urlencoded"));
    ck_assert(!routes_json_content_type("text/plain2"));
    ck_assert(!routes_json_content_type("multipart/form-data; boundary=x"));
}
END_TEST

/* ---- request bodies ------------------------------------------------------ */

static void body_fails(const char *text, size_t len, const char *expect)
{
    const char *err = NULL;
    struct json_object *o = routes_parse_body(text, len, &err);
    ck_assert_msg(o == NULL, "accepted: %.*s", (int)len, text);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, expect) != NULL, "'%s' lacks '%s'", err, expect);
}

START_TEST(body_parse_errors)
{
    body_fails("", 0, "empty");
    body_fails(" \n", 2, "empty");
    body_fails("{\"a\":", 5, "Malformed");
    body_fails("{\"a\":1} x", 9, "Malformed");
    body_fails("[1,2]", 5, "JSON object");
    body_fails("\"s\"", 3, "JSON object");
    body_fails("{\"a\":\"\xff\xfe\"}", 10, "UTF-8");
    body_fails("{\"a\":1}\0{}", 10, "NUL");
    body_fails("{\"a\":'x'}", 9, "Malformed");
    /* what json-c lets through and JSON (or C strings) do not */
    const char *not_json[] = {
        "{\"a\":\"\xc0\xaf\"}",                 /* overlong '/' */
        "{\"a\":\"\xed\xa0\x80\"}",            /* a surrogate */
        "{\"a\":\"\xf4\x90\x80\x80\"}",       /* past U+10FFFF */
        "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"\xe2\x82\"}",                 /* cut short */
        "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}",
        "{\"a\":1.}", "{\"a\":-01}", "{\"a\":01}", "{\"a\":.5}", "{\"a\":1e}",
        "{\"a\":\"x\ty\"}",                       /* raw tab in a string */
        "{\"connection_id\":\"\\u0000abc\"}",   /* cut short as a C string */
        "{\"a\":nul}", "{\"a\":True}",
        "{'a':0}", "{':0\"':0}", "{\"a\":0,'b':1}",   /* json-c takes single-quoted keys */
        "{\"a\":0;}", "{\"a\":0}\x01", "{\"a\":\xc3\xa9}",  /* bytes JSON has only in strings */
    };
    for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++)
        body_fails(not_json[i], strlen(not_json[i]), "Malformed");
    const char *fine[] = { "{\"a\":-0.5e+10}", "{\"a\":[true,false,null,0,-0,1E3]}",
                           "{\"a\":\"\xe2\x82\xac \xf0\x9f\x98\x80 \\u00e9 \\\"\"}" };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        const char *err = NULL;
        struct json_object *o = routes_parse_body(fine[i], strlen(fine[i]), &err);
        ck_assert_msg(o != NULL, "refused %s: %s", fine[i], err);
        json_object_put(o);
    }
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        deep[n++] = '[';
    for (int i = 0; i < 60; i++)
        deep[n++] = ']';
    char wrapped[256];
    snprintf(wrapped, sizeof wrapped, "{\"a\":%.*s}", (int)n, deep);
    body_fails(wrapped, strlen(wrapped), "deep");
}
END_TEST

static struct json_object *parse_ok(const char *text)
{
    const char *err = NULL;
    struct json_object *o = routes_parse_body(text, strlen(text), &err);
    ck_assert_msg(o != NULL, "rejected %s: %s", text, err);
    return o;
}

START_TEST(body_disconnect)
{
    const char *id, *err;
    struct json_object *o = parse_ok("{\"connection_id\": \"abc\"}");
    ck_assert_int_eq(routes_disconnect_body(o, &id, &err), 0);
    ck_assert_str_eq(id, "abc");
    json_object_put(o);
    const char *bad[] = { "{}", "{\"connection_id\": null}", "{\"connection_id\": \"\"}",
                          "{\"connection_id\": 12}", "{\"connection_id\": [\"a\"]}",
                          "{\"connection_id\": {}}", "{\"connection_id\": true}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = parse_ok(bad[i]);
        err = NULL;
        ck_assert_msg(routes_disconnect_body(o, &id, &err) == -1, "accepted %s", bad[i]);
        ck_assert(strstr(err, "connection_id") != NULL);
        json_object_put(o);
    }
}
END_TEST

START_TEST(body_test_route)
{
    struct test_request t;
    const char *err;
    struct json_object *o = parse_ok("{}");
    ck_assert_int_eq(routes_test_body(o, &t, &err), 0);
    ck_assert_str_eq(t.type, "test_event");
    ck_assert_ptr_null(t.message);
    json_object_put(o);
    o = parse_ok("{\"type\": \"ping2\", \"message\": \"hi\"}");
    ck_assert_int_eq(routes_test_body(o, &t, &err), 0);
    ck_assert_str_eq(t.type, "ping2");
    ck_assert_str_eq(t.message, "hi");
    json_object_put(o);
    const char *bad[] = { "{\"type\": \"a b\"}", "{\"type\": 3}", "{\"message\": 3}",
                          "{\"type\": \"\"}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = parse_ok(bad[i]);
        ck_assert_msg(routes_test_body(o, &t, &err) == -1, "accepted %s", bad[i]);
        json_object_put(o);
    }
    char big[MESSAGE_MAX_LEN + 40];
    snprintf(big, sizeof big, "{\"message\": \"%0*d\"}", MESSAGE_MAX_LEN + 1, 0);
    o = parse_ok(big);
    ck_assert_int_eq(routes_test_body(o, &t, &err), -1);
    json_object_put(o);
}
END_TEST

START_TEST(body_publish)
{
    struct publish_request p;
    const char *err;
    struct json_object *o = parse_ok("{\"event\": \"news\", \"data\": [1]}");
    ck_assert_int_eq(routes_publish_body(o, &p, &err), 0);
    ck_assert_str_eq(p.event, "news");
    ck_assert_int_eq(p.target, -1);
    ck_assert(json_object_is_type(p.data, json_type_array));
    json_object_put(o);
    o = parse_ok("{\"event\": \"a.b\", \"target\": \"display\", \"display\": \"lobby\"}");
    ck_assert_int_eq(routes_publish_body(o, &p, &err), 0);
    ck_assert_int_eq(p.target, CONN_DISPLAY);
    ck_assert_str_eq(p.display, "lobby");
    json_object_put(o);
    o = parse_ok("{\"event\": \"a\", \"target\": \"admin\", \"user\": \"bob\"}");
    ck_assert_int_eq(routes_publish_body(o, &p, &err), 0);
    ck_assert_int_eq(p.target, CONN_ADMIN);
    ck_assert_str_eq(p.user, "bob");
    json_object_put(o);
    const char *bad[] = {
        "{}", "{\"event\": \"\"}", "{\"event\": 5}", "{\"event\": \"a b\"}",
        "{\"event\": \"a\", \"target\": \"everyone\"}", "{\"event\": \"a\", \"target\": 1}",
        "{\"event\": \"a\", \"display\": \"bad name\"}", "{\"event\": \"a\", \"user\": \"\"}",
        "{\"event\": \"a\", \"target\": \"admin\", \"display\": \"x\"}",
        "{\"event\": \"a\", \"target\": \"display\", \"user\": \"x\"}",
        "{\"event\": \"a\", \"display\": \"x\", \"user\": \"y\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = parse_ok(bad[i]);
        err = NULL;
        ck_assert_msg(routes_publish_body(o, &p, &err) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(err);
        json_object_put(o);
    }
}
END_TEST

/* ---- options ----------------------------------------------------------- */

static enum options_result parse(struct options *o, const char *line, char *err)
{
    char copy[512];
    char *argv[32];
    int argc = 0;
    snprintf(copy, sizeof copy, "%s", line);
    argv[argc++] = "sse-fcgi";
    for (char *t = strtok(copy, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    enum options_result r = options_parse(o, argc, argv, err, 256);
    static char keep[512];          /* argv strings must outlive o */
    memcpy(keep, copy, sizeof keep);
    return r;
}

START_TEST(options_defaults_and_errors)
{
    struct options o;
    char err[256];
    ck_assert_int_eq(parse(&o, "", err), OPTIONS_OK);
    ck_assert_int_eq(o.threads, 8);
    ck_assert_int_eq(o.heartbeat_ms, 5000);
    ck_assert_uint_eq(o.max_connections, 10000);
    ck_assert_int_eq(o.auth, AUTH_REMOTE_USER);
    ck_assert_str_eq(o.prefix, "/api/v1/events");
    ck_assert_int_eq(o.log_level, LOG_INFO);
    ck_assert_ptr_null(o.socket);
    ck_assert_int_eq(parse(&o, "--threads 4 --heartbeat 0.5 --auth none --prefix /sse/ "
                               "--log-level debug --max-connections 20", err), OPTIONS_OK);
    ck_assert_int_eq(o.threads, 4);
    ck_assert_int_eq(o.heartbeat_ms, 500);
    ck_assert_int_eq(o.auth, AUTH_NONE);
    ck_assert_str_eq(o.prefix, "/sse");
    ck_assert_uint_eq(o.max_connections, 20);
    const char *bad[] = { "--threads 0", "--threads x", "--heartbeat 0", "--heartbeat -1",
                          "--heartbeat nan", "--auth basic", "--prefix api", "--log-level loud",
                          "--bogus", "--threads", "extra", "--max-connections 0" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(parse(&o, bad[i], err) == OPTIONS_ERROR, "accepted %s", bad[i]);
        ck_assert(err[0] != '\0');
        ck_assert(strchr(err, '\n') == NULL);
    }
}
END_TEST

/* ---- registry ------------------------------------------------------------ */

static struct conn *mk(enum conn_type t, const char *name)
{
    struct conn *c = conn_create(t, name, NULL, false);
    ck_assert_ptr_nonnull(c);
    return c;
}

static struct event *mkevent(const char *name)
{
    struct sse_event ev = { .id = 1, .name = name, .data = "{}", .data_len = 2 };
    return event_create(&ev);
}

/* Drains a connection's queue as its stream thread would. */
static size_t drain(struct conn *c, bool *closing)
{
    struct event *evs[CONN_QUEUE_MAX];
    size_t n = conn_take(c, evs, CONN_QUEUE_MAX, closing);
    for (size_t i = 0; i < n; i++)
        event_unref(evs[i]);
    return n;
}

START_TEST(registry_basics)
{
    struct registry *r = registry_create(3, 0, 0);
    struct conn *a = mk(CONN_ADMIN, "alice"), *b = mk(CONN_ADMIN, "bob"),
                *d = mk(CONN_DISPLAY, "lobby"), *x = mk(CONN_DISPLAY, "x");
    ck_assert_int_eq(registry_add(r, a), 0);
    ck_assert_int_eq(registry_add(r, b), 0);
    ck_assert_int_eq(registry_add(r, d), 0);
    ck_assert_int_eq(registry_add(r, x), -1);           /* full */
    ck_assert_uint_eq(registry_count(r), 3);
    ck_assert(registry_contains(r, a));

    struct registry_filter admins = { .type = CONN_ADMIN };
    struct registry_filter bob = { .type = -1, .user = "bob" };
    struct registry_filter lobby = { .type = -1, .display = "lobby" };
    struct event *e = mkevent("news");
    ck_assert_uint_eq(registry_broadcast(r, NULL, e), 3);
    ck_assert_uint_eq(registry_broadcast(r, &admins, e), 2);
    ck_assert_uint_eq(registry_broadcast(r, &bob, e), 1);
    ck_assert_uint_eq(registry_broadcast(r, &lobby, e), 1);
    event_unref(e);
    bool closing;
    ck_assert_uint_eq(drain(a, &closing), 2);
    ck_assert_uint_eq(drain(b, &closing), 3);
    ck_assert_uint_eq(drain(d, &closing), 2);
    ck_assert(!closing);

    /* remove by token: idempotent, flags the stream closing */
    char tok[TOKEN_LEN + 1];
    memcpy(tok, b->token, sizeof tok);
    ck_assert(registry_remove_token(r, tok, CLOSE_DISCONNECT_ROUTE));
    ck_assert(!registry_remove_token(r, tok, CLOSE_DISCONNECT_ROUTE));
    ck_assert(!registry_contains(r, b));
    ck_assert_int_eq(b->reason, CLOSE_DISCONNECT_ROUTE);
    drain(b, &closing);
    ck_assert(closing);
    ck_assert(!registry_remove(r, b, CLOSE_CLIENT_CLOSED));  /* already gone */
    ck_assert_int_eq(b->reason, CLOSE_DISCONNECT_ROUTE);
    ck_assert(registry_remove(r, a, CLOSE_WRITE_FAILED));
    ck_assert(!registry_contains(r, a));
    ck_assert_int_eq(a->reason, CLOSE_WRITE_FAILED);
    ck_assert_uint_eq(registry_count(r), 1);
    ck_assert_int_eq(registry_add(r, x), 0);            /* room again */
    ck_assert_uint_eq(registry_remove_all(r, CLOSE_SHUTDOWN), 2);
    ck_assert_int_eq(d->reason, CLOSE_SHUTDOWN);
    ck_assert_uint_eq(registry_count(r), 0);
    conn_free(a);
    conn_free(b);
    conn_free(d);
    conn_free(x);
    registry_free(r);
    registry_free(NULL);
    conn_free(NULL);
}
END_TEST

START_TEST(registry_slow_consumer)
{
    struct registry *r = registry_create(10, 0, 0);
    struct conn *slow = mk(CONN_DISPLAY, "slow"), *fast = mk(CONN_DISPLAY, "fast");
    registry_add(r, slow);
    registry_add(r, fast);
    struct event *e = mkevent("tick");
    bool closing;
    for (int i = 0; i < CONN_QUEUE_MAX; i++) {
        ck_assert_uint_eq(registry_broadcast(r, NULL, e), 2);
        drain(fast, &closing);
    }
    /* slow's queue is full now: the next event drops it, not the others */
    ck_assert_uint_eq(registry_broadcast(r, NULL, e), 1);
    ck_assert(!registry_contains(r, slow));
    ck_assert_int_eq(slow->reason, CLOSE_SLOW_CONSUMER);
    ck_assert(registry_contains(r, fast));
    ck_assert_uint_eq(drain(slow, &closing), CONN_QUEUE_MAX);
    ck_assert(closing);
    event_unref(e);
    registry_remove(r, fast, CLOSE_SHUTDOWN);
    conn_free(slow);
    conn_free(fast);
    registry_free(r);
}
END_TEST

/* A broadcast releases the registry lock between batches.  Meanwhile
 * other calls run (a snapshot here), a connection removed ahead of the
 * broadcast is skipped, the ones behind it and still ahead are reached
 * once, and a second broadcast waits its turn: every stream gets the two
 * events in the same order. */
#define BATCHES 4
#define BATCH_CONNS (BATCHES * REGISTRY_BROADCAST_BATCH)

struct batch_probe {
    struct registry *r;
    struct conn **c;
    struct event *second;
    pthread_t thread;
    int pauses;
    size_t second_n;
    size_t seen_in_snapshot;
};

static void *second_broadcast(void *arg)
{
    struct batch_probe *p = arg;
    p->second_n = registry_broadcast(p->r, NULL, p->second);
    return NULL;
}

static void between_batches(void *arg)
{
    struct batch_probe *p = arg;
    if (p->pauses++ != 0)
        return;
    /* The first batch is done: c[0..BATCH-1] have the event. */
    struct registry_snapshot s;
    ck_assert_int_eq(registry_snapshot(p->r, &s), 0);      /* the lock is free */
    p->seen_in_snapshot = s.count;
    registry_snapshot_release(&s);
    size_t b = REGISTRY_BROADCAST_BATCH;
    ck_assert(registry_remove(p->r, p->c[b], CLOSE_CLIENT_CLOSED));      /* next in line */
    ck_assert(registry_remove(p->r, p->c[b + 1], CLOSE_CLIENT_CLOSED));
    ck_assert(registry_remove(p->r, p->c[b - 1], CLOSE_CLIENT_CLOSED));  /* already reached */
    ck_assert(registry_remove(p->r, p->c[BATCH_CONNS - 1], CLOSE_CLIENT_CLOSED));  /* the last */
    pthread_create(&p->thread, NULL, second_broadcast, p);
    struct timespec ts = { 0, 50 * 1000 * 1000 };  /* time for it to overtake, were it let */
    nanosleep(&ts, NULL);
}

START_TEST(registry_broadcast_in_batches)
{
    struct registry *r = registry_create(BATCH_CONNS, 0, 0);
    static struct conn *c[BATCH_CONNS];
    for (size_t i = 0; i < BATCH_CONNS; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%zu", i);
        c[i] = mk(CONN_ADMIN, name);
        ck_assert_int_eq(registry_add(r, c[i]), 0);
    }
    struct sse_event one = { .id = 1, .name = "one", .data = "{}", .data_len = 2 };
    struct sse_event two = { .id = 2, .name = "two", .data = "{}", .data_len = 2 };
    struct batch_probe p = { .r = r, .c = c, .second = event_create(&two) };
    struct event *first = event_create(&one);
    registry_set_batch_hook(r, between_batches, &p);
    size_t n = registry_broadcast(r, NULL, first);
    pthread_join(p.thread, NULL);
    ck_assert_int_eq(p.pauses, BATCHES - 1 + BATCHES - 1);  /* both broadcasts paused */
    ck_assert_uint_eq(p.seen_in_snapshot, BATCH_CONNS);
    ck_assert_uint_eq(n, BATCH_CONNS - 3);
    ck_assert_uint_eq(p.second_n, BATCH_CONNS - 4);
    size_t b = REGISTRY_BROADCAST_BATCH;
    for (size_t i = 0; i < BATCH_CONNS; i++) {
        struct event *evs[CONN_QUEUE_MAX];
        bool closing;
        size_t got = conn_take(c[i], evs, CONN_QUEUE_MAX, &closing);
        size_t want = i == b || i == b + 1 || i == BATCH_CONNS - 1 ? 0 : i == b - 1 ? 1 : 2;
        ck_assert_msg(got == want, "connection %zu got %zu events, not %zu", i, got, want);
        for (size_t k = 0; k < got; k++) {
            ck_assert_msg(evs[k] == (k == 0 ? first : p.second),
                          "connection %zu got the events out of order", i);
            event_unref(evs[k]);
        }
    }
    registry_set_batch_hook(r, NULL, NULL);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    for (size_t i = 0; i < BATCH_CONNS; i++)
        conn_free(c[i]);
    event_unref(first);
    event_unref(p.second);
    registry_free(r);
}
END_TEST

/* A stream's queue: CONN_QUEUE_INLINE slots in the connection, grown in
 * a block of its own past them (order kept across a wrapped ring), full
 * at CONN_QUEUE_MAX, and back inside once the burst has been drained. */
START_TEST(conn_queue_slots_follow_the_load)
{
    enum { NEV = CONN_QUEUE_MAX + 3 };
    struct conn *c = mk(CONN_ADMIN, "q");
    struct event *ev[NEV];
    for (int i = 0; i < NEV; i++) {
        char name[16];
        snprintf(name, sizeof name, "e%d", i);
        ev[i] = mkevent(name);
    }
    bool closing;
    struct event *out[CONN_QUEUE_MAX];
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_INLINE);
    ck_assert_uint_eq(drain(c, &closing), 0);

    /* keeping up: the slots inside are enough */
    for (int i = 0; i < CONN_QUEUE_INLINE; i++)
        ck_assert_int_eq(conn_enqueue(c, ev[i]), 0);
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_INLINE);
    ck_assert_uint_eq(drain(c, &closing), CONN_QUEUE_INLINE);
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_INLINE);

    /* wrap the ring, then grow it: events come out in order */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(conn_enqueue(c, ev[i]), 0);
    ck_assert_uint_eq(conn_take(c, out, 3, &closing), 3);
    for (int i = 0; i < 3; i++)
        event_unref(out[i]);
    for (int i = 5; i < 3 + CONN_QUEUE_MAX; i++) {
        ck_assert_int_eq(conn_enqueue(c, ev[i]), 0);
        if (i == 3 + CONN_QUEUE_INLINE)
            ck_assert_uint_eq(conn_queue_slots(c), 2 * CONN_QUEUE_INLINE);
    }
    ck_assert_uint_eq(conn_queue_depth(c), CONN_QUEUE_MAX);
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_MAX);
    ck_assert_int_eq(conn_enqueue(c, ev[NEV - 1]), -1);          /* full */
    ck_assert_uint_eq(conn_take(c, out, CONN_QUEUE_MAX, &closing), CONN_QUEUE_MAX);
    for (int i = 0; i < CONN_QUEUE_MAX; i++) {
        ck_assert_str_eq(event_text(out[i]), event_text(ev[i + 3]));
        event_unref(out[i]);
    }
    ck_assert_uint_eq(conn_queue_slots(c), CONN_QUEUE_INLINE);   /* burst over */

    /* partly taken: the grown block stays until the queue is empty */
    for (int i = 0; i < CONN_QUEUE_INLINE + 8; i++)
        ck_assert_int_eq(conn_enqueue(c, ev[i]), 0);
    ck_assert_uint_eq(conn_take(c, out, 4, &closing), 4);
    for (int i = 0; i < 4; i++)
        event_unref(out[i]);
    ck_assert_uint_eq(conn_queue_slots(c), 2 * CONN_QUEUE_INLINE);
    /* and what is left is dropped with the connection */
    conn_free(c);
    for (int i = 0; i < NEV; i++)
        event_unref(ev[i]);
}
END_TEST

START_TEST(registry_snapshot_and_stats)
{
    struct registry *r = registry_create(100, 0, 0);
    struct conn *c[5];
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, i < 2 ? "admin" : "lobby%d", i);
        c[i] = mk(i < 2 ? CONN_ADMIN : CONN_DISPLAY, name);
        registry_add(r, c[i]);
    }
    atomic_store(&c[1]->events_sent, 7);
    struct registry_snapshot s;
    ck_assert_int_eq(registry_snapshot(r, &s), 0);
    ck_assert_uint_eq(s.count, 5);
    ck_assert_uint_eq(s.admin_count, 2);
    ck_assert_uint_eq(s.display_count, 3);
    ck_assert_str_eq(s.conns[0].public_id, c[0]->public_id);     /* oldest first */
    ck_assert_uint_eq(s.conns[1].events_sent, 7);
    struct json_object *data = stats_render(&s, c[0]->connected_at_ms + 2000, 9, 5000, NULL);
    const char *json = json_object_to_json_string(data);
    ck_assert_msg(strstr(json, c[0]->token) == NULL, "token leaked into stats");
    struct json_object *v;
    ck_assert(json_object_object_get_ex(data, "total_connections", &v));
    ck_assert_int_eq(json_object_get_int(v), 5);
    ck_assert(json_object_object_get_ex(data, "events_sent_last_hour", &v));
    ck_assert_int_eq(json_object_get_int(v), 9);
    ck_assert(json_object_object_get_ex(data, "connections", &v));
    ck_assert_uint_eq(json_object_array_length(v), 5);
    struct json_object *first = json_object_array_get_idx(v, 0);
    ck_assert(json_object_object_get_ex(first, "user", NULL));
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(v, 4), "display", NULL));
    ck_assert(json_object_object_get_ex(data, "connection_details", &v));
    ck_assert(json_object_object_get_ex(v, "by_type", &v));
    struct json_object *adm, *dis;
    ck_assert(json_object_object_get_ex(v, "admin", &adm));
    ck_assert(json_object_object_get_ex(v, "display", &dis));
    ck_assert_uint_eq(json_object_array_length(adm), 2);
    ck_assert_uint_eq(json_object_array_length(dis), 3);
    json_object_put(data);
    registry_snapshot_release(&s);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    for (int i = 0; i < 5; i++)
        conn_free(c[i]);
    registry_free(r);
}
END_TEST

/* realloc() of a block fails while this is set (a new block, from NULL,
 * does not), and failed_reallocs counts those failures: check_units links
 * with --wrap=realloc. */
static bool fail_reallocs;
static unsigned failed_reallocs;

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    if (fail_reallocs && p) {
        failed_reallocs++;
        return NULL;
    }
    return __real_realloc(p, n);
}

/* Renders stats for connections of types pat ('a' admin, 'd' display),
 * named name_len characters, and checks that by_type holds exactly the
 * objects of `connections` of that type, in the same order and byte for
 * byte. */
static void check_lists_by_type(const char *pat, size_t name_len)
{
    size_t n = strlen(pat);
    struct registry *r = registry_create(16, 0, 0);
    struct conn *c[8];
    for (size_t i = 0; i < n; i++) {
        char name[CONN_NAME_MAX + 1];
        snprintf(name, sizeof name, "n\"%zu", i);         /* escaped in the output */
        for (size_t k = strlen(name); k < name_len && k < CONN_NAME_MAX; k++)
            name[k] = '"', name[k + 1] = '\0';
        c[i] = mk(pat[i] == 'a' ? CONN_ADMIN : CONN_DISPLAY, name);
        atomic_store(&c[i]->events_sent, i * 11);
        ck_assert_int_eq(registry_add(r, c[i]), 0);
    }
    struct registry_snapshot s;
    ck_assert_int_eq(registry_snapshot(r, &s), 0);
    struct json_object *data = stats_render(&s, time_now_ms(), 0, 5000, NULL);
    ck_assert_ptr_nonnull(data);
    struct json_object *all, *det, *bt, *list[2];
    ck_assert(json_object_object_get_ex(data, "connections", &all));
    ck_assert(json_object_object_get_ex(data, "connection_details", &det));
    ck_assert(json_object_object_get_ex(det, "by_type", &bt));
    ck_assert(json_object_object_get_ex(bt, "admin", &list[0]));
    ck_assert(json_object_object_get_ex(bt, "display", &list[1]));
    ck_assert_uint_eq(json_object_array_length(all), n);
    size_t k[2] = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        int t = pat[i] == 'a' ? 0 : 1;
        struct json_object *o = json_object_array_get_idx(all, i), *v;
        ck_assert(json_object_object_get_ex(o, t == 0 ? "user" : "display", &v));
        ck_assert_str_eq(json_object_get_string(v), c[i]->name);
        const char *want = json_object_to_json_string(o);
        const char *got = json_object_to_json_string(json_object_array_get_idx(list[t], k[t]++));
        ck_assert_str_eq(got, want);
    }
    ck_assert_uint_eq(json_object_array_length(list[0]), k[0]);
    ck_assert_uint_eq(json_object_array_length(list[1]), k[1]);
    json_object_put(data);
    registry_snapshot_release(&s);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    for (size_t i = 0; i < n; i++)
        conn_free(c[i]);
    registry_free(r);
}

static const char *const type_patterns[] = { "", "a", "d", "aaa", "ddd", "adadda", "daaddda" };

START_TEST(stats_lists_by_type)
{
    for (size_t p = 0; p < sizeof type_patterns / sizeof *type_patterns; p++) {
        check_lists_by_type(type_patterns[p], 0);
        check_lists_by_type(type_patterns[p], CONN_NAME_MAX);   /* objects outgrow the estimate */
    }
}
END_TEST

/* Long names outgrow the text kept for by_type; when it cannot grow, the
 * lists are rendered anew and the answer is the same. */
START_TEST(stats_lists_when_text_cannot_grow)
{
    for (size_t p = 1; p < sizeof type_patterns / sizeof *type_patterns; p++) {
        fail_reallocs = true;
        failed_reallocs = 0;
        check_lists_by_type(type_patterns[p], CONN_NAME_MAX);
        fail_reallocs = false;
        ck_assert_uint_gt(failed_reallocs, 0);
    }
}
END_TEST

START_TEST(registry_superseding)
{
    struct registry *r = registry_create(10, 0, 0);
    struct conn *a1 = conn_create(CONN_ADMIN, "alice", "tab1", true);
    struct conn *a2 = conn_create(CONN_ADMIN, "alice", "tab1", true);
    struct conn *b = conn_create(CONN_ADMIN, "bob", "tab1", false);   /* other user */
    struct conn *n1 = conn_create(CONN_ADMIN, "alice", NULL, false);  /* no client id */
    struct conn *n2 = conn_create(CONN_ADMIN, "alice", NULL, false);
    struct conn *d1 = conn_create(CONN_DISPLAY, "lobby", "x", false);
    struct conn *d2 = conn_create(CONN_DISPLAY, "lobby", "y", false); /* newest wins */
    ck_assert_int_eq(registry_add(r, a1), 0);
    ck_assert_int_eq(registry_add(r, b), 0);
    ck_assert_int_eq(registry_add(r, n1), 0);
    ck_assert_int_eq(registry_add(r, n2), 0);
    ck_assert_int_eq(registry_add(r, d1), 0);
    ck_assert_int_eq(registry_add(r, a2), 1);
    ck_assert(!registry_contains(r, a1));
    ck_assert_int_eq(a1->reason, CLOSE_SUPERSEDED);
    bool closing;
    drain(a1, &closing);
    ck_assert(closing);
    ck_assert_int_eq(registry_add(r, d2), 1);
    ck_assert_int_eq(d1->reason, CLOSE_SUPERSEDED);
    ck_assert_uint_eq(registry_count(r), 5);               /* a2 b n1 n2 d2 */

    /* the closed log, newest first, with totals */
    struct closed_info *log;
    uint64_t totals[CLOSE_REASONS];
    ck_assert_int_eq(registry_closed(r, &log, totals), 2);
    ck_assert_str_eq(log[0].public_id, d1->public_id);
    ck_assert_str_eq(log[1].public_id, a1->public_id);
    ck_assert_str_eq(log[1].client, "tab1");
    ck_assert_int_eq(log[1].reason, CLOSE_SUPERSEDED);
    ck_assert_uint_eq(totals[CLOSE_SUPERSEDED], 2);
    free(log);

    /* admin close by public id */
    ck_assert(registry_remove_public_id(r, b->public_id, CLOSE_ADMIN_CLOSED));
    ck_assert(!registry_remove_public_id(r, b->public_id, CLOSE_ADMIN_CLOSED));
    ck_assert_int_eq(b->reason, CLOSE_ADMIN_CLOSED);

    /* acks: unknown token, unsent seq, a sent one */
    ck_assert_int_eq(registry_ack(r, "00000000-0000-4000-8000-000000000000", 1), -2);
    ck_assert_int_eq(registry_ack(r, a2->token, 1), -1);
    ck_assert_uint_eq(conn_next_ping(a2, time_mono_ms()), 1);
    ck_assert_uint_eq(conn_next_ping(a2, time_mono_ms()), 2);
    ck_assert_int_ge(registry_ack(r, a2->token, 2), 0);
    ck_assert_int_ge(registry_ack(r, a2->token, 1), 0);    /* late, still known */
    ck_assert_int_eq(registry_ack(r, a2->token, 3), -1);
    ck_assert_int_gt(atomic_load(&a2->last_ack_ms), 0);
    for (int i = 0; i < CONN_PING_RING; i++)
        conn_next_ping(a2, time_mono_ms());
    ck_assert_int_eq(registry_ack(r, a2->token, 1), -1);   /* too old to know */

    registry_remove_all(r, CLOSE_SHUTDOWN);
    struct conn *all[] = { a1, a2, b, n1, n2, d1, d2 };
    for (size_t i = 0; i < 7; i++)
        conn_free(all[i]);
    registry_free(r);
}
END_TEST

START_TEST(registry_closed_ring)
{
    struct registry *r = registry_create(10, 0, 0);
    char first[PUBLIC_ID_LEN + 1] = "", last[PUBLIC_ID_LEN + 1];
    for (int i = 0; i < REGISTRY_CLOSED_MAX + 100; i++) {
        struct conn *c = mk(CONN_ADMIN, "a");
        registry_add(r, c);
        registry_remove(r, c, i % 2 ? CLOSE_CLIENT_CLOSED : CLOSE_WRITE_FAILED);
        if (i == 100)
            memcpy(first, c->public_id, sizeof first);
        memcpy(last, c->public_id, sizeof last);
        conn_free(c);
    }
    struct closed_info *log;
    uint64_t totals[CLOSE_REASONS];
    ck_assert_int_eq(registry_closed(r, &log, totals), REGISTRY_CLOSED_MAX);
    ck_assert_str_eq(log[0].public_id, last);
    ck_assert_str_eq(log[REGISTRY_CLOSED_MAX - 1].public_id, first);
    ck_assert_uint_eq(totals[CLOSE_CLIENT_CLOSED] + totals[CLOSE_WRITE_FAILED],
                      REGISTRY_CLOSED_MAX + 100);
    ck_assert_str_eq(log[0].name, "a");
    ck_assert_str_eq(log[0].client, "");
    free(log);

    /* Names are kept whole at their longest, with the rest of the entry,
     * over entries that held shorter ones. */
    char name[CONN_NAME_MAX + 1], client[CONN_CLIENT_MAX + 1];
    memset(name, 'n', CONN_NAME_MAX);
    name[CONN_NAME_MAX] = '\0';
    memset(client, 'c', CONN_CLIENT_MAX);
    client[CONN_CLIENT_MAX] = '\0';
    struct conn *d = conn_create(CONN_DISPLAY, "lobby", NULL, false);
    struct conn *c = conn_create(CONN_ADMIN, name, client, false);
    registry_add(r, d);
    registry_add(r, c);
    atomic_store(&c->events_sent, 7);
    registry_remove(r, d, CLOSE_SHUTDOWN);
    registry_remove(r, c, CLOSE_SUPERSEDED);
    ck_assert_int_eq(registry_closed(r, &log, totals), REGISTRY_CLOSED_MAX);
    ck_assert_str_eq(log[0].public_id, c->public_id);
    ck_assert_str_eq(log[0].name, name);
    ck_assert_str_eq(log[0].client, client);
    ck_assert_int_eq(log[0].type, CONN_ADMIN);
    ck_assert_int_eq(log[0].reason, CLOSE_SUPERSEDED);
    ck_assert_uint_eq(log[0].events_sent, 7);
    ck_assert_int_eq(log[0].opened_ms, c->connected_at_ms);
    ck_assert_int_ge(log[0].closed_ms, log[0].opened_ms);
    ck_assert_str_eq(log[1].name, "lobby");
    ck_assert_str_eq(log[1].client, "");
    ck_assert_int_eq(log[1].type, CONN_DISPLAY);
    ck_assert_int_eq(log[1].reason, CLOSE_SHUTDOWN);
    free(log);
    conn_free(c);
    conn_free(d);
    /* around the length kept inside an entry (40 bytes with both NULs) */
    for (int clen = 17; clen <= 20; clen++) {
        client[clen] = '\0';
        c = conn_create(CONN_ADMIN, "twenty-characters-ab", client, false);
        registry_add(r, c);
        registry_remove(r, c, CLOSE_CLIENT_CLOSED);
        ck_assert_int_eq(registry_closed(r, &log, totals), REGISTRY_CLOSED_MAX);
        ck_assert_str_eq(log[0].name, "twenty-characters-ab");
        ck_assert_str_eq(log[0].client, client);
        free(log);
        conn_free(c);
        client[clen] = 'c';
    }
    registry_free(r);
}
END_TEST

/* The hash tables grow with a peak and shrink back as it passes; every
 * lookup (token, supersede key) keeps working across both. */
START_TEST(registry_tables_shrink)
{
    enum { PEAK = 5000 };
    struct registry *r = registry_create(PEAK + 10, 0, 0);
    static struct conn *cs[PEAK];
    ck_assert_uint_eq(registry_buckets(r), REGISTRY_MIN_BUCKETS);
    for (int i = 0; i < PEAK; i++) {
        char name[16];
        snprintf(name, sizeof name, "d%d", i);
        cs[i] = mk(CONN_DISPLAY, name);
        ck_assert_int_eq(registry_add(r, cs[i]), 0);
    }
    ck_assert_uint_eq(registry_buckets(r), 8192);       /* doubled at 256, ..., 4096 */
    /* down to 10: halved at each quarter on the way */
    for (int i = 10; i < PEAK; i++) {
        ck_assert(registry_remove(r, cs[i], CLOSE_CLIENT_CLOSED));
        ck_assert_uint_ge(registry_buckets(r), registry_count(r));
        conn_free(cs[i]);
    }
    ck_assert_uint_eq(registry_count(r), 10);
    ck_assert_uint_eq(registry_buckets(r), REGISTRY_MIN_BUCKETS);
    /* the 10 left are still found by token and by display name */
    for (int i = 0; i < 10; i++) {
        ck_assert(registry_ack(r, cs[i]->token, 1) != -2);
        char name[16];
        snprintf(name, sizeof name, "d%d", i);
        struct conn *again = mk(CONN_DISPLAY, name);
        ck_assert_int_eq(registry_add(r, again), 1);    /* supersedes cs[i] */
        ck_assert(!registry_contains(r, cs[i]));
        conn_free(cs[i]);
        cs[i] = again;
    }
    /* a count going up and down across the doubling point does not
     * rehash each time: the tables halve only under a quarter full */
    static struct conn *extra[247];
    for (int i = 0; i < 247; i++) {
        extra[i] = mk(CONN_ADMIN, "u");
        ck_assert_int_eq(registry_add(r, extra[i]), 0);
    }
    ck_assert_uint_eq(registry_count(r), 257);
    ck_assert_uint_eq(registry_buckets(r), 2 * REGISTRY_MIN_BUCKETS);
    for (int k = 0; k < 3; k++) {
        for (int i = 147; i < 247; i++)
            registry_remove(r, extra[i], CLOSE_CLIENT_CLOSED);
        ck_assert_uint_eq(registry_buckets(r), 2 * REGISTRY_MIN_BUCKETS);    /* 157 left */
        for (int i = 147; i < 247; i++)
            ck_assert_int_eq(registry_add(r, extra[i]), 0);
        ck_assert_uint_eq(registry_buckets(r), 2 * REGISTRY_MIN_BUCKETS);
    }
    for (int i = 0; i < 247; i++) {
        registry_remove(r, extra[i], CLOSE_CLIENT_CLOSED);
        if (registry_count(r) >= 128)
            ck_assert_uint_eq(registry_buckets(r), 2 * REGISTRY_MIN_BUCKETS);
        conn_free(extra[i]);
    }
    ck_assert_uint_eq(registry_buckets(r), REGISTRY_MIN_BUCKETS);
    ck_assert_uint_eq(registry_remove_all(r, CLOSE_SHUTDOWN), 10);
    ck_assert_uint_eq(registry_buckets(r), REGISTRY_MIN_BUCKETS);
    for (int i = 0; i < 10; i++)
        conn_free(cs[i]);
    registry_free(r);
}
END_TEST

START_TEST(stats_stale_and_roster)
{
    struct registry *r = registry_create(10, 0, 0);
    struct conn *fresh = conn_create(CONN_DISPLAY, "hall", NULL, true);
    struct conn *plain = conn_create(CONN_DISPLAY, "lobby", NULL, false);
    registry_add(r, fresh);
    registry_add(r, plain);
    struct registry_snapshot s;
    registry_snapshot(r, &s);
    int64_t t0 = fresh->connected_at_ms;
    ck_assert(!stats_is_stale(&s.conns[0], t0 + 1999, 1000));
    ck_assert(stats_is_stale(&s.conns[0], t0 + 2000, 1000));
    ck_assert(!stats_is_stale(&s.conns[1], t0 + 60000, 1000));   /* never acks: not judged */

    char path[] = "/tmp/sse-roster-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(write(fd, "lobby\nkitchen\nhall\n", 19) == 19);
    close(fd);
    char err[256];
    struct displays *d = displays_load(path, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    unlink(path);
    struct json_object *data = stats_render(&s, t0 + 2500, 0, 1000, d);
    struct json_object *roster, *v;
    ck_assert(json_object_object_get_ex(data, "expected_displays", &roster));
    ck_assert_uint_eq(json_object_array_length(roster), 3);
    const char *want[][2] = { { "hall", "stale" }, { "kitchen", "missing" }, { "lobby", "connected" } };
    for (int i = 0; i < 3; i++) {
        struct json_object *o = json_object_array_get_idx(roster, i);
        json_object_object_get_ex(o, "display", &v);
        ck_assert_str_eq(json_object_get_string(v), want[i][0]);
        json_object_object_get_ex(o, "state", &v);
        ck_assert_str_eq(json_object_get_string(v), want[i][1]);
    }
    ck_assert(json_object_object_get_ex(data, "stale_connections", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert(json_object_object_get_ex(data, "closed_by_reason", &v));
    ck_assert_int_eq(json_object_object_length(v), CLOSE_REASONS - 1);
    json_object_put(data);
    data = stats_render(&s, t0, 0, 1000, NULL);
    ck_assert(!json_object_object_get_ex(data, "expected_displays", NULL));
    json_object_put(data);
    displays_free(d);
    registry_snapshot_release(&s);
    registry_remove_all(r, CLOSE_SHUTDOWN);
    conn_free(fresh);
    conn_free(plain);
    registry_free(r);
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

START_TEST(body_ack)
{
    const char *id, *err;
    unsigned long long seq;
    struct json_object *o = parse_ok("{\"connection_id\":\"t\",\"seq\":7}");
    ck_assert_int_eq(routes_ack_body(o, &id, &seq, &err), 0);
    ck_assert_str_eq(id, "t");
    ck_assert_uint_eq(seq, 7);
    json_object_put(o);
    const char *bad[] = { "{\"seq\":1}", "{\"connection_id\":\"t\"}",
                          "{\"connection_id\":\"t\",\"seq\":0}",
                          "{\"connection_id\":\"t\",\"seq\":-3}",
                          "{\"connection_id\":\"t\",\"seq\":\"1\"}",
                          "{\"connection_id\":\"t\",\"seq\":1.5}",
                          "{\"connection_id\":\"t\",\"seq\":99999999999999999999}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = parse_ok(bad[i]);
        ck_assert_msg(routes_ack_body(o, &id, &seq, &err) == -1, "accepted %s", bad[i]);
        json_object_put(o);
    }
}
END_TEST

START_TEST(history_replay_and_reset)
{
    struct history *h = history_create(3, 1000, 100);
    struct event **v;
    size_t n;
    ck_assert_uint_eq(history_last_id(h), 99);
    ck_assert_int_eq(history_since(h, 99, CONN_ADMIN, "a", 0, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(history_since(h, 98, CONN_ADMIN, "a", 0, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 100, CONN_ADMIN, "a", 0, &v, &n), HISTORY_RESET);
    struct event *e = mkevent("x");
    struct registry_filter lobby = { .type = -1, .display = "lobby" };
    struct registry_filter admins = { .type = CONN_ADMIN };
    history_add(h, 100, e, NULL, 10);
    history_add(h, 101, e, &lobby, 20);
    history_add(h, 102, e, &admins, 30);
    ck_assert_int_eq(history_since(h, 99, CONN_DISPLAY, "lobby", 40, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 2);                            /* 100 and 101 */
    for (size_t i = 0; i < n; i++)
        event_unref(v[i]);
    free(v);
    ck_assert_int_eq(history_since(h, 100, CONN_ADMIN, "a", 40, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 1);                            /* 102 */
    event_unref(v[0]);
    free(v);
    history_add(h, 103, e, NULL, 50);                   /* 100 falls out by count */
    ck_assert_int_eq(history_since(h, 99, CONN_ADMIN, "a", 60, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 100, CONN_ADMIN, "a", 60, &v, &n), HISTORY_OK);
    for (size_t i = 0; i < n; i++)
        event_unref(v[i]);
    free(v);
    /* by age: at 1025, 101 and 102 are over a second old */
    ck_assert_int_eq(history_since(h, 101, CONN_ADMIN, "a", 1035, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 102, CONN_ADMIN, "a", 1035, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 1);
    event_unref(v[0]);
    free(v);
    history_free(h);
    /* events for others that fell out do not reset a stream */
    h = history_create(2, 100000, 1);
    struct registry_filter other = { .type = -1, .display = "other" };
    history_add(h, 1, e, NULL, 0);
    history_add(h, 2, e, &other, 0);
    history_add(h, 3, e, &other, 0);
    history_add(h, 4, e, &other, 0);                   /* 1 and 2 dropped */
    ck_assert_int_eq(history_since(h, 1, CONN_DISPLAY, "lobby", 0, &v, &n), HISTORY_OK);
    ck_assert_uint_eq(n, 0);
    free(v);
    ck_assert_int_eq(history_since(h, 1, CONN_ADMIN, "a", 0, &v, &n), HISTORY_OK);
    free(v);
    ck_assert_int_eq(history_since(h, 1, CONN_DISPLAY, "other", 0, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 0, CONN_DISPLAY, "lobby", 0, &v, &n), HISTORY_RESET);
    history_free(h);
    /* names dropped events were for are remembered up to a bound; past it,
     * an event for one more display resets every display, never none */
    h = history_create(1, 100000, 1);
    uint64_t id = 1;
    char name[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "d%d", i);
        struct registry_filter one = { .type = -1, .display = name };
        history_add(h, id++, e, &one, 0);
    }
    /* "d4998" fell out past the bound, "d1" within it */
    ck_assert_int_eq(history_since(h, 4990, CONN_DISPLAY, "lobby", 0, &v, &n), HISTORY_RESET);
    ck_assert_int_eq(history_since(h, 4990, CONN_ADMIN, "a", 0, &v, &n), HISTORY_OK);
    free(v);
    ck_assert_int_eq(history_since(h, 1, CONN_DISPLAY, "d1", 0, &v, &n), HISTORY_RESET);
    history_free(h);
    /* no history at all: any older id is a reset */
    h = history_create(0, 1000, 5);
    history_add(h, 5, e, NULL, 0);
    ck_assert_int_eq(history_since(h, 5, CONN_ADMIN, "a", 0, &v, &n), HISTORY_OK);
    ck_assert_int_eq(history_since(h, 4, CONN_ADMIN, "a", 0, &v, &n), HISTORY_RESET);
    history_free(h);
    history_free(NULL);
    event_unref(e);
}
END_TEST

/* Many threads add, broadcast to, snapshot and remove at once; every
 * snapshot must agree with itself, and nothing may be lost or doubled. */
#define RACE_THREADS 8
#define RACE_ROUNDS 300

struct race {
    struct registry *r;
    int index;
    atomic_int *bad;
};

static void *race_main(void *arg)
{
    struct race *ra = arg;
    struct event *e = mkevent("race");
    for (int i = 0; i < RACE_ROUNDS; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%d", ra->index);   /* displays: newest wins */
        struct conn *c = conn_create(ra->index % 2 ? CONN_ADMIN : CONN_DISPLAY, name, NULL, false);
        if (registry_add(ra->r, c) != 0)
            atomic_fetch_add(ra->bad, 1);
        registry_broadcast(ra->r, NULL, e);
        struct registry_snapshot s;
        if (registry_snapshot(ra->r, &s) == 0) {
            if (s.admin_count + s.display_count != s.count)
                atomic_fetch_add(ra->bad, 1);
            registry_snapshot_release(&s);
        }
        bool closing;
        drain(c, &closing);
        bool removed = i % 2 ? registry_remove_token(ra->r, c->token, CLOSE_DISCONNECT_ROUTE)
                             : registry_remove(ra->r, c, CLOSE_CLIENT_CLOSED);
        /* Not removed by us only if other threads' broadcasts overflowed
         * its queue while this thread was descheduled. */
        if ((!removed && c->reason != CLOSE_SLOW_CONSUMER) ||
            registry_remove(ra->r, c, CLOSE_CLIENT_CLOSED))
            atomic_fetch_add(ra->bad, 1);
        conn_free(c);
    }
    event_unref(e);
    return NULL;
}

START_TEST(registry_concurrency)
{
    struct registry *r = registry_create(RACE_THREADS + 1, 0, 0);
    atomic_int bad = 0;
    pthread_t t[RACE_THREADS];
    struct race ra[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        ra[i] = (struct race){ r, i, &bad };
        pthread_create(&t[i], NULL, race_main, &ra[i]);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&bad), 0);
    ck_assert_uint_eq(registry_count(r), 0);
    registry_free(r);
}
END_TEST

static Suite *units_suite(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("sse");
    tcase_add_test(tc, sse_full_event);
    tcase_add_test(tc, sse_multiline_data);
    tcase_add_test(tc, sse_trailing_newline_and_empty);
    tcase_add_test(tc, sse_bad_names);
    tcase_add_test(tc, sse_measure_and_truncate);
    suite_add_tcase(s, tc);
    tc = tcase_create("jsonw");
    tcase_add_test(tc, jsonw_writes);
    tcase_add_test(tc, jsonw_bounded);
    suite_add_tcase(s, tc);
    tc = tcase_create("window");
    tcase_add_test(tc, window_slides);
    suite_add_tcase(s, tc);
    tc = tcase_create("token");
    tcase_add_test(tc, token_shape_and_uniqueness);
    tcase_add_test(tc, time_iso);
    suite_add_tcase(s, tc);
    tc = tcase_create("routes");
    tcase_add_test(tc, route_path_nginx_and_lighttpd);
    tcase_add_test(tc, route_matching);
    tcase_add_test(tc, route_names);
    tcase_add_test(tc, route_content_types);
    suite_add_tcase(s, tc);
    tc = tcase_create("bodies");
    tcase_add_test(tc, body_parse_errors);
    tcase_add_test(tc, body_disconnect);
    tcase_add_test(tc, body_test_route);
    tcase_add_test(tc, body_publish);
    tcase_add_test(tc, body_ack);
    tcase_add_test(tc, stream_queries);
    tcase_add_test(tc, event_ids);
    suite_add_tcase(s, tc);
    tc = tcase_create("options");
    tcase_add_test(tc, options_defaults_and_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, registry_basics);
    tcase_add_test(tc, registry_slow_consumer);
    tcase_add_test(tc, registry_broadcast_in_batches);
    tcase_add_test(tc, conn_queue_slots_follow_the_load);
    tcase_add_test(tc, registry_snapshot_and_stats);
    tcase_add_test(tc, stats_lists_by_type);
    tcase_add_test(tc, stats_lists_when_text_cannot_grow);
    tcase_add_test(tc, registry_concurrency);
    tcase_add_test(tc, registry_superseding);
    tcase_add_test(tc, registry_closed_ring);
    tcase_add_test(tc, registry_tables_shrink);
    tcase_add_test(tc, history_replay_and_reset);
    tcase_add_test(tc, stats_stale_and_roster);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(units_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
