/* check_server.c -- the responder in this process, driven over a real unix
 * socket by a FastCGI client that sends what nginx and lighttpd send. */
#include "autoconf.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "fcgi_client.h"
#include "intake.h"
#include "listen.h"
#include "options.h"
#include "registry.h"
#include "server.h"
#include "timeutil.h"

#define PREFIX "/api/v1/events"
#define HEARTBEAT_MS 200

enum style { NGINX, LIGHTTPD };

static char dir[64];
static char sock[128];
static struct server *srv;
static int listen_fd = -1;
static void (*tweak)(struct options *o);    /* a suite's own options, or NULL */

static void start_with(int threads, size_t max, const char *displays)
{
    snprintf(dir, sizeof dir, "/tmp/sse-check-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/s.sock", dir);
    struct options o;
    char err[256];
    char *argv[] = { "sse-fcgi", NULL };
    ck_assert_int_eq(options_parse(&o, 1, argv, err, sizeof err), OPTIONS_OK);
    o.threads = threads;
    o.heartbeat_ms = HEARTBEAT_MS;
    o.max_connections = max;
    o.displays_file = displays;
    o.max_per_user = 0;             /* the limits have tests of their own */
    o.max_per_address = 0;
    o.log_level = LOG_WARN;
    if (tweak)
        tweak(&o);
    log_set_level(LOG_WARN);
    listen_fd = listen_open(sock, NULL, err, sizeof err);
    ck_assert_msg(listen_fd >= 0, "%s", err);
    srv = server_create(&o, err, sizeof err);
    ck_assert_msg(srv != NULL, "%s", err);
    ck_assert_int_eq(server_start(srv, listen_fd, true, err, sizeof err), 0);
}

static void setup(void)
{
    start_with(4, 1000, NULL);
}

static void teardown(void)
{
    if (srv) {
        ck_assert_uint_eq(server_stop(srv, time_mono_ms() + 2000), 0);
        server_free(srv);
        srv = NULL;
    }
    close(listen_fd);
    unlink(sock);
    rmdir(dir);
}

struct req {
    const char *method;
    const char *path;           /* after the prefix, e.g. "/stats" */
    const char *query;
    enum style style;
    const char *user;           /* NULL: none */
    const char *content_type;
    const char *body;
    const char *content_length; /* NULL: the body's length */
    const char *extra_name, *extra_value;
};

/* Sends r as the named web server would and returns the connected fd. */
static int send_req(const struct req *r)
{
    char full[512], uri[600], cl[32], pinfo[512];
    snprintf(full, sizeof full, PREFIX "%s", r->path);
    snprintf(uri, sizeof uri, "%s%s%s", full, r->query ? "?" : "", r->query ? r->query : "");
    size_t blen = r->body ? strlen(r->body) : 0;
    if (r->content_length)
        snprintf(cl, sizeof cl, "%s", r->content_length);
    else if (blen || r->style == LIGHTTPD)
        snprintf(cl, sizeof cl, "%zu", blen);
    else
        cl[0] = '\0';                           /* nginx sends "" on a GET */
    struct fcgi_param p[16];
    size_t n = 0;
    p[n++] = (struct fcgi_param){ "REQUEST_METHOD", r->method };
    p[n++] = (struct fcgi_param){ "REQUEST_URI", uri };
    p[n++] = (struct fcgi_param){ "QUERY_STRING", r->query ? r->query : "" };
    p[n++] = (struct fcgi_param){ "CONTENT_LENGTH", cl };
    p[n++] = (struct fcgi_param){ "GATEWAY_INTERFACE", "CGI/1.1" };
    if (r->content_type)
        p[n++] = (struct fcgi_param){ "CONTENT_TYPE", r->content_type };
    if (r->style == NGINX) {
        p[n++] = (struct fcgi_param){ "DOCUMENT_URI", full };
        p[n++] = (struct fcgi_param){ "SCRIPT_NAME", full };
        p[n++] = (struct fcgi_param){ "REMOTE_USER", r->user ? r->user : "" };
    } else {
        snprintf(pinfo, sizeof pinfo, "%s", r->path);
        p[n++] = (struct fcgi_param){ "SCRIPT_NAME", PREFIX };
        p[n++] = (struct fcgi_param){ "PATH_INFO", pinfo };
        if (r->user)
            p[n++] = (struct fcgi_param){ "REMOTE_USER", r->user };
    }
    if (r->extra_name)
        p[n++] = (struct fcgi_param){ r->extra_name, r->extra_value };
    int fd = fcgi_connect(sock);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcgi_send(fd, p, n, r->body, blen), 0);
    return fd;
}

/* A whole short request: returns the status and the parsed body. */
static int call(const struct req *r, struct json_object **json, char **raw)
{
    int fd = send_req(r);
    struct fcgi_response resp = { 0 };
    ck_assert_int_eq(fcgi_read(fd, &resp, NULL, 5000), 0);
    close(fd);
    ck_assert_msg(resp.ended, "no END_REQUEST for %s %s", r->method, r->path);
    int status = fcgi_status(&resp);
    ck_assert_msg(strstr(resp.out, "Content-Type: application/json\r\n") != NULL,
                  "not JSON: %s", resp.out);
    struct json_object *o = json_tokener_parse(fcgi_body(&resp));
    ck_assert_msg(o != NULL, "body is not JSON: %s", resp.out);
    if (json)
        *json = o;
    else
        json_object_put(o);
    if (raw)
        *raw = strdup(resp.out);
    fcgi_response_free(&resp);
    return status;
}

static struct json_object *get(struct json_object *o, const char *path)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *k = strtok(copy, "."); k && o; k = strtok(NULL, "."))
        if (!json_object_object_get_ex(o, k, &o))
            return NULL;
    return o;
}

static int stats_total(enum style style)
{
    struct json_object *o;
    struct req r = { "GET", "/stats", .style = style, .user = "admin" };
    ck_assert_int_eq(call(&r, &o, NULL), 200);
    int n = json_object_get_int(get(o, "data.total_connections"));
    json_object_put(o);
    return n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Polls stats until it reads `want` or ms pass; returns the last count. */
static int await_total(int want, int ms)
{
    int64_t end = time_mono_ms() + ms;
    int n;
    while ((n = stats_total(NGINX)) != want && time_mono_ms() < end) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return n;
}

/* Checks an error envelope: status, code, and a message in all three places. */
static void expect_error(const struct req *r, int status, const char *code)
{
    struct json_object *o;
    char *raw;
    ck_assert_int_eq(call(r, &o, &raw), status);
    ck_assert(!json_object_get_boolean(get(o, "success")));
    ck_assert_str_eq(json_object_get_string(get(o, "error_info.code")), code);
    const char *msg = json_object_get_string(get(o, "error"));
    ck_assert(msg && *msg);
    ck_assert_str_eq(json_object_get_string(get(o, "message")), msg);
    ck_assert_str_eq(json_object_get_string(get(o, "error_info.message")), msg);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(o, "errors"), 0)), msg);
    if (status == 405)
        ck_assert_msg(strstr(raw, "Allow: ") != NULL, "405 without Allow: %s", raw);
    if (status == 503 || status == 429 || status == 409)
        ck_assert_msg(strstr(raw, "Retry-After: ") != NULL, "%d without Retry-After", status);
    free(raw);
    json_object_put(o);
}

struct stream {
    int fd;
    struct fcgi_response resp;
    char token[64];
};

static void open_stream_q(struct stream *s, const char *path, const char *query,
                          const char *user, enum style style)
{
    struct req r = { "GET", path, .query = query, .style = style, .user = user };
    memset(s, 0, sizeof *s);
    s->fd = send_req(&r);
    ck_assert_int_eq(fcgi_read(s->fd, &s->resp, "event: connected", 3000), 0);
    const char *out = s->resp.out;
    ck_assert_msg(out && strstr(out, "event: connected"), "no connected event: %s", out);
    ck_assert(strstr(out, "Content-Type: text/event-stream\r\n") != NULL);
    ck_assert(strstr(out, "Cache-Control: no-cache\r\n") != NULL);
    ck_assert(strstr(out, "X-Accel-Buffering: no\r\n") != NULL);
    ck_assert(strstr(out, "retry: ") != NULL);
    const char *id = strstr(out, "\"connection_id\":\"");
    ck_assert_ptr_nonnull(id);
    sscanf(id + 17, "%63[^\"]", s->token);
    ck_assert_uint_eq(strlen(s->token), 36);
    ck_assert_int_eq(id[17 + 36], '"');
}

static void open_stream(struct stream *s, const char *path, const char *user, enum style style)
{
    open_stream_q(s, path, NULL, user, style);
}

static void close_stream(struct stream *s)
{
    close(s->fd);
    fcgi_response_free(&s->resp);
}

static void disconnect(const char *token, bool expect)
{
    char body[128];
    snprintf(body, sizeof body, "{\"connection_id\":\"%s\"}", token);
    struct req r = { "POST", "/disconnect", .style = NGINX, .content_type = "text/plain;charset=UTF-8",
                     .body = body };
    struct json_object *o;
    ck_assert_int_eq(call(&r, &o, NULL), 200);
    ck_assert(json_object_get_boolean(get(o, "success")));
    ck_assert_str_eq(json_object_get_string(get(o, "data.connection_id")), token);
    ck_assert_int_eq(json_object_get_boolean(get(o, "data.disconnected")), expect);
    json_object_put(o);
}

/* ---- short routes -------------------------------------------------------- */

START_TEST(stats_in_both_styles)
{
    for (int style = NGINX; style <= LIGHTTPD; style++) {
        struct json_object *o;
        struct req r = { "GET", "/stats", .style = style, .user = "admin", .query = "x=1" };
        ck_assert_int_eq(call(&r, &o, NULL), 200);
        ck_assert(json_object_get_boolean(get(o, "success")));
        ck_assert_int_eq(json_object_get_int(get(o, "data.total_connections")), 0);
        ck_assert_ptr_nonnull(get(o, "data.connection_details.by_type.admin"));
        ck_assert_ptr_nonnull(get(o, "data.average_connection_age_seconds"));
        ck_assert_ptr_nonnull(get(o, "message"));
        json_object_put(o);
    }
}
END_TEST

START_TEST(route_errors)
{
    struct req r404 = { "GET", "/nope", .style = NGINX, .user = "admin" };
    expect_error(&r404, 404, "NOT_FOUND");
    struct req r404l = { "GET", "/stats/x", .style = LIGHTTPD, .user = "admin" };
    expect_error(&r404l, 404, "NOT_FOUND");
    struct req r405 = { "POST", "/stats", .style = NGINX, .user = "admin", .body = "{}" };
    expect_error(&r405, 405, "METHOD_NOT_ALLOWED");
    struct req r405b = { "GET", "/disconnect", .style = LIGHTTPD };
    expect_error(&r405b, 405, "METHOD_NOT_ALLOWED");
    struct req r405c = { "DELETE", "/admin", .style = NGINX, .user = "admin" };
    expect_error(&r405c, 405, "METHOD_NOT_ALLOWED");
    for (int style = NGINX; style <= LIGHTTPD; style++) {
        struct req r401 = { "GET", "/stats", .style = style };
        expect_error(&r401, 401, "AUTHENTICATION_REQUIRED");
        struct req r401s = { "GET", "/admin", .style = style };
        expect_error(&r401s, 401, "AUTHENTICATION_REQUIRED");
        struct req r401t = { "POST", "/test", .style = style, .body = "{}" };
        expect_error(&r401t, 401, "AUTHENTICATION_REQUIRED");
        struct req r401p = { "POST", "/publish", .style = style, .body = "{\"event\":\"a\"}" };
        expect_error(&r401p, 401, "AUTHENTICATION_REQUIRED");
        /* a client's Remote-User: header arrives as HTTP_REMOTE_USER */
        struct req spoof = { "GET", "/stats", .style = style,
                             .extra_name = "HTTP_REMOTE_USER", .extra_value = "admin" };
        expect_error(&spoof, 401, "AUTHENTICATION_REQUIRED");
    }
    struct req bad_display = { "GET", "/display/bad%20name", .style = NGINX };
    expect_error(&bad_display, 400, "BAD_REQUEST");
    char long_name[100];
    snprintf(long_name, sizeof long_name, "/display/%065d", 0);
    struct req long_display = { "GET", long_name, .style = LIGHTTPD };
    expect_error(&long_display, 400, "BAD_REQUEST");
}
END_TEST

START_TEST(disconnect_errors)
{
    const char *bodies[] = { "", "   ", "{", "not json", "[]", "{}", "{\"connection_id\":\"\"}",
                             "{\"connection_id\":5}", "{\"connection_id\":null}",
                             "{\"connection_id\":[\"x\"]}", "{\"connection_id\":\"a\"} trailing" };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct req r = { "POST", "/disconnect", .style = i % 2 ? NGINX : LIGHTTPD,
                         .content_type = "application/json", .body = bodies[i] };
        expect_error(&r, 400, "BAD_REQUEST");
    }
    char big[5000];
    memset(big, ' ', sizeof big - 1);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    struct req r413 = { "POST", "/disconnect", .style = NGINX, .content_type = "application/json",
                        .body = big };
    expect_error(&r413, 413, "PAYLOAD_TOO_LARGE");
    /* a huge declared length is refused before reading */
    struct req huge = { "POST", "/disconnect", .style = NGINX, .content_type = "application/json",
                        .body = "{}", .content_length = "99999999999" };
    expect_error(&huge, 413, "PAYLOAD_TOO_LARGE");
    static const char *const bad_lengths[] = { "-2", "+2", " 2", "2x", "0x2", "99999999999999999999" };
    for (size_t i = 0; i < sizeof bad_lengths / sizeof *bad_lengths; i++) {
        struct req neg = { "POST", "/disconnect", .style = NGINX, .content_type = "application/json",
                           .body = "{}", .content_length = bad_lengths[i] };
        expect_error(&neg, 400, "BAD_REQUEST");
    }
    /* No length, or -1 (a chunked body as Caddy passes it): read to the end
     * of stdin, within the route's limit. */
    static const char *const unknown_lengths[] = { "-1", "" };
    for (size_t i = 0; i < 2; i++) {
        struct req chunked = { "POST", "/disconnect", .style = NGINX, .content_type = "text/plain",
                               .body = "{\"connection_id\":\"not-a-token\"}",
                               .content_length = unknown_lengths[i] };
        struct json_object *o;
        ck_assert_int_eq(call(&chunked, &o, NULL), 200);
        ck_assert_int_eq(json_object_get_boolean(get(o, "data.disconnected")), 0);
        json_object_put(o);
        struct req chunked_big = { "POST", "/disconnect", .style = NGINX,
                                   .content_type = "application/json", .body = big,
                                   .content_length = unknown_lengths[i] };
        expect_error(&chunked_big, 413, "PAYLOAD_TOO_LARGE");
    }
    struct req shortbody = { "POST", "/disconnect", .style = NGINX,
                             .content_type = "application/json", .body = "{}",
                             .content_length = "100" };
    expect_error(&shortbody, 400, "BAD_REQUEST");
    struct req r415 = { "POST", "/disconnect", .style = LIGHTTPD,
                        .content_type = "application/x-www-form-urlencoded",
                        .body = "connection_id=x" };
    expect_error(&r415, 415, "UNSUPPORTED_MEDIA_TYPE");
    char nul[] = "{\"connection_id\":\"a\"}";
    nul[5] = '\0';
    struct req withnul = { "POST", "/disconnect", .style = NGINX, .content_type = "text/plain",
                           .body = nul, .content_length = "21" };
    (void)withnul;                  /* strlen() cuts at the NUL: see body tests */
    /* unknown, malformed or over-long ids are simply not connected */
    disconnect("00000000-0000-4000-8000-000000000000", false);
    disconnect("not-a-token", false);
    disconnect("00000000-0000-4000-8000-000000000000-extra", false);
}
END_TEST

START_TEST(test_and_publish_errors)
{
    struct req bad_type = { "POST", "/test", .style = NGINX, .user = "admin",
                            .content_type = "application/json", .body = "{\"type\":\"a b\"}" };
    expect_error(&bad_type, 400, "BAD_REQUEST");
    struct req bad_json = { "POST", "/test", .style = LIGHTTPD, .user = "admin",
                            .content_type = "application/json", .body = "{" };
    expect_error(&bad_json, 400, "BAD_REQUEST");
    const char *bad[] = { "{}", "{\"event\":\"a b\"}", "{\"event\":\"a\",\"target\":\"x\"}",
                          "{\"event\":3}", "[1]", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct req r = { "POST", "/publish", .style = NGINX, .user = "admin",
                         .content_type = "application/json", .body = bad[i] };
        expect_error(&r, 400, "BAD_REQUEST");
    }
    static char big[70000];
    memset(big, 'a', sizeof big - 1);
    struct req r413 = { "POST", "/publish", .style = NGINX, .user = "admin",
                        .content_type = "application/json", .body = big };
    expect_error(&r413, 413, "PAYLOAD_TOO_LARGE");
    struct req r415 = { "POST", "/publish", .style = NGINX, .user = "admin",
                        .content_type = "text/html", .body = "{\"event\":\"a\"}" };
    expect_error(&r415, 415, "UNSUPPORTED_MEDIA_TYPE");
    /* nothing was broken by all that */
    ck_assert_int_eq(stats_total(NGINX), 0);
}
END_TEST

/* GET /metrics as an admin, into resp (free it with fcgi_response_free). */
static void read_metrics(struct fcgi_response *resp)
{
    struct req m = { "GET", "/metrics", .style = NGINX, .user = "admin" };
    int fd = send_req(&m);
    ck_assert_int_eq(fcgi_read(fd, resp, NULL, 5000), 0);
    close(fd);
    ck_assert_int_eq(fcgi_status(resp), 200);
}

/* The value of an unlabelled counter in /metrics. */
static long long metric(const char *name)
{
    struct fcgi_response resp = { 0 };
    read_metrics(&resp);
    char line[128];
    snprintf(line, sizeof line, "\n%s ", name);
    const char *at = strstr(resp.out, line);
    ck_assert_msg(at != NULL, "metrics lack %s", name);
    long long v = strtoll(at + strlen(line), NULL, 10);
    fcgi_response_free(&resp);
    return v;
}

START_TEST(metrics_and_health)
{
    struct json_object *o;
    struct req health = { "GET", "/health", .style = LIGHTTPD };
    ck_assert_int_eq(call(&health, &o, NULL), 200);
    ck_assert_str_eq(json_object_get_string(get(o, "data.status")), "ok");
    json_object_put(o);
    struct stream st;
    open_stream_q(&st, "/display/m", "ack=1", NULL, NGINX);
    stats_total(NGINX);
    struct req anon = { "GET", "/metrics", .style = NGINX };
    expect_error(&anon, 401, "AUTHENTICATION_REQUIRED");
    struct fcgi_response resp = { 0 };
    read_metrics(&resp);
    const char *want[] = {
        "Content-Type: text/plain; version=0.0.4",
        "sse_connections{type=\"display\",state=\"live\"} 1\n",
        "sse_streams_opened_total 1\n",
        "sse_requests_total{route=\"stats\",code=\"200\"} 1\n",
        "sse_requests_total{route=\"metrics\",code=\"401\"} 1\n",
        "sse_request_duration_seconds_count{route=\"health\"} 1\n",
        "sse_connections_closed_total{reason=\"ack_timeout\"} 0\n",
        "sse_pace_giveups_total 0\n",
        "# TYPE sse_request_duration_seconds histogram\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(resp.out, want[i]) != NULL, "metrics lack %s", want[i]);
    fcgi_response_free(&resp);
    disconnect(st.token, true);
    close_stream(&st);
}
END_TEST

/* ---- streams ------------------------------------------------------------- */

START_TEST(stream_lifecycle)
{
    struct stream a, d;
    open_stream(&a, "/admin", "alice", NGINX);
    open_stream(&d, "/display/lobby", NULL, LIGHTTPD);
    ck_assert(strstr(a.resp.out, "\"connection_type\":\"admin\"") != NULL);
    ck_assert(strstr(d.resp.out, "\"connection_type\":\"display\"") != NULL);
    ck_assert_str_ne(a.token, d.token);

    struct json_object *o;
    struct req st = { "GET", "/stats", .style = NGINX, .user = "root" };
    char *raw;
    ck_assert_int_eq(call(&st, &o, &raw), 200);
    ck_assert_int_eq(json_object_get_int(get(o, "data.total_connections")), 2);
    ck_assert_int_eq(json_object_get_int(get(o, "data.admin_connections")), 1);
    ck_assert_int_eq(json_object_get_int(get(o, "data.display_connections")), 1);
    ck_assert_msg(!strstr(raw, a.token) && !strstr(raw, d.token), "stats shows a token");
    struct json_object *adm = json_object_array_get_idx(get(o, "data.connection_details.by_type.admin"), 0);
    ck_assert_str_eq(json_object_get_string(get(adm, "user")), "alice");
    struct json_object *dis = json_object_array_get_idx(get(o, "data.connection_details.by_type.display"), 0);
    ck_assert_str_eq(json_object_get_string(get(dis, "display")), "lobby");
    free(raw);
    json_object_put(o);

    /* a published event reaches the display only, with an id */
    struct req pub = { "POST", "/publish", .style = NGINX, .user = "root",
                       .content_type = "application/json",
                       .body = "{\"event\":\"news\",\"data\":{\"text\":\"a\\nb\"},\"target\":\"display\"}" };
    ck_assert_int_eq(call(&pub, &o, NULL), 200);
    ck_assert_int_eq(json_object_get_int(get(o, "data.connections_notified")), 1);
    long long id = (long long)json_object_get_int64(get(o, "data.id"));
    ck_assert_int_gt(id, 0);
    json_object_put(o);
    ck_assert_int_eq(fcgi_read(d.fd, &d.resp, "event: news", 2000), 0);
    char expect[128];
    snprintf(expect, sizeof expect, "id: %lld\nevent: news\ndata: {\"text\":\"a\\nb\",\"timestamp\":\"", id);
    ck_assert_msg(strstr(d.resp.out, expect) != NULL, "got %s", d.resp.out);

    /* a test event reaches admins only */
    struct req test = { "POST", "/test", .style = LIGHTTPD, .user = "root",
                        .content_type = "application/json", .body = "{\"message\":\"hello\"}" };
    ck_assert_int_eq(call(&test, &o, NULL), 200);
    ck_assert_int_eq(json_object_get_int(get(o, "data.connections_notified")), 1);
    ck_assert_str_eq(json_object_get_string(get(o, "data.event_type")), "system.test_event");
    ck_assert_ptr_nonnull(get(o, "data.broadcast_at"));
    json_object_put(o);
    ck_assert_int_eq(fcgi_read(a.fd, &a.resp, "\"test_event\":true", 2000), 0);
    ck_assert(strstr(a.resp.out, "event: system.test_event\n") != NULL);
    ck_assert(strstr(a.resp.out, "\"username\":\"root\"") != NULL);

    /* events are counted when written: the client may read one a moment
     * before its loop has counted it */
    int64_t until = time_mono_ms() + 1000;
    for (;;) {
        ck_assert_int_eq(call(&st, &o, NULL), 200);
        if (json_object_get_int(get(o, "data.events_sent_last_hour")) == 2 ||
            time_mono_ms() > until)
            break;
        json_object_put(o);
        sleep_ms(5);
    }
    ck_assert_int_eq(json_object_get_int(get(o, "data.events_sent_last_hour")), 2);
    adm = json_object_array_get_idx(get(o, "data.connection_details.by_type.admin"), 0);
    ck_assert_int_eq(json_object_get_int(get(adm, "events_sent")), 1);
    json_object_put(o);

    /* disconnect: removed now, stream ends, idempotent */
    disconnect(a.token, true);
    ck_assert_int_eq(stats_total(NGINX), 1);
    ck_assert_int_eq(fcgi_read(a.fd, &a.resp, NULL, 2000), 0);
    ck_assert(a.resp.ended);
    disconnect(a.token, false);
    disconnect(d.token, true);
    ck_assert_int_eq(stats_total(LIGHTTPD), 0);
    close(a.fd);
    close(d.fd);
    fcgi_response_free(&a.resp);
    fcgi_response_free(&d.resp);
}
END_TEST

START_TEST(stream_heartbeats)
{
    struct stream s;
    open_stream(&s, "/display/hb", NULL, NGINX);
    int64_t start = time_mono_ms();
    ck_assert_int_eq(fcgi_read(s.fd, &s.resp, "event: ping", 5 * HEARTBEAT_MS), 0);
    const char *first = strstr(s.resp.out, "event: ping\ndata: {\"message\":\"keep-alive\",\"timestamp\":\"");
    ck_assert_msg(first != NULL, "no ping: %s", s.resp.out);
    struct fcgi_response next = { 0 };                 /* what follows the first */
    ck_assert_int_eq(fcgi_read(s.fd, &next, "event: ping", 5 * HEARTBEAT_MS), 0);
    size_t pings = 0;
    for (const struct fcgi_response *r = &s.resp; r; r = r == &s.resp ? &next : NULL)
        for (const char *p = r->out; (p = strstr(p, "event: ping")); p++)
            pings++;
    int64_t took = time_mono_ms() - start;
    /* at least 2 pings, no more than one per heartbeat */
    ck_assert_uint_ge(pings, 2);
    ck_assert_int_le((int64_t)pings, took / HEARTBEAT_MS + 1);
    disconnect(s.token, true);
    close(s.fd);
    fcgi_response_free(&s.resp);
    fcgi_response_free(&next);
}
END_TEST

START_TEST(stream_client_gone)
{
    /* the web server closing the request is seen without a heartbeat */
    for (int i = 0; i < 7; i++) {
        struct stream s;
        open_stream(&s, "/admin", "admin", i % 2 ? NGINX : LIGHTTPD);
        close(s.fd);
        fcgi_response_free(&s.resp);
    }
    struct stream live;
    open_stream(&live, "/admin", "admin", NGINX);
    ck_assert_int_eq(await_total(1, HEARTBEAT_MS / 2), 1);
    disconnect(live.token, true);
    close(live.fd);
    fcgi_response_free(&live.resp);
}
END_TEST

START_TEST(stream_write_failure)
{
    /* The peer stops reading: nothing arrives to poll, so only the next
     * heartbeat's failed write can tell, and the entry must go then. */
    struct stream s;
    open_stream(&s, "/display/w", NULL, NGINX);
    ck_assert_int_eq(stats_total(NGINX), 1);
    shutdown(s.fd, SHUT_RD);
    ck_assert_int_eq(await_total(0, 3 * HEARTBEAT_MS), 0);
    disconnect(s.token, false);
    close(s.fd);
    fcgi_response_free(&s.resp);
}
END_TEST

START_TEST(stream_many_with_few_threads)
{
    /* streams never occupy the pool: 4 workers, 60 streams, short routes
     * still answer */
    enum { N = 60 };
    static struct stream s[N];
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof path, i % 2 ? "/admin" : "/display/k%d", i);
        open_stream(&s[i], path, "admin", i % 3 ? NGINX : LIGHTTPD);
    }
    ck_assert_int_eq(stats_total(NGINX), N);
    ck_assert_uint_eq(server_streams(srv), N);
    for (int i = 0; i < N; i += 2)
        disconnect(s[i].token, true);
    ck_assert_int_eq(stats_total(LIGHTTPD), N / 2);
    for (int i = 0; i < N; i++) {
        close(s[i].fd);
        fcgi_response_free(&s[i].resp);
    }
    ck_assert_int_eq(await_total(0, 1000), 0);
}
END_TEST

START_TEST(stream_shutdown)
{
    struct stream a, b;
    open_stream(&a, "/admin", "admin", NGINX);
    open_stream(&b, "/display/x", NULL, LIGHTTPD);
    int64_t start = time_mono_ms();
    ck_assert_uint_eq(server_stop(srv, start + 2000), 0);
    ck_assert_int_lt(time_mono_ms() - start, 2000);
    for (struct stream *s = &a; s; s = s == &a ? &b : NULL) {
        ck_assert_int_eq(fcgi_read(s->fd, &s->resp, NULL, 2000), 0);
        ck_assert_msg(strstr(s->resp.out, "event: shutdown\n") != NULL, "%s", s->resp.out);
        ck_assert(s->resp.ended);
        close(s->fd);
        fcgi_response_free(&s->resp);
    }
    server_free(srv);
    srv = NULL;
}
END_TEST

/* ---- liveness, superseding, close reasons ------------------------------- */

static bool ack(const char *token, int seq)
{
    char body[128];
    snprintf(body, sizeof body, "{\"connection_id\":\"%s\",\"seq\":%d}", token, seq);
    struct req r = { "POST", "/ack", .style = LIGHTTPD, .content_type = "text/plain", .body = body };
    struct json_object *o;
    ck_assert_int_eq(call(&r, &o, NULL), 200);
    bool acked = json_object_get_boolean(get(o, "data.acked"));
    if (acked)
        ck_assert_int_ge(json_object_get_int(get(o, "data.rtt_ms")), 0);
    json_object_put(o);
    return acked;
}

/* The state stats gives the connection with this public id, or "gone". */
static const char *state_of(const char *public_id)
{
    static char state[16];
    struct json_object *o;
    struct req r = { "GET", "/stats", .style = NGINX, .user = "admin" };
    ck_assert_int_eq(call(&r, &o, NULL), 200);
    snprintf(state, sizeof state, "gone");
    struct json_object *list = get(o, "data.connections");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *c = json_object_array_get_idx(list, i);
        if (strcmp(json_object_get_string(get(c, "id")), public_id) == 0)
            snprintf(state, sizeof state, "%s", json_object_get_string(get(c, "state")));
    }
    json_object_put(o);
    return state;
}

static void public_id_of(const struct stream *s, char *out)
{
    const char *p = strstr(s->resp.out, "\"public_id\":\"");
    ck_assert_ptr_nonnull(p);
    sscanf(p + 13, "%31[^\"]", out);
}

/* True if the closed log lists this public id with this reason. */
static bool closed_with(const char *public_id, const char *reason)
{
    struct json_object *o;
    struct req r = { "GET", "/closed", .style = LIGHTTPD, .user = "admin" };
    ck_assert_int_eq(call(&r, &o, NULL), 200);
    bool found = false;
    struct json_object *list = get(o, "data.closed");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *c = json_object_array_get_idx(list, i);
        if (strcmp(json_object_get_string(get(c, "id")), public_id) == 0) {
            found = strcmp(json_object_get_string(get(c, "reason")), reason) == 0;
            if (!found && getenv("SSE_CHECK_VERBOSE"))
                fprintf(stderr, "%s closed as %s\n", public_id,
                        json_object_get_string(get(c, "reason")));
        }
    }
    json_object_put(o);
    return found;
}


START_TEST(acked_liveness)
{
    struct stream a, plain;
    char id[32], plain_id[32];
    open_stream_q(&a, "/display/acked", "ack=1&client=k1", NULL, NGINX);
    open_stream(&plain, "/display/plain", NULL, LIGHTTPD);
    public_id_of(&a, id);
    public_id_of(&plain, plain_id);
    ck_assert(strstr(a.resp.out, "\"ack\":true") != NULL);
    ck_assert(strstr(a.resp.out, "\"client\":\"k1\"") != NULL);
    ck_assert(strstr(plain.resp.out, "\"ack\":false") != NULL);
    ck_assert(!ack(a.token, 1));                        /* not sent yet */
    /* a client that acks every ping stays live */
    for (int seq = 1; seq <= 4; seq++) {
        char want[32];
        snprintf(want, sizeof want, "\"seq\":%d,", seq);
        ck_assert_int_eq(fcgi_read(a.fd, &a.resp, want, 3 * HEARTBEAT_MS), 0);
        ck_assert_msg(strstr(a.resp.out, want) != NULL, "no ping %d", seq);
        ck_assert(ack(a.token, seq));
        ck_assert_str_eq(state_of(id), "live");
    }
    /* then it stops: stale after 2 heartbeats, gone after 3 */
    int64_t stopped = time_mono_ms();
    while (strcmp(state_of(id), "live") == 0 && time_mono_ms() - stopped < 4 * HEARTBEAT_MS)
        sleep_ms(10);
    int64_t stale_at = time_mono_ms() - stopped;
    ck_assert_str_eq(state_of(id), "stale");
    while (strcmp(state_of(id), "gone") != 0 && time_mono_ms() - stopped < 6 * HEARTBEAT_MS)
        sleep_ms(10);
    int64_t gone_at = time_mono_ms() - stopped;
    ck_assert_str_eq(state_of(id), "gone");
    printf("acked stream: stale after %lld ms, closed after %lld ms (heartbeat %d ms)\n",
           (long long)stale_at, (long long)gone_at, HEARTBEAT_MS);
    ck_assert_int_ge(stale_at, HEARTBEAT_MS);          /* not before its time */
    ck_assert_int_ge(gone_at, 2 * HEARTBEAT_MS);
    ck_assert(closed_with(id, "ack_timeout"));
    ck_assert_int_eq(fcgi_read(a.fd, &a.resp, NULL, 2000), 0);
    ck_assert(strstr(a.resp.out, "event: closed\n") && strstr(a.resp.out, "\"reason\":\"ack_timeout\""));
    /* the plain stream never acked and is still there */
    ck_assert_str_eq(state_of(plain_id), "live");
    disconnect(plain.token, true);
    ck_assert(closed_with(plain_id, "disconnect_route"));
    close_stream(&a);
    close_stream(&plain);
}
END_TEST

START_TEST(superseding_streams)
{
    struct stream old, young, other, d1, d2;
    char old_id[32], d1_id[32];
    open_stream_q(&old, "/admin", "client=tab1", "alice", NGINX);
    open_stream_q(&other, "/admin", "client=tab1", "bob", NGINX);       /* other user */
    open_stream_q(&young, "/admin", "client=tab1", "alice", LIGHTTPD);
    public_id_of(&old, old_id);
    ck_assert_int_eq(fcgi_read(old.fd, &old.resp, NULL, 2000), 0);
    ck_assert_msg(strstr(old.resp.out, "event: superseded\n") != NULL, "%s", old.resp.out);
    ck_assert(old.resp.ended);
    ck_assert(closed_with(old_id, "superseded"));
    ck_assert_int_eq(stats_total(NGINX), 2);
    /* displays: the name alone takes no screen over (409, the live one
     * untouched); the same client id (the same browser) replaces it */
    open_stream_q(&d1, "/display/lobby", "client=kiosk-1", NULL, NGINX);
    public_id_of(&d1, d1_id);
    struct req thief = { "GET", "/display/lobby", .query = "client=other", .style = NGINX };
    char *raw;
    struct json_object *o;
    ck_assert_int_eq(call(&thief, &o, &raw), 409);
    ck_assert_str_eq(json_object_get_string(get(o, "error_info.code")), "CONFLICT");
    ck_assert_str_eq(json_object_get_string(get(o, "message")),
                     "Display lobby is live on another screen");
    ck_assert_msg(strstr(raw, "Retry-After: 1\r\n") != NULL, "%s", raw);  /* a heartbeat, rounded up */
    free(raw);
    json_object_put(o);
    struct req bare = { "GET", "/display/lobby", .style = LIGHTTPD };
    expect_error(&bare, 409, "CONFLICT");
    ck_assert_str_eq(state_of(d1_id), "live");
    ck_assert_int_eq(fcgi_read(d1.fd, &d1.resp, "event: superseded", 3 * HEARTBEAT_MS), 1);
    ck_assert(!d1.resp.ended);
    open_stream_q(&d2, "/display/lobby", "client=kiosk-1", NULL, NGINX);
    ck_assert(closed_with(d1_id, "superseded"));
    ck_assert_int_eq(fcgi_read(d1.fd, &d1.resp, NULL, 2000), 0);
    ck_assert(strstr(d1.resp.out, "event: superseded\n") != NULL);
    ck_assert_int_eq(stats_total(NGINX), 3);
    disconnect(young.token, true);
    disconnect(other.token, true);
    disconnect(d2.token, true);
    struct stream *all[] = { &old, &young, &other, &d1, &d2 };
    for (int i = 0; i < 5; i++)
        close_stream(all[i]);
}
END_TEST

START_TEST(admin_close_and_reasons)
{
    struct stream a, gone, deaf;
    char id[32], gone_id[32], deaf_id[32];
    open_stream(&a, "/display/a", NULL, NGINX);
    open_stream(&gone, "/display/b", NULL, NGINX);
    open_stream(&deaf, "/display/c", NULL, NGINX);
    public_id_of(&a, id);
    public_id_of(&gone, gone_id);
    public_id_of(&deaf, deaf_id);
    char path[64];
    snprintf(path, sizeof path, "/connections/%s", id);
    struct req del = { "DELETE", path, .style = NGINX, .user = "admin" };
    struct json_object *o;
    ck_assert_int_eq(call(&del, &o, NULL), 200);
    ck_assert(json_object_get_boolean(get(o, "data.closed")));
    json_object_put(o);
    ck_assert_str_eq(state_of(id), "gone");
    expect_error(&del, 404, "NOT_FOUND");
    struct req get405 = { "GET", path, .style = NGINX, .user = "admin" };
    expect_error(&get405, 405, "METHOD_NOT_ALLOWED");
    struct req anon = { "DELETE", path, .style = NGINX };
    expect_error(&anon, 401, "AUTHENTICATION_REQUIRED");
    struct req bogus = { "DELETE", "/connections/not%20an%20id", .style = NGINX, .user = "admin" };
    expect_error(&bogus, 404, "NOT_FOUND");
    ck_assert_int_eq(fcgi_read(a.fd, &a.resp, NULL, 2000), 0);
    ck_assert(strstr(a.resp.out, "\"reason\":\"admin_closed\"") != NULL);
    ck_assert(closed_with(id, "admin_closed"));
    close(gone.fd);                                     /* hangup seen */
    shutdown(deaf.fd, SHUT_RD);                         /* next write fails */
    ck_assert_int_eq(await_total(0, 4 * HEARTBEAT_MS), 0);
    ck_assert(closed_with(gone_id, "client_closed"));
    ck_assert(closed_with(deaf_id, "write_failed"));
    close_stream(&a);
    fcgi_response_free(&gone.resp);
    close_stream(&deaf);
}
END_TEST

/* A number of the closed log's entry for this public id (-1 if none). */
static long long closed_number(const char *public_id, const char *field)
{
    struct json_object *o;
    struct req r = { "GET", "/closed", .style = NGINX, .user = "admin" };
    ck_assert_int_eq(call(&r, &o, NULL), 200);
    long long v = -1;
    struct json_object *list = get(o, "data.closed");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *c = json_object_array_get_idx(list, i);
        if (strcmp(json_object_get_string(get(c, "id")), public_id) == 0)
            v = json_object_get_int64(get(c, field));
    }
    json_object_put(o);
    return v;
}

START_TEST(slow_consumer_dropped)
{
    /* A client that reads nothing: its socket fills, its output grows
     * past OUTPUT_MAX and it is dropped.  Every event queued for it is
     * either sent (written whole) or counted in sse_events_dropped_total
     * -- most of them had gone from its queue into its output by then. */
    struct stream slow, fast;
    char slow_id[32];
    open_stream(&slow, "/display/slow", NULL, NGINX);
    open_stream(&fast, "/admin", "admin", NGINX);
    public_id_of(&slow, slow_id);
    long long dropped_before = metric("sse_events_dropped_total");
    static char body[40000];
    int n = snprintf(body, sizeof body, "{\"event\":\"big\",\"target\":\"display\",\"data\":{\"x\":\"");
    memset(body + n, 'x', sizeof body - (size_t)n - 8);
    strcpy(body + sizeof body - 8, "\"}}");
    long long notified = 0;
    for (int i = 0; i < CONN_QUEUE_MAX + 40 && strcmp(state_of(slow_id), "gone") != 0; i++) {
        struct req pub = { "POST", "/publish", .style = NGINX, .user = "admin",
                           .content_type = "application/json", .body = body };
        struct json_object *o;
        ck_assert_int_eq(call(&pub, &o, NULL), 200);
        notified += json_object_get_int(get(o, "data.connections_notified"));
        json_object_put(o);
    }
    ck_assert_str_eq(state_of(slow_id), "gone");
    ck_assert(closed_with(slow_id, "slow_consumer"));
    ck_assert_int_eq(stats_total(NGINX), 1);            /* the other one is fine */
    long long sent = closed_number(slow_id, "events_sent");
    /* stats says gone once it left the registry; its loop counts what it
     * dropped a moment later, as it closes the socket */
    long long dropped = 0;
    for (int64_t t0 = time_mono_ms(); time_mono_ms() - t0 < 2000; sleep_ms(10))
        if ((dropped = metric("sse_events_dropped_total") - dropped_before) == notified - sent)
            break;
    if (getenv("SSE_CHECK_VERBOSE"))
        printf("slow consumer: %lld queued, %lld sent, %lld dropped\n", notified, sent, dropped);
    ck_assert_int_gt(notified, sent);
    ck_assert_int_eq(dropped, notified - sent);
    disconnect(fast.token, true);
    close_stream(&slow);
    close_stream(&fast);
}
END_TEST

/* ---- reconnects with Last-Event-ID --------------------------------------- */

static long long publish(const char *event, const char *target_json)
{
    char body[256];
    snprintf(body, sizeof body, "{\"event\":\"%s\",\"data\":{\"n\":1}%s}", event, target_json);
    struct req pub = { "POST", "/publish", .style = NGINX, .user = "admin",
                       .content_type = "application/json", .body = body };
    struct json_object *o;
    ck_assert_int_eq(call(&pub, &o, NULL), 200);
    long long id = (long long)json_object_get_int64(get(o, "data.id"));
    json_object_put(o);
    return id;
}

START_TEST(last_event_id_replay)
{
    long long first = publish("e1", "");
    long long for_other = publish("e2", ",\"target\":\"display\",\"display\":\"other\"");
    long long second = publish("e3", ",\"target\":\"display\"");
    long long admins = publish("e4", ",\"target\":\"admin\"");
    ck_assert_int_gt(for_other, first);
    /* ?lastEventId= from the first: e3 only (e2 is another display's, e4 admins') */
    char q[64];
    snprintf(q, sizeof q, "lastEventId=%lld", first);
    struct stream s;
    open_stream_q(&s, "/display/lobby", q, NULL, NGINX);
    ck_assert_int_eq(fcgi_read(s.fd, &s.resp, "event: e3", 1000), 0);
    ck_assert(strstr(s.resp.out, "event: e3") != NULL);
    ck_assert(strstr(s.resp.out, "event: e1") == NULL);
    ck_assert(strstr(s.resp.out, "event: e2") == NULL);
    ck_assert(strstr(s.resp.out, "event: e4") == NULL);
    (void)second;
    (void)admins;
    /* then live ones, in order, once */
    long long live = publish("e5", "");
    char want[64];
    snprintf(want, sizeof want, "id: %lld\nevent: e5", live);
    ck_assert_int_eq(fcgi_read(s.fd, &s.resp, want, 1000), 0);
    ck_assert(strstr(s.resp.out, want) != NULL);
    disconnect(s.token, true);
    close_stream(&s);
    /* the Last-Event-ID header (what EventSource sends), nothing missed */
    char hdr[32];
    snprintf(hdr, sizeof hdr, "%lld", live);
    struct req r = { "GET", "/admin", .style = LIGHTTPD, .user = "admin",
                     .extra_name = "HTTP_LAST_EVENT_ID", .extra_value = hdr };
    struct stream a = { .fd = send_req(&r) };
    ck_assert_int_eq(fcgi_read(a.fd, &a.resp, "event: connected", 1000), 0);
    fcgi_read(a.fd, &a.resp, "event: ping", HEARTBEAT_MS * 2);
    ck_assert(strstr(a.resp.out, "event: e") == NULL);
    ck_assert(strstr(a.resp.out, "event: reset") == NULL);
    close_stream(&a);
    /* an id from before this run, or never issued: reset */
    /* (the same client id: each replaces the last at once, if its close
     * has not been seen yet) */
    const char *stale[] = { "lastEventId=1&client=r", "lastEventId=99999999999999&client=r" };
    for (int i = 0; i < 2; i++) {
        open_stream_q(&s, "/display/lobby", stale[i], NULL, NGINX);
        ck_assert_int_eq(fcgi_read(s.fd, &s.resp, "event: reset", 1000), 0);
        ck_assert_msg(strstr(s.resp.out, "event: reset\n") != NULL, "%s", s.resp.out);
        close_stream(&s);
    }
    /* a stream that got no broadcast yet resumes from its connected id */
    open_stream(&s, "/display/quiet", NULL, NGINX);
    const char *idl = strstr(s.resp.out, "id: ");
    ck_assert_msg(idl && idl < strstr(s.resp.out, "event: connected"), "%s", s.resp.out);
    long long start_id = atoll(idl + 4);
    ck_assert_int_eq(start_id, live);                   /* the newest issued */
    close_stream(&s);
    long long missed = publish("e6", ",\"target\":\"display\",\"display\":\"quiet\"");
    snprintf(q, sizeof q, "lastEventId=%lld", start_id);
    open_stream_q(&s, "/display/quiet", q, NULL, NGINX);
    snprintf(want, sizeof want, "id: %lld\nevent: e6", missed);
    ck_assert_int_eq(fcgi_read(s.fd, &s.resp, want, 1000), 0);
    ck_assert_msg(strstr(s.resp.out, want) != NULL, "%s", s.resp.out);
    close_stream(&s);
    struct req bad = { "GET", "/display/lobby", .query = "lastEventId=abc", .style = NGINX };
    expect_error(&bad, 400, "BAD_REQUEST");
    ck_assert_int_eq(await_total(0, 1000), 0);
}
END_TEST

/* ---- races ------------------------------------------------------------- */

/* Publishes to everyone about 500 times a second until told to stop, so
 * broadcasts reach streams at every stage, from registered-not-started on
 * (faster, and streams nobody reads would be dropped as slow consumers). */
static void *publisher_main(void *arg)
{
    atomic_bool *stop = arg;
    static const char body[] = "{\"event\":\"tick\",\"data\":{\"n\":1}}";
    char cl[16];
    snprintf(cl, sizeof cl, "%zu", sizeof body - 1);
    struct fcgi_param p[] = {
        { "REQUEST_METHOD", "POST" }, { "DOCUMENT_URI", PREFIX "/publish" },
        { "REMOTE_USER", "admin" }, { "CONTENT_TYPE", "application/json" },
        { "CONTENT_LENGTH", cl },
    };
    while (!atomic_load(stop)) {
        int fd = fcgi_connect(sock);
        if (fd < 0)
            continue;
        struct fcgi_response r = { 0 };
        if (fcgi_send(fd, p, 5, body, sizeof body - 1) == 0)
            fcgi_read(fd, &r, NULL, 2000);
        fcgi_response_free(&r);
        close(fd);
        sleep_ms(2);
    }
    return NULL;
}

START_TEST(streams_amid_broadcasts)
{
    /* Streams opened, ended every way and freed while events fly: the
     * loops' lists and the registry must hold (run under ASan and TSan). */
    enum { N = 300 };
    static struct stream s[N];
    atomic_bool stop = false;
    pthread_t pub;
    pthread_create(&pub, NULL, publisher_main, &stop);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            char path[32];
            snprintf(path, sizeof path, i % 2 ? "/admin" : "/display/r%d", i);
            open_stream(&s[i], path, "admin", i % 3 ? NGINX : LIGHTTPD);
        }
        for (int i = 0; i < N; i++) {
            switch (i % 4) {
            case 0:
                disconnect(s[i].token, true);
                break;
            case 1: {
                char id[32], path[64];
                public_id_of(&s[i], id);
                snprintf(path, sizeof path, "/connections/%s", id);
                struct req del = { "DELETE", path, .style = NGINX, .user = "admin" };
                ck_assert_int_eq(call(&del, NULL, NULL), 200);
                break;
            }
            case 2:
                shutdown(s[i].fd, SHUT_RDWR);
                break;
            default:
                break;                  /* just closed below */
            }
        }
        for (int i = 0; i < N; i++)
            close_stream(&s[i]);
        ck_assert_int_eq(await_total(0, 3000), 0);
    }
    atomic_store(&stop, true);
    pthread_join(pub, NULL);
    int64_t until = time_mono_ms() + 3000;
    while (server_streams(srv) && time_mono_ms() < until)
        sleep_ms(10);
    ck_assert_uint_eq(server_streams(srv), 0);
}
END_TEST

/* ---- limits ------------------------------------------------------------ */

static void setup_small(void)
{
    start_with(2, 2, NULL);
}

static void setup_per_user(void)
{
    start_with(2, 100, NULL);
    server_stop(srv, time_mono_ms() + 1000);
    server_free(srv);
    close(listen_fd);
    unlink(sock);
    struct options o;
    char err[256];
    char *argv[] = { "sse-fcgi", "--max-streams-per-user", "2", "--max-streams-per-address", "3",
                     "--heartbeat", "0.2", NULL };
    ck_assert_int_eq(options_parse(&o, 7, argv, err, sizeof err), OPTIONS_OK);
    listen_fd = listen_open(sock, NULL, err, sizeof err);
    srv = server_create(&o, err, sizeof err);
    ck_assert_int_eq(server_start(srv, listen_fd, true, err, sizeof err), 0);
}

START_TEST(per_user_and_address_limits)
{
    struct stream a, b, c, d;
    open_stream(&a, "/admin", "alice", NGINX);
    open_stream(&b, "/admin", "alice", NGINX);
    struct req third = { "GET", "/admin", .style = NGINX, .user = "alice" };
    expect_error(&third, 429, "TOO_MANY_REQUESTS");
    /* the same tab again supersedes instead of counting twice */
    open_stream_q(&c, "/admin", "client=t", "bob", NGINX);
    open_stream_q(&d, "/admin", "client=t", "bob", NGINX);
    ck_assert_int_eq(stats_total(NGINX), 3);
    /* per address: REMOTE_ADDR counts every stream from it */
    struct stream x1, x2, x3;
    struct req from = { "GET", "/display/x1", .style = NGINX, .extra_name = "REMOTE_ADDR",
                        .extra_value = "192.0.2.7" };
    for (int i = 0; i < 3; i++) {
        char path[32];
        snprintf(path, sizeof path, "/display/x%d", i);
        from.path = path;
        struct stream *s = i == 0 ? &x1 : i == 1 ? &x2 : &x3;
        memset(s, 0, sizeof *s);
        s->fd = send_req(&from);
        ck_assert_int_eq(fcgi_read(s->fd, &s->resp, "event: connected", 1000), 0);
        ck_assert(strstr(s->resp.out, "event: connected") != NULL);
    }
    from.path = "/display/x9";
    expect_error(&from, 429, "TOO_MANY_REQUESTS");
    disconnect(a.token, true);
    close_stream(&a);
    open_stream(&a, "/admin", "alice", NGINX);          /* room again */
    struct stream *all[] = { &a, &b, &c, &d, &x1, &x2, &x3 };
    for (int i = 0; i < 7; i++)
        close_stream(all[i]);
    ck_assert_int_eq(await_total(0, 2000), 0);
}
END_TEST

START_TEST(over_capacity)
{
    struct stream a, b;
    open_stream(&a, "/admin", "admin", NGINX);
    open_stream(&b, "/display/x", NULL, NGINX);
    struct req third = { "GET", "/display/y", .style = NGINX };
    expect_error(&third, 503, "SERVICE_UNAVAILABLE");
    ck_assert_int_eq(stats_total(NGINX), 2);          /* short routes keep working */
    disconnect(a.token, true);
    disconnect(b.token, true);
    close(a.fd);
    close(b.fd);
    fcgi_response_free(&a.resp);
    fcgi_response_free(&b.resp);
}
END_TEST

static void setup_capacity(void)
{
    start_with(4, 3000, NULL);
}

START_TEST(two_thousand_streams_four_workers)
{
    /* Streams hold no worker: with 2,000 open and 4 workers, stats and
     * disconnect still answer (call() fails the test after 5 s). */
    enum { N = 2000 };
    static struct stream s[N];
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof path, i % 2 ? "/admin" : "/display/k%d", i);
        open_stream(&s[i], path, "admin", i % 3 ? NGINX : LIGHTTPD);
    }
    ck_assert_uint_eq(server_streams(srv), N);
    int64_t t0 = time_mono_ms();
    ck_assert_int_eq(stats_total(NGINX), N);
    for (int i = 0; i < 10; i++)
        disconnect(s[i].token, true);
    ck_assert_int_eq(stats_total(LIGHTTPD), N - 10);
    printf("2000 streams, 4 workers: stats + 10 disconnects + stats in %lld ms\n",
           (long long)(time_mono_ms() - t0));
    /* A web server that stops reading most streams must not hold the
     * broadcast back from the ones it still reads: the I/O loops pace
     * themselves by what it has read, and give up on streams it leaves
     * unread.  Here it reads 20 streams spread over all of them. */
    publish("tick", "");
    for (int i = 10; i < N; i += (N - 10) / 20) {
        ck_assert_msg(fcgi_read(s[i].fd, &s[i].resp, "event: tick", 5000) == 0,
                      "stream %d did not get the broadcast in 5 s", i);
    }
    for (int i = 0; i < N; i++) {
        close(s[i].fd);
        fcgi_response_free(&s[i].resp);
    }
    ck_assert_int_eq(await_total(0, 3000), 0);
}
END_TEST

/* No ping to leave a stream unread, and one I/O loop, so a broadcast to
 * 200 streams is written in four slices of PACE_SLICE (64). */
static void pacing_options(struct options *o)
{
    o->heartbeat_ms = 60000;
    o->io_threads = 1;
}

static void setup_pacing(void)
{
    tweak = pacing_options;
    start_with(2, 1000, NULL);
}

/* For the fixtures that set tweak. */
static void teardown_tweaked(void)
{
    teardown();
    tweak = NULL;
}

START_TEST(pace_gives_up_on_an_unread_mark)
{
    /* The web server reads nothing after a broadcast: the loop writes the
     * first slice, waits PACE_WAIT_MS for its mark to be read, gives up,
     * counts that in /metrics and goes on; every stream gets the event. */
    enum { N = 200 };
    static struct stream s[N];
    for (int i = 0; i < N; i++)
        open_stream(&s[i], "/admin", "admin", NGINX);
    ck_assert_int_eq(metric("sse_pace_giveups_total"), 0);
    publish("tick", "");
    long long giveups = 0;
    for (int64_t t0 = time_mono_ms(); time_mono_ms() - t0 < 5000; sleep_ms(10))
        if ((giveups = metric("sse_pace_giveups_total")) > 0)
            break;
    ck_assert_int_gt(giveups, 0);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(fcgi_read(s[i].fd, &s[i].resp, "event: tick", 5000) == 0,
                      "stream %d did not get the broadcast in 5 s", i);
        close_stream(&s[i]);
    }
    ck_assert_int_eq(await_total(0, 3000), 0);
}
END_TEST

static char displays_path[128];

static void setup_displays(void)
{
    snprintf(displays_path, sizeof displays_path, "/tmp/sse-displays-%d", (int)getpid());
    FILE *f = fopen(displays_path, "w");
    fputs("# kiosks\nlobby\n  hall-2 \n\n"
          "front  k!y#&=+%/abcdefgh12\n"
          "back sha256:a93c2d45ff50f34ae41993935a3d16b2ea3ad87d5c6e6665e3ce7e084e7ddd48\n", f);
    fclose(f);
    start_with(2, 10, displays_path);
}

static void teardown_displays(void)
{
    teardown();
    unlink(displays_path);
}

/* The pushed monitor over the socket: summary at once, then the changes of
 * other streams; stats' summary and pages. */
START_TEST(pushed_monitor_and_stats_pages)
{
    struct stream mon, tab;
    open_stream_q(&mon, "/admin", "monitor=1", "admin", NGINX);
    ck_assert(strstr(mon.resp.out, "\"monitor\":true") != NULL);
    ck_assert_int_eq(fcgi_read(mon.fd, &mon.resp, "event: summary", 3000), 0);
    open_stream_q(&tab, "/admin", "client=tab-1", "alice", LIGHTTPD);
    char id[32], want[96];
    public_id_of(&tab, id);
    ck_assert_msg(strstr(tab.resp.out, "\"monitor\":false") != NULL, "%s", tab.resp.out);
    /* the monitor's own opening may share this batch: look for the entry */
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"type\":\"admin\",\"user\":\"alice\"", id);
    ck_assert_msg(fcgi_read(mon.fd, &mon.resp, want, 3000) == 0, "no opened %s in: %s", id,
                  mon.resp.out);
    disconnect(tab.token, true);
    snprintf(want, sizeof want, "\"closed\":[{\"id\":\"%s\"", id);
    ck_assert_msg(fcgi_read(mon.fd, &mon.resp, want, 3000) == 0, "no closed %s", id);
    ck_assert(strstr(mon.resp.out, "\"reason\":\"disconnect_route\"") != NULL);
    ck_assert(strstr(mon.resp.out, tab.token) == NULL);             /* never a token */
    close_stream(&tab);

    /* monitor is for admins: a display asking is refused */
    struct req kiosk = { "GET", "/display/lobby", .query = "monitor=1", .style = NGINX };
    expect_error(&kiosk, 400, "BAD_REQUEST");

    /* stats: the summary, a page, and bad parameters */
    struct json_object *o;
    struct req sum = { "GET", "/stats", .query = "summary=1", .style = NGINX, .user = "admin" };
    ck_assert_int_eq(call(&sum, &o, NULL), 200);
    ck_assert_int_eq(json_object_get_int(get(o, "data.total_connections")), 1);
    ck_assert_ptr_null(get(o, "data.connections"));
    ck_assert_ptr_nonnull(get(o, "data.seq"));
    json_object_put(o);
    struct stream more[3];
    for (int i = 0; i < 3; i++) {
        char path[32];
        snprintf(path, sizeof path, "/display/page-%d", i);
        open_stream(&more[i], path, NULL, LIGHTTPD);
    }
    struct req page = { "GET", "/stats", .query = "limit=2&offset=1&type=display", .style = LIGHTTPD,
                        .user = "admin" };
    ck_assert_int_eq(call(&page, &o, NULL), 200);
    ck_assert_int_eq(json_object_get_int(get(o, "data.page.total")), 3);
    ck_assert_int_eq(json_object_get_int(get(o, "data.page.offset")), 1);
    struct json_object *list = get(o, "data.connections");
    ck_assert_uint_eq(json_object_array_length(list), 2);
    ck_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(list, 0), "display")),
                     "page-1");                                      /* newest first */
    ck_assert_ptr_null(get(o, "data.connection_details"));
    ck_assert_int_eq(json_object_get_int(get(o, "data.total_connections")), 4);
    json_object_put(o);
    struct req bad = { "GET", "/stats", .query = "limit=5000", .style = NGINX, .user = "admin" };
    expect_error(&bad, 400, "BAD_REQUEST");
    for (int i = 0; i < 3; i++)
        close_stream(&more[i]);

    /* The monitor's own events are not events sent: nothing was published,
     * so nothing counts as queued, sent or dropped, however many summaries
     * and changes the monitor stream got. */
    ck_assert_int_eq(fcgi_read(mon.fd, &mon.resp, "\"closed\":[{", 3000), 0);
    ck_assert_int_eq(metric("sse_events_sent_total"), 0);
    struct req all = { "GET", "/stats", .style = NGINX, .user = "admin" };
    ck_assert_int_eq(call(&all, &o, NULL), 200);
    ck_assert_int_eq(json_object_get_int(get(o, "data.events_sent_last_hour")), 0);
    struct json_object *row = json_object_array_get_idx(get(o, "data.connections"), 0);
    ck_assert_int_eq(json_object_get_int(get(row, "events_sent")), 0);
    ck_assert_int_eq(json_object_get_int(get(row, "events_queued")), 0);
    json_object_put(o);
    close_stream(&mon);
    ck_assert_int_eq(await_total(0, 3000), 0);
    ck_assert_int_eq(metric("sse_events_dropped_total"), 0);
}
END_TEST

START_TEST(known_displays)
{
    struct req unknown = { "GET", "/display/kitchen", .style = LIGHTTPD };
    expect_error(&unknown, 404, "NOT_FOUND");
    struct stream s;
    open_stream(&s, "/display/hall-2", NULL, NGINX);
    disconnect(s.token, true);
    close(s.fd);
    fcgi_response_free(&s.resp);

    /* and a reload (SIGHUP) swaps the list without touching streams */
    struct stream kept;
    open_stream(&kept, "/display/lobby", NULL, LIGHTTPD);
    FILE *f = fopen(displays_path, "w");
    fputs("kitchen\n", f);
    fclose(f);
    char err[256];
    ck_assert_int_eq(server_reload(srv, displays_path, err, sizeof err), 0);
    struct stream k;
    open_stream_q(&k, "/display/kitchen", "client=kk", NULL, NGINX);
    struct req lobby = { "GET", "/display/lobby", .style = NGINX };
    expect_error(&lobby, 404, "NOT_FOUND");
    ck_assert_int_eq(stats_total(NGINX), 2);            /* the old lobby stream stays */
    f = fopen(displays_path, "w");
    fputs("bad!name\n", f);
    fclose(f);
    ck_assert_int_eq(server_reload(srv, displays_path, err, sizeof err), -1);
    ck_assert(strstr(err, "invalid display name") != NULL);
    struct stream k2;
    open_stream_q(&k2, "/display/kitchen", "client=kk", NULL, NGINX);  /* the old list stays */
    close_stream(&k2);
    ck_assert_int_eq(server_reload(srv, NULL, err, sizeof err), 0);   /* no list: any name */
    struct stream any;
    open_stream(&any, "/display/anything", NULL, NGINX);
    close_stream(&any);
    close_stream(&k);
    close_stream(&kept);
    ck_assert_int_eq(await_total(0, 2000), 0);
}
END_TEST

/* A display stream request with this query, as nginx sends it. */
static int display_call(const char *path, const char *query, struct json_object **o)
{
    struct req r = { "GET", path, .query = query, .style = NGINX };
    return call(&r, o, NULL);
}

START_TEST(display_keys)
{
    /* without its key, or with a wrong one: 401, and nothing opens */
    const char *front_key = "key=k%21y%23%26%3D%2B%25%2Fabcdefgh12";   /* k!y#&=+%/abcdefgh12 */
    static const struct { const char *query, *message; } no[] = {
        { NULL, "This display needs its key" },
        { "key=", "This display needs its key" },
        { "client=c1", "This display needs its key" },
        { "key=k!y", "Wrong key for this display" },
        { "key=k%21y%23%26%3D%2B%25%2Fabcdefgh1", "Wrong key for this display" },
        { "key=k%21y%23%26%3D%2B%25%2Fabcdefgh123", "Wrong key for this display" },
        { "key=k!y#&=+%/abcdefgh12", "Wrong key for this display" },    /* not encoded: cut at & */
        { "key=%zz", "Wrong key for this display" },
        { "key=" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
          "Wrong key for this display" },
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        struct json_object *o;
        ck_assert_int_eq(display_call("/display/front", no[i].query, &o), 401);
        ck_assert_str_eq(json_object_get_string(get(o, "error_info.code")), "AUTHENTICATION_REQUIRED");
        ck_assert_str_eq(json_object_get_string(get(o, "message")), no[i].message);
        json_object_put(o);
    }
    /* the key as a file's sha256: line holds its digest; the digest itself is no key */
    struct json_object *o;
    ck_assert_int_eq(display_call("/display/back",
        "key=sha256:a93c2d45ff50f34ae41993935a3d16b2ea3ad87d5c6e6665e3ce7e084e7ddd48", &o), 401);
    json_object_put(o);
    ck_assert_int_eq(stats_total(NGINX), 0);

    /* with it: open; a keyless stream is refused meanwhile (409) */
    struct stream f1, f2, b1, lobby;
    char f1_id[32];
    open_stream_q(&f1, "/display/front", front_key, NULL, NGINX);
    public_id_of(&f1, f1_id);
    ck_assert_int_eq(display_call("/display/front", "client=thief", &o), 401);  /* key first */
    json_object_put(o);
    open_stream_q(&b1, "/display/back", "key=kiosk-back-key-00002&client=b", NULL, LIGHTTPD);
    /* the key replaces a live stream (a new kiosk, another browser) */
    char q[128];
    snprintf(q, sizeof q, "client=new-screen&%s", front_key);
    open_stream_q(&f2, "/display/front", q, NULL, LIGHTTPD);
    ck_assert(closed_with(f1_id, "superseded"));
    ck_assert_int_eq(fcgi_read(f1.fd, &f1.resp, "event: superseded", 2000), 0);
    /* a key given to a display without one is ignored */
    open_stream_q(&lobby, "/display/lobby", "key=whatever-it-may-be-123", NULL, NGINX);
    ck_assert_int_eq(stats_total(NGINX), 3);
    /* a reload with a bad key line keeps the old keys */
    FILE *f = fopen(displays_path, "w");
    fputs("front short\n", f);
    fclose(f);
    char err[256];
    ck_assert_int_eq(server_reload(srv, displays_path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":1: invalid key") != NULL, "%s", err);
    ck_assert_msg(!strstr(err, "short"), "the key in: %s", err);
    ck_assert_int_eq(display_call("/display/front", NULL, &o), 401);
    json_object_put(o);
    /* and a good one applies to new streams, not to those open */
    f = fopen(displays_path, "w");
    fputs("front another-key-for-front\nback\n", f);
    fclose(f);
    ck_assert_int_eq(server_reload(srv, displays_path, err, sizeof err), 0);
    ck_assert_int_eq(display_call("/display/front", front_key, &o), 401);
    json_object_put(o);
    ck_assert_int_eq(display_call("/display/lobby", NULL, &o), 404);
    json_object_put(o);
    ck_assert_int_eq(stats_total(NGINX), 3);
    struct stream *all[] = { &f1, &f2, &b1, &lobby };
    for (size_t i = 0; i < 4; i++)
        close_stream(all[i]);
    ck_assert_int_eq(await_total(0, 2000), 0);
}
END_TEST

/* A heartbeat of a second: a stale stream stays stale for one (from two
 * heartbeats without an ack to three), time enough for a slow build. */
static void slow_heartbeat(struct options *o)
{
    o->heartbeat_ms = 1000;
}

static void setup_slow_heartbeat(void)
{
    tweak = slow_heartbeat;
    start_with(2, 100, NULL);
}

START_TEST(stale_display_replaced)
{
    /* an acked kiosk that stopped acking (stale) holds its display for
     * nobody: a new stream replaces it, with or without client id */
    struct stream old, young;
    char old_id[32];
    open_stream_q(&old, "/display/lobby", "ack=1&client=gone", NULL, NGINX);
    public_id_of(&old, old_id);
    struct json_object *o;
    ck_assert_int_eq(display_call("/display/lobby", "ack=1", &o), 409);
    json_object_put(o);
    int64_t t0 = time_mono_ms();
    while (strcmp(state_of(old_id), "stale") != 0 && time_mono_ms() - t0 < 4000)
        sleep_ms(10);
    ck_assert_str_eq(state_of(old_id), "stale");
    open_stream_q(&young, "/display/lobby", "ack=1", NULL, NGINX);
    ck_assert(closed_with(old_id, "superseded"));
    close_stream(&old);
    close_stream(&young);
    ck_assert_int_eq(await_total(0, 2000), 0);
}
END_TEST

/* ---- the intake: peers that stall, and records that are no request ------ */

#define INTAKE_TIMEOUT_MS 500

static void intake_options(struct options *o)
{
    o->request_timeout_ms = INTAKE_TIMEOUT_MS;
}

static void setup_intake(void)
{
    tweak = intake_options;
    start_with(4, 3000, NULL);
}


/* ms a GET of path (style) takes, answered 200. */
static int64_t timed_get(const char *path, enum style style)
{
    int64_t t0 = time_mono_ms();
    struct req r = { "GET", path, .style = style, .user = "admin" };
    ck_assert_int_eq(call(&r, NULL, NULL), 200);
    return time_mono_ms() - t0;
}

/* Waits up to ms for the responder to close fd; returns the ms it took, or
 * -1 if it is still open (anything read before the close fails the test). */
static int64_t closed_within(int fd, int ms)
{
    int64_t t0 = time_mono_ms();
    struct fcgi_response r = { 0 };
    int rc = fcgi_read(fd, &r, NULL, ms);
    ck_assert_msg(r.len == 0 && !r.ended, "the responder answered: %s", r.out ? r.out : "");
    fcgi_response_free(&r);
    return rc == 0 ? time_mono_ms() - t0 : -1;
}

START_TEST(stalled_peers_hold_no_worker)
{
    /* Four workers, sixteen peers that send 3 bytes of a header and wait:
     * libfcgi would block in its read inside FCGX_Accept_r on all four,
     * and nobody else would be answered until the peers left. */
    enum { PEERS = 16 };
    int peers[PEERS];
    for (int i = 0; i < PEERS; i++) {
        peers[i] = fcgi_connect(sock);
        ck_assert_int_ge(peers[i], 0);
        ck_assert_int_eq(fcgi_send_raw(peers[i], "\x01\x01\x00", 3), 0);
    }
    sleep_ms(50);
    int64_t worst = 0;
    for (int i = 0; i < 10; i++) {
        int64_t t = timed_get(i % 2 ? "/health" : "/stats", i % 3 ? NGINX : LIGHTTPD);
        worst = t > worst ? t : worst;
    }
    struct stream st;
    open_stream(&st, "/display/meanwhile", NULL, NGINX);   /* and streams open */
    if (getenv("SSE_CHECK_VERBOSE"))
        printf("%d stalled peers: /health and /stats answered in at most %lld ms\n", PEERS,
               (long long)worst);
    ck_assert_int_lt(worst, 1000);
    /* Each is closed once the request timeout has passed since it connected. */
    for (int i = 0; i < PEERS; i++) {
        int64_t t = closed_within(peers[i], INTAKE_TIMEOUT_MS + 1000);
        ck_assert_msg(t >= 0, "stalled peer %d not closed", i);
        close(peers[i]);
    }
    ck_assert_int_eq(metric("sse_requests_incomplete_total"), PEERS);  /* a fresh server's */
    /* A peer that trickles a request a byte at a time is held to the whole
     * request's deadline, not to each read's. */
    int fd = fcgi_connect(sock);
    int64_t t0 = time_mono_ms();
    static const unsigned char begin[8] = { 1, 1, 0, 1, 0, 8, 0, 0 };
    int64_t closed_at = -1;
    for (int i = 0; i < 100 && closed_at < 0; i++) {
        if (fcgi_send_raw(fd, begin + i % 8, 1) < 0 || closed_within(fd, 100) >= 0)
            closed_at = time_mono_ms() - t0;
    }
    ck_assert_int_ge(closed_at, INTAKE_TIMEOUT_MS - 50);
    ck_assert_int_lt(closed_at, INTAKE_TIMEOUT_MS + 500);
    close(fd);
    disconnect(st.token, true);
    close_stream(&st);
}
END_TEST

START_TEST(many_stalled_peers)
{
    /* More unfinished requests than the intake watches: the oldest are
     * closed to make room, and requests keep being answered. */
    enum { PEERS = INTAKE_WATCH_MAX + 100 };
    static int peers[PEERS];
    for (int i = 0; i < PEERS; i++) {
        peers[i] = fcgi_connect(sock);
        ck_assert_int_ge(peers[i], 0);
    }
    ck_assert_int_lt(timed_get("/health", NGINX), 1000);
    ck_assert_int_ge(closed_within(peers[0], 100), 0);              /* the oldest went */
    ck_assert_int_ge(metric("sse_requests_incomplete_total"), PEERS - INTAKE_WATCH_MAX);
    for (int i = 0; i < PEERS; i++)
        close(peers[i]);
}
END_TEST

/* A request as nginx sends it, built by hand: params given as name, value
 * and their lengths (which may hold NULs), then body (may be NULL). */
struct raw_param {
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
};
#define RAW(n, v) { n, sizeof n - 1, v, sizeof v - 1 }

static size_t raw_request(unsigned char *out, int id, const struct raw_param *ps, size_t n,
                          const char *body, size_t blen)
{
    static unsigned char params[8192];
    static const unsigned char begin[8] = { 0, 1, 0 };
    size_t len = fcgi_record(out, 1, id, begin, 8, 0), plen = 0;
    for (size_t i = 0; i < n; i++)
        plen += fcgi_pair(params + plen, ps[i].name, ps[i].nlen, ps[i].value, ps[i].vlen);
    len += fcgi_record(out + len, 4, id, params, plen, (8 - plen % 8) % 8);
    len += fcgi_record(out + len, 4, id, NULL, 0, 0);
    for (size_t off = 0; off < blen; off += 65535) {
        size_t k = blen - off < 65535 ? blen - off : 65535;
        len += fcgi_record(out + len, 5, id, body + off, k, 0);
    }
    len += fcgi_record(out + len, 5, id, NULL, 0, 0);
    return len;
}

/* Sends a request built by hand and reads the answer; returns the status
 * (-1: closed without an answer). */
static int raw_call(const unsigned char *bytes, size_t len, struct json_object **json)
{
    int fd = fcgi_connect(sock);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcgi_send_raw(fd, bytes, len), 0);
    struct fcgi_response r = { 0 };
    ck_assert_int_eq(fcgi_read(fd, &r, NULL, 5000), 0);
    close(fd);
    int status = r.ended ? fcgi_status(&r) : -1;
    if (json) {
        *json = r.ended ? json_tokener_parse(fcgi_body(&r)) : NULL;
        ck_assert_msg(!r.ended || *json, "not JSON: %s", r.out);
    }
    fcgi_response_free(&r);
    return status;
}

START_TEST(nul_in_params_refused)
{
    /* DOCUMENT_URI=/api/v1/events/display/a\0b reads as display "a" to C:
     * any NUL in any param name or value makes the request a 400. */
    static unsigned char buf[16384];
    const struct raw_param uri[] = {
        RAW("REQUEST_METHOD", "GET"), RAW("DOCUMENT_URI", PREFIX "/display/a\0b"),
        RAW("QUERY_STRING", ""), RAW("REMOTE_USER", ""),
    };
    const struct raw_param name[] = {
        RAW("REQUEST_METHOD", "GET"), RAW("DOCUMENT_URI", PREFIX "/display/a"),
        RAW("REMOTE_\0USER", "admin"),
    };
    const struct raw_param other[] = {
        RAW("REQUEST_METHOD", "GET"), RAW("DOCUMENT_URI", PREFIX "/stats"),
        RAW("REMOTE_USER", "admin"), RAW("HTTP_X_ANYTHING", "x\0"),
    };
    const struct raw_param fine[] = {
        RAW("REQUEST_METHOD", "GET"), RAW("DOCUMENT_URI", PREFIX "/display/a"),
    };
    const struct { const struct raw_param *p; size_t n; } cases[] = {
        { uri, 4 }, { name, 3 }, { other, 4 },
    };
    for (size_t i = 0; i < 3; i++) {
        struct json_object *o;
        size_t len = raw_request(buf, 1 + (int)i, cases[i].p, cases[i].n, NULL, 0);
        ck_assert_int_eq(raw_call(buf, len, &o), 400);
        ck_assert_str_eq(json_object_get_string(get(o, "error_info.code")), "BAD_REQUEST");
        ck_assert_str_eq(json_object_get_string(get(o, "message")),
                         "A request parameter holds a NUL byte");
        json_object_put(o);
    }
    ck_assert_int_eq(stats_total(NGINX), 0);            /* no display "a" opened */
    /* the same request without the NUL is a stream */
    size_t len = raw_request(buf, 300, fine, 2, NULL, 0);
    int fd = fcgi_connect(sock);
    ck_assert_int_eq(fcgi_send_raw(fd, buf, len), 0);
    struct fcgi_response r = { 0 };
    ck_assert_int_eq(fcgi_read(fd, &r, "event: connected", 2000), 0);
    close(fd);
    fcgi_response_free(&r);
    ck_assert_int_eq(await_total(0, 2000), 0);
}
END_TEST

START_TEST(records_that_are_no_request)
{
    /* A BEGIN_REQUEST for request 65, then PARAMS for request 1: libfcgi
     * skipped them, misread what followed as a management record and
     * leaked 48 bytes each time (LeakSanitizer; this suite runs under
     * ASan).  Such a peer is closed without a word, 50 times over. */
    static const char hex[] =
        "0101004100080000000100000000000001040001005102000e03524551554553545f4d4554484f4447"
        "45540c19444f43554d454e545f5552492f6170692f76312f6576656e74732f6469734d6c61792f6b63"
        "0b0752454d4f54455f412b4452312e322e332e34000001040001000000000105000100000000";
    unsigned char bytes[sizeof hex / 2];
    for (size_t i = 0; i < sizeof bytes; i++)
        sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
    for (int i = 0; i < 50; i++) {
        int fd = fcgi_connect(sock);
        ck_assert_int_eq(fcgi_send_raw(fd, bytes, sizeof bytes), 0);
        if (i % 2)
            shutdown(fd, SHUT_WR);
        ck_assert_int_ge(closed_within(fd, 1000), 0);
        close(fd);
    }

    /* and the other shapes web servers never send */
    static unsigned char buf[4096];
    static const unsigned char begin[8] = { 0, 1, 0 }, authorizer[8] = { 0, 2, 0 };
    const struct raw_param ps[] = { RAW("REQUEST_METHOD", "GET"), RAW("DOCUMENT_URI", PREFIX "/health") };
    unsigned char pairs[256];
    size_t plen = 0;
    for (size_t i = 0; i < 2; i++)
        plen += fcgi_pair(pairs + plen, ps[i].name, ps[i].nlen, ps[i].value, ps[i].vlen);
    for (int k = 0; k < 7; k++) {
        size_t len = 0;
        switch (k) {
        case 0:                     /* a management record of an unknown type */
            len = fcgi_record(buf, 11, 0, "\x0b\0\0\0\0\0\0\0", 8, 0);
            break;
        case 1:                     /* FastCGI version 2 */
            len = fcgi_record(buf, 1, 1, begin, 8, 0);
            buf[0] = 2;
            break;
        case 2:                     /* not the responder role */
            len = fcgi_record(buf, 1, 1, authorizer, 8, 0);
            break;
        case 3:                     /* a second BEGIN_REQUEST (multiplexing) */
            len = fcgi_record(buf, 1, 1, begin, 8, 0);
            len += fcgi_record(buf + len, 1, 2, begin, 8, 0);
            break;
        case 4:                     /* STDIN before the params' end */
            len = fcgi_record(buf, 1, 1, begin, 8, 0);
            len += fcgi_record(buf + len, 4, 1, pairs, plen, 0);
            len += fcgi_record(buf + len, 5, 1, NULL, 0, 0);
            break;
        case 5:                     /* a pair cut short by the params' end */
            len = fcgi_record(buf, 1, 1, begin, 8, 0);
            len += fcgi_record(buf + len, 4, 1, pairs, plen - 1, 0);
            len += fcgi_record(buf + len, 4, 1, NULL, 0, 0);
            break;
        case 6:                     /* an ABORT_REQUEST */
            len = fcgi_record(buf, 1, 1, begin, 8, 0);
            len += fcgi_record(buf + len, 2, 1, NULL, 0, 0);
            break;
        }
        ck_assert_int_eq(raw_call(buf, len, NULL), -1);
    }
    ck_assert_int_eq(metric("sse_requests_invalid_total"), 57);    /* a fresh server's */
    ck_assert_int_lt(timed_get("/health", LIGHTTPD), 1000);
}
END_TEST

START_TEST(whole_requests_however_they_come)
{
    static unsigned char buf[200000];
    /* a byte at a time, within the timeout */
    const struct raw_param health[] = { RAW("REQUEST_METHOD", "GET"), RAW("DOCUMENT_URI", PREFIX "/health") };
    size_t len = raw_request(buf, 9, health, 2, NULL, 0);
    int fd = fcgi_connect(sock);
    for (size_t i = 0; i < len; i++) {
        ck_assert_int_eq(fcgi_send_raw(fd, buf + i, 1), 0);
        if (i % 16 == 0)
            sleep_ms(1);
    }
    struct fcgi_response r = { 0 };
    ck_assert_int_eq(fcgi_read(fd, &r, NULL, 2000), 0);
    ck_assert_int_eq(fcgi_status(&r), 200);
    fcgi_response_free(&r);
    close(fd);

    /* a publish body of 64 KiB, the most any route takes */
    static char body[65536];
    int n = snprintf(body, sizeof body, "{\"event\":\"big\",\"data\":{\"x\":\"");
    memset(body + n, 'x', sizeof body - (size_t)n - 4);
    memcpy(body + sizeof body - 4, "\"}}", 3);
    body[sizeof body - 1] = ' ';
    char cl[16];
    snprintf(cl, sizeof cl, "%zu", sizeof body);
    const struct raw_param pub[] = {
        RAW("REQUEST_METHOD", "POST"), RAW("DOCUMENT_URI", PREFIX "/publish"),
        RAW("REMOTE_USER", "admin"), RAW("CONTENT_TYPE", "application/json"),
        { "CONTENT_LENGTH", 14, cl, strlen(cl) },
    };
    len = raw_request(buf, 10, pub, 5, body, sizeof body);
    struct json_object *o;
    ck_assert_int_eq(raw_call(buf, len, &o), 200);
    json_object_put(o);

    /* the same as Apache sends it: 8 KiB at a time, each once the socket
     * is writable, which a unix socket is only while under a quarter of
     * its buffer waits: the rest comes once the responder reads */
    fd = fcgi_connect(sock);
    for (size_t off = 0; off < len;) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        ck_assert_msg(poll(&pfd, 1, 3000) == 1, "not writable after %zu of %zu bytes", off, len);
        size_t chunk = len - off < 8192 ? len - off : 8192;
        ssize_t w = send(fd, buf + off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
        ck_assert_int_gt(w, 0);
        off += (size_t)w;
    }
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(fcgi_read(fd, &r, NULL, 3000), 0);
    ck_assert_int_eq(fcgi_status(&r), 200);
    fcgi_response_free(&r);
    close(fd);

    /* a body larger than any route takes is refused by its length, and
     * its bytes are not waited for */
    const struct raw_param huge[] = {
        RAW("REQUEST_METHOD", "POST"), RAW("DOCUMENT_URI", PREFIX "/publish"),
        RAW("REMOTE_USER", "admin"), RAW("CONTENT_TYPE", "application/json"),
        RAW("CONTENT_LENGTH", "1048576"),
    };
    len = raw_request(buf, 11, huge, 5, NULL, 0);
    len -= 8;                                           /* no STDIN at all */
    fd = fcgi_connect(sock);
    ck_assert_int_eq(fcgi_send_raw(fd, buf, len), 0);
    int64_t t0 = time_mono_ms();
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(fcgi_read(fd, &r, NULL, 2000), 0);
    ck_assert_int_eq(fcgi_status(&r), 413);
    ck_assert_int_lt(time_mono_ms() - t0, INTAKE_TIMEOUT_MS);
    fcgi_response_free(&r);
    close(fd);
}
END_TEST

START_TEST(inherited_socket_left_as_found)
{
    /* The intake makes the listening socket non-blocking while it runs; a
     * socket it did not open (spawn-fcgi, systemd) is handed back as it
     * came, open, and a server started on it again serves it. */
    ck_assert_uint_eq(server_stop(srv, time_mono_ms() + 1000), 0);
    server_free(srv);
    close(listen_fd);
    unlink(sock);
    char err[256];
    listen_fd = listen_open(sock, NULL, err, sizeof err);     /* blocking, as inherited ones are */
    ck_assert_int_ge(listen_fd, 0);
    struct options o;
    char *argv[] = { "sse-fcgi", NULL };
    ck_assert_int_eq(options_parse(&o, 1, argv, err, sizeof err), OPTIONS_OK);
    o.threads = 2;
    o.log_level = LOG_WARN;
    for (int round = 0; round < 2; round++) {
        srv = server_create(&o, err, sizeof err);
        ck_assert_int_eq(server_start(srv, listen_fd, false, err, sizeof err), 0);
        ck_assert(fcntl(listen_fd, F_GETFL) & O_NONBLOCK);
        ck_assert_int_lt(timed_get("/health", NGINX), 1000);
        ck_assert_uint_eq(server_stop(srv, time_mono_ms() + 1000), 0);
        ck_assert(!(fcntl(listen_fd, F_GETFL) & O_NONBLOCK));
        server_free(srv);
        srv = NULL;
    }
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("routes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, stats_in_both_styles);
    tcase_add_test(tc, route_errors);
    tcase_add_test(tc, disconnect_errors);
    tcase_add_test(tc, test_and_publish_errors);
    tcase_add_test(tc, metrics_and_health);
    suite_add_tcase(s, tc);
    tc = tcase_create("streams");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, stream_lifecycle);
    tcase_add_test(tc, stream_heartbeats);
    tcase_add_test(tc, stream_client_gone);
    tcase_add_test(tc, stream_write_failure);
    tcase_add_test(tc, stream_many_with_few_threads);
    tcase_add_test(tc, stream_shutdown);
    tcase_add_test(tc, pushed_monitor_and_stats_pages);
    suite_add_tcase(s, tc);
    tc = tcase_create("liveness");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, acked_liveness);
    tcase_add_test(tc, superseding_streams);
    tcase_add_test(tc, admin_close_and_reasons);
    tcase_add_test(tc, slow_consumer_dropped);
    tcase_add_test(tc, last_event_id_replay);
    suite_add_tcase(s, tc);
    tc = tcase_create("stale-display");
    tcase_add_checked_fixture(tc, setup_slow_heartbeat, teardown_tweaked);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, stale_display_replaced);
    suite_add_tcase(s, tc);
    tc = tcase_create("races");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, streams_amid_broadcasts);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup_small, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, over_capacity);
    suite_add_tcase(s, tc);
    tc = tcase_create("per-user");
    tcase_add_checked_fixture(tc, setup_per_user, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, per_user_and_address_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("capacity");
    tcase_add_checked_fixture(tc, setup_capacity, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_thousand_streams_four_workers);
    suite_add_tcase(s, tc);
    tc = tcase_create("pacing");
    tcase_add_checked_fixture(tc, setup_pacing, teardown_tweaked);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, pace_gives_up_on_an_unread_mark);
    suite_add_tcase(s, tc);
    tc = tcase_create("intake");
    tcase_add_checked_fixture(tc, setup_intake, teardown_tweaked);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stalled_peers_hold_no_worker);
    tcase_add_test(tc, many_stalled_peers);
    tcase_add_test(tc, nul_in_params_refused);
    tcase_add_test(tc, records_that_are_no_request);
    tcase_add_test(tc, whole_requests_however_they_come);
    tcase_add_test(tc, inherited_socket_left_as_found);
    suite_add_tcase(s, tc);
    tc = tcase_create("displays");
    tcase_add_checked_fixture(tc, setup_displays, teardown_displays);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, known_displays);
    tcase_add_test(tc, display_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(server_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
