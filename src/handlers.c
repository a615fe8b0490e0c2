/* handlers.c -- the routes (see handlers.h; docs/api.md has the contract). */
#include "autoconf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "body.h"
#include "displays.h"
#include "handlers.h"
#include "http.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "registry.h"
#include "roster.h"
#include "routes.h"
#include "stats.h"
#include "stream.h"
#include "timeutil.h"
#include "window.h"

#define DISCONNECT_BODY_MAX 4096
#define ACK_BODY_MAX 1024
#define TEST_BODY_MAX 16384
#define PUBLISH_BODY_MAX HANDLERS_BODY_MAX
#define STREAM_BODY_MAX 4096        /* a GET has none; discard a little */
#define STATS_SNDBUF_FROM (256 * 1024)  /* answers above this widen the send buffer */
#define STATS_SNDBUF_MAX (8 * 1024 * 1024)
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The authenticated user, or NULL.  Only REMOTE_USER, set by the web
 * server, counts; HTTP_* params come from the client and never do. */
static const char *identity(const struct handlers_env *env, FCGX_Request *req)
{
    const char *u = http_param(req, "REMOTE_USER");
    if (u && *u)
        return u;
    return env->opt->auth == AUTH_NONE ? "admin" : NULL;
}

static struct json_object *stamp_now(void)
{
    char buf[TIME_ISO_LEN];
    return json_object_new_string(time_iso8601(buf, time_now_ms()));
}

/* Publishes one event: data gets a timestamp (a non-object is wrapped as
 * {"data": value}).  Takes ownership of data.  Returns 0 with *out filled,
 * or HUB_NOMEM / HUB_UNAVAILABLE. */
static int broadcast(const struct handlers_env *env, const char *name, struct json_object *data,
                     const struct filter *f, struct hub_published *out)
{
    if (!json_object_is_type(data, json_type_object)) {
        struct json_object *wrap = json_object_new_object();
        json_object_object_add(wrap, "data", data);
        data = wrap;
    }
    if (!json_object_object_get_ex(data, "timestamp", NULL))
        json_object_object_add(data, "timestamp", stamp_now());
    struct hub_event ev = { .name = name, .to = f };
    ev.data = json_object_to_json_string_length(data, JSON_FLAGS, &ev.len);
    int rc = hub_publish(env->hub, &ev, out);
    json_object_put(data);
    return rc;
}

/* What a hub's failure means to a client. */
static const char *hub_error(int rc)
{
    return rc == HUB_UNAVAILABLE ? "The cluster is unavailable: try again shortly"
                                 : "Out of memory";
}

/* Answers a publish the hub could not do: nothing was delivered. */
static void publish_failed(FCGX_Request *req, int rc)
{
    if (rc == HUB_UNAVAILABLE)
        http_retry_later(req, 503, hub_error(rc), HTTP_RETRY_AFTER);
    else
        http_error(req, 500, hub_error(rc), NULL);
}

/* Opens a stream of type for name (a user, or a display); keyed: a display
 * opened with its key, which may replace the display's live stream. */
static bool open_stream(const struct handlers_env *env, FCGX_Request *req, enum conn_type type,
                        const char *name, bool keyed)
{
    struct stream_query q;
    const char *err;
    if (routes_stream_query(http_param(req, "QUERY_STRING"), &q, &err) < 0) {
        http_error(req, 400, err, NULL);
        return false;
    }
    if (q.monitor && type != CONN_ADMIN) {
        http_error(req, 400, "monitor is for admin streams", NULL);
        return false;
    }
    char *body;
    size_t len;
    if (http_read_body(req, STREAM_BODY_MAX, &body, &len) != 0)
        return false;
    free(body);
    if (atomic_load(env->stopping)) {
        http_retry_later(req, 503, "Server is shutting down", HTTP_RETRY_AFTER);
        return false;
    }
    struct conn *c = conn_create(type, name, q.client, q.ack);
    if (!c) {
        http_retry_later(req, 503, "Cannot create a connection now", HTTP_RETRY_AFTER);
        return false;
    }
    c->monitor = q.monitor;
    c->keyed = keyed;
    stream_assign(env->loops, c);        /* before it is reachable */
    const char *addr = http_param(req, "REMOTE_ADDR");
    if (addr) {
        /* Copied, not printed: through snprintf, every stream opened
         * took its worker's stack a page deeper. */
        size_t n = strnlen(addr, sizeof c->addr - 1);
        memcpy(c->addr, addr, n);
        c->addr[n] = '\0';
    }
    /* EventSource sends Last-Event-ID itself; pages that build their own
     * reconnects pass ?lastEventId=.  An id we cannot read means a reset. */
    const char *hdr = http_param(req, "HTTP_LAST_EVENT_ID");
    bool resume = q.has_last_event_id || (hdr && *hdr);
    unsigned long long last_id = q.last_event_id;
    if (!q.has_last_event_id && resume && !routes_decimal(hdr, &last_id))
        last_id = 0;                        /* never issued: a reset */
    struct hub_resume from = { .resume = resume, .last_id = last_id };
    int superseded = hub_subscribe(env->hub, c, &from);
    if (superseded < 0) {
        conn_free(c);
        metrics_add(env->metrics, METRIC_STREAMS_REFUSED, 1);
        switch (superseded) {
        case REGISTRY_CONFLICT: {
            /* The screen that has it keeps it; this one may try again
             * once a heartbeat has told whether that one is still there. */
            char msg[sizeof "Display  is live on another screen" + NAME_MAX_LEN];
            snprintf(msg, sizeof msg, "Display %s is live on another screen", name);
            int secs = (int)((env->opt->heartbeat_ms + 999) / 1000);
            log_debug("display %s: a new stream refused, the display is live", name);
            http_retry_later(req, 409, msg, secs);
            break;
        }
        case REGISTRY_USER_LIMIT:
            http_retry_later(req, 429, "Too many streams for this user", HTTP_RETRY_AFTER);
            break;
        case REGISTRY_ADDRESS_LIMIT:
            http_retry_later(req, 429, "Too many streams from this address", HTTP_RETRY_AFTER);
            break;
        case REGISTRY_FULL:
            http_retry_later(req, 503, "Too many connections", HTTP_RETRY_AFTER);
            break;
        default:
            http_retry_later(req, 503, hub_error(superseded), HTTP_RETRY_AFTER);
            break;
        }
        return false;
    }
    metrics_add(env->metrics, METRIC_STREAMS_OPENED, 1);
    if (c->monitor && monitor_welcome(env->monitor, c) < 0)
        log_warn("stream %s: no summary for its monitor: out of memory", c->public_id);
    http_note_status(200);
    log_debug("stream %s (%s %s%s%s%s) opened%s", c->public_id, conn_type_name(type), name,
              q.client[0] ? " client " : "", q.client, q.ack ? ", acked" : "",
              superseded > 0 ? ", superseding another" : "");
    /* Non-blocking from now on: the loop never waits on a socket.  After
     * the hand-over c is the loop's, and may be gone at any moment. */
    int flags = fcntl(req->ipcFd, F_GETFL);
    fcntl(req->ipcFd, F_SETFL, flags | O_NONBLOCK);
    stream_hand_over(c, req->ipcFd, req->requestId);
    return true;
}

/* A display stream: a known name (404), its key where it has one (401;
 * never logged), then the stream. */
static bool open_display(const struct handlers_env *env, FCGX_Request *req, const char *name)
{
    struct displays *d = displays_slot_get(env->displays);
    if (d && !displays_contains(d, name)) {
        displays_free(d);
        http_error(req, 404, "Unknown display", NULL);
        return false;
    }
    char key[DISPLAYS_KEY_MAX + 1];
    long len = routes_query_value(http_param(req, "QUERY_STRING"), "key", key, sizeof key);
    enum displays_key k = !d ? DISPLAYS_KEY_NONE
                        : displays_check_key(d, name, key, len > 0 ? (size_t)len : 0);
    if (len == ROUTES_QUERY_BAD && k == DISPLAYS_KEY_MISSING)
        k = DISPLAYS_KEY_WRONG;             /* too long, or a bad escape */
    explicit_bzero(key, sizeof key);
    displays_free(d);
    if (k == DISPLAYS_KEY_MISSING || k == DISPLAYS_KEY_WRONG) {
        http_error(req, 401, k == DISPLAYS_KEY_MISSING ? "This display needs its key"
                                                       : "Wrong key for this display", NULL);
        return false;
    }
    return open_stream(env, req, CONN_DISPLAY, name, k == DISPLAYS_KEY_OK);
}

static void handle_disconnect(const struct handlers_env *env, FCGX_Request *req)
{
    struct json_object *root = http_json_body(req, DISCONNECT_BODY_MAX);
    if (!root)
        return;
    const char *id, *err;
    if (body_disconnect(root, &id, &err) < 0) {
        http_error(req, 400, err, NULL);
        json_object_put(root);
        return;
    }
    int removed = token_is_wellformed(id, strlen(id))
                      ? hub_close_token(env->hub, id, CLOSE_DISCONNECT_ROUTE) : 0;
    if (removed == HUB_UNAVAILABLE) {
        json_object_put(root);
        http_retry_later(req, 503, hub_error(removed), HTTP_RETRY_AFTER);
        return;
    }
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "connection_id", json_object_new_string(id));
    json_object_object_add(data, "disconnected", json_object_new_boolean(removed == 1));
    json_object_put(root);
    http_ok(req, data, removed == 1 ? "Connection closed" : "Connection not found or already closed");
}

static void handle_ack(const struct handlers_env *env, FCGX_Request *req)
{
    struct json_object *root = http_json_body(req, ACK_BODY_MAX);
    if (!root)
        return;
    const char *id, *err;
    unsigned long long seq;
    if (body_ack(root, &id, &seq, &err) < 0) {
        http_error(req, 400, err, NULL);
        json_object_put(root);
        return;
    }
    int64_t rtt = token_is_wellformed(id, strlen(id)) ? hub_ack(env->hub, id, seq) : -2;
    if (rtt == HUB_UNAVAILABLE) {
        json_object_put(root);
        http_retry_later(req, 503, hub_error((int)rtt), HTTP_RETRY_AFTER);
        return;
    }
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "connection_id", json_object_new_string(id));
    json_object_object_add(data, "seq", json_object_new_uint64(seq));
    json_object_object_add(data, "acked", json_object_new_boolean(rtt >= 0));
    if (rtt >= 0)
        json_object_object_add(data, "rtt_ms", json_object_new_int64(rtt));
    json_object_put(root);
    http_ok(req, data, rtt >= 0 ? "Acknowledged"
                             : rtt == -1 ? "No such heartbeat" : "Connection not found");
}

static void reply_streamed(FCGX_Request *req, void (*fn)(struct jw *w, const void *arg),
                           const void *arg, const char *message);

/* What GET closed writes. */
struct closed_view {
    const struct closed_info *log;
    size_t n;
    const uint64_t *totals;
};

static void write_closed_log(struct jw *w, const void *arg)
{
    const struct closed_view *cv = arg;
    stats_write_closed_log(w, cv->log, cv->n, cv->totals);
}

static void handle_closed(const struct handlers_env *env, FCGX_Request *req)
{
    struct closed_info *log;
    uint64_t totals[CLOSE_REASONS];
    long n = hub_closed(env->hub, &log, totals);
    if (n < 0) {
        http_error(req, 500, "Out of memory", NULL);
        return;
    }
    struct closed_view cv = { log, (size_t)n, totals };
    reply_streamed(req, write_closed_log, &cv, "Recently closed connections");
    free(log);
}

static void handle_close_connection(const struct handlers_env *env, FCGX_Request *req, const char *id)
{
    int closed = hub_close_public_id(env->hub, id, CLOSE_ADMIN_CLOSED);
    if (closed == HUB_UNAVAILABLE) {
        http_retry_later(req, 503, hub_error(closed), HTTP_RETRY_AFTER);
        return;
    }
    if (closed != 1) {
        http_error(req, 404, "No live connection with that id", NULL);
        return;
    }
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "id", json_object_new_string(id));
    json_object_object_add(data, "closed", json_object_new_boolean(1));
    http_ok(req, data, "Connection closed");
}

static void handle_metrics(const struct handlers_env *env, FCGX_Request *req)
{
    struct registry_snapshot snap;
    if (hub_snapshot(env->hub, &snap) < 0) {
        http_error(req, 500, "Out of memory", NULL);
        return;
    }
    struct metrics_gauges g = {
        .streams = env->streams(env->ctx),
        .uptime_seconds = (double)(time_mono_ms() - env->started_mono_ms) / 1000.0,
        .closed_by_reason = snap.closed_by_reason,
    };
    for (size_t i = 0; i < snap.nconns; i++) {
        bool stale = snap.conns[i].stale;
        if (snap.conns[i].type == CONN_ADMIN)
            *(stale ? &g.admin_stale : &g.admin_live) += 1;
        else
            *(stale ? &g.display_stale : &g.display_live) += 1;
    }
    size_t len;
    char *text = metrics_render(env->metrics, &g, &len);
    registry_snapshot_release(&snap);
    if (!text) {
        http_error(req, 500, "Out of memory", NULL);
        return;
    }
    http_head(req, 200, "text/plain; version=0.0.4; charset=utf-8");
    FCGX_PutStr(text, (int)len, req->out);
    free(text);
}

static void handle_health(const struct handlers_env *env, FCGX_Request *req)
{
    bool stopping = atomic_load(env->stopping);
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "status", json_object_new_string(stopping ? "stopping" : "ok"));
    json_object_object_add(data, "version", json_object_new_string(PACKAGE_VERSION));
    json_object_object_add(data, "uptime_seconds",
                           json_object_new_int64((time_mono_ms() - env->started_mono_ms) / 1000));
    json_object_object_add(data, "connections", json_object_new_uint64(registry_count(env->reg)));
    if (stopping) {
        json_object_put(data);
        http_retry_later(req, 503, "Server is shutting down", HTTP_RETRY_AFTER);
        return;
    }
    http_ok(req, data, "OK");
}

static void emit_fcgx(void *ctx, const char *data, size_t len)
{
    FCGX_PutStr(data, (int)len, ctx);
}

/* 200 with {"success": true, "data": <what fn writes>, "message": message},
 * streamed to the web server as fn writes it. */
static void reply_streamed(FCGX_Request *req, void (*fn)(struct jw *w, const void *arg),
                           const void *arg, const char *message)
{
    char *buf = malloc(JW_STREAM_BUF);
    if (!buf) {
        http_error(req, 500, "Out of memory", NULL);
        return;
    }
    http_head(req, 200, "application/json");
    struct jw w;
    jw_init(&w, buf, JW_STREAM_BUF, emit_fcgx, req->out);
    jw_lit(&w, "{\"success\":true,\"data\":");
    fn(&w, arg);
    jw_lit(&w, ",\"message\":");
    jw_str(&w, message);
    jw_lit(&w, "}\n");
    jw_flush(&w);
    free(buf);
}

/* Lets a big answer go into the socket whole, so the worker is free again
 * once it has rendered it, however slowly the web server reads: a
 * 10,000-connection stats answer (6 MB) otherwise waits for the web server
 * some 30 times.  The kernel caps the size at net.core.wmem_max, and
 * charges only what is queued. */
static void widen_send_buffer(int fd, size_t bytes)
{
    if (bytes <= STATS_SNDBUF_FROM)
        return;
    int size = bytes < STATS_SNDBUF_MAX ? (int)bytes : STATS_SNDBUF_MAX;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

/* What a stats answer writes: one of its three shapes. */
struct stats_answer {
    const struct stats_view *view;
    const struct stats_query *q;
    size_t total;                   /* paged: connections that match */
};

static void write_stats(struct jw *w, const void *arg)
{
    const struct stats_answer *a = arg;
    if (a->q->summary)
        stats_write_summary(w, a->view);
    else if (a->q->paged)
        stats_write_page(w, a->view, a->q->offset, a->q->limit, a->total);
    else if (stats_write(w, a->view) < 0)
        jw_lit(w, "null");
}

static void handle_stats(const struct handlers_env *env, FCGX_Request *req)
{
    struct stats_query q;
    const char *err;
    if (routes_stats_query(http_param(req, "QUERY_STRING"), &q, &err) < 0) {
        http_error(req, 400, err, NULL);
        return;
    }
    struct registry_snapshot snap;
    struct stats_answer a = { .q = &q };
    int rc;
    if (q.summary) {
        hub_counts(env->hub, &snap);
        rc = 0;
    } else if (q.paged) {
        struct registry_query rq = { .type = q.type, .state = q.state,
                                     .text = q.text[0] ? q.text : NULL,
                                     .offset = q.offset, .limit = q.limit };
        rc = hub_page(env->hub, &rq, &snap, &a.total);
    } else {
        rc = hub_snapshot(env->hub, &snap);
    }
    if (rc < 0) {
        http_error(req, 500, "Out of memory", NULL);
        return;
    }
    /* Streamed from the snapshot: the registry lock is long released, and
     * no tree of 10,000 objects is built. */
    struct displays *d = displays_slot_get(env->displays);
    struct stats_roster roster;
    bool have_roster = d && roster_build(env->hub, d, &roster) == 0;
    struct stats_view v = {
        .snap = &snap,
        .now_ms = time_now_ms(),
        .events_last_hour = window_sum(env->win, window_clock()),
        .heartbeat_ms = env->opt->heartbeat_ms,
        .roster = have_roster ? &roster : NULL,
        .extra = hub_describe_cb,
        .extra_ctx = env->hub,
    };
    a.view = &v;
    widen_send_buffer(req->ipcFd, stats_size_hint(&snap));
    reply_streamed(req, write_stats, &a, "SSE connection statistics");
    if (have_roster)
        roster_free(&roster);
    displays_free(d);
    registry_snapshot_release(&snap);
}

static void handle_test(const struct handlers_env *env, FCGX_Request *req, const char *user)
{
    struct json_object *root = http_json_body(req, TEST_BODY_MAX);
    if (!root)
        return;
    struct test_request t;
    const char *err;
    if (body_test(root, &t, &err) < 0) {
        http_error(req, 400, err, NULL);
        json_object_put(root);
        return;
    }
    char name[sizeof "system." + NAME_MAX_LEN];
    snprintf(name, sizeof name, "system.%s", t.type);
    /* t.message lives in root, kept to the end: no 1 KiB copy on the
     * worker's stack. */
    char fallback[sizeof "Test event from " + CONN_NAME_MAX];
    snprintf(fallback, sizeof fallback, "Test event from %s", user);
    const char *message = t.message ? t.message : fallback;

    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "message", json_object_new_string(message));
    json_object_object_add(data, "username", json_object_new_string(user));
    json_object_object_add(data, "timestamp", stamp_now());
    json_object_object_add(data, "test_event", json_object_new_boolean(1));
    struct json_object *at = json_object_get(json_object_object_get(data, "timestamp"));
    struct filter f = { .type = CONN_ADMIN };
    struct hub_published done;
    int rc = broadcast(env, name, data, &f, &done);
    if (rc < 0) {
        json_object_put(at);
        json_object_put(root);
        publish_failed(req, rc);
        return;
    }
    struct json_object *out = json_object_new_object();
    json_object_object_add(out, "event_type", json_object_new_string(name));
    json_object_object_add(out, "message", json_object_new_string(message));
    json_object_object_add(out, "connections_notified", json_object_new_uint64(done.notified));
    json_object_object_add(out, "broadcast_at", at);
    json_object_put(root);
    http_ok(req, out, "Test event broadcast");
}

static void handle_publish(const struct handlers_env *env, FCGX_Request *req)
{
    struct json_object *root = http_json_body(req, PUBLISH_BODY_MAX);
    if (!root)
        return;
    struct publish_request p;
    const char *err;
    if (body_publish(root, &p, &err) < 0) {
        http_error(req, 400, err, NULL);
        json_object_put(root);
        return;
    }
    struct filter f = { .type = p.target, .user = p.user, .display = p.display };
    struct json_object *data = p.data ? json_object_get(p.data) : json_object_new_object();
    if (json_object_is_type(data, json_type_object)) {
        /* Copy, so adding the timestamp leaves root's data alone. */
        struct json_object *copy = NULL;
        json_object_deep_copy(data, &copy, NULL);
        json_object_put(data);
        data = copy;
    }
    struct hub_published done;
    int rc = data ? broadcast(env, p.event, data, &f, &done) : HUB_NOMEM;
    if (rc < 0) {
        json_object_put(root);
        publish_failed(req, rc);
        return;
    }
    struct json_object *out = json_object_new_object();
    json_object_object_add(out, "event", json_object_new_string(p.event));
    json_object_object_add(out, "id", json_object_new_uint64(done.id));
    json_object_object_add(out, "connections_notified", json_object_new_uint64(done.notified));
    json_object_put(root);
    http_ok(req, out, "Event published");
}

static bool dispatch(const struct handlers_env *env, FCGX_Request *req, int *route);

void handlers_bad_request(const struct handlers_env *env, FCGX_Request *req, const char *message)
{
    int64_t t0 = time_mono_us();
    http_error(req, 400, message, NULL);
    metrics_request(env->metrics, ROUTE_NOT_FOUND, 400, time_mono_us() - t0);
}

bool handlers_dispatch(const struct handlers_env *env, FCGX_Request *req)
{
    int64_t t0 = time_mono_us();
    int route = ROUTE_NOT_FOUND;
    http_note_status(500);
    bool handed = dispatch(env, req, &route);
    metrics_request(env->metrics, route, http_last_status(), time_mono_us() - t0);
    return handed;
}

/* Matches req's path into *r.  Returns false if the path is missing or
 * invalid.  Kept out of line, so the path's 2 KiB buffer is gone from the
 * stack before a handler runs. */
__attribute__((noinline))
static bool match_route(const struct handlers_env *env, FCGX_Request *req, struct route *r)
{
    char pathbuf[ROUTE_PATH_MAX];
    const char *path = routes_path(http_param(req, "DOCUMENT_URI"), http_param(req, "SCRIPT_NAME"),
                                   http_param(req, "PATH_INFO"), http_param(req, "REQUEST_URI"),
                                   pathbuf, sizeof pathbuf);
    if (!path)
        return false;
    routes_match(env->opt->prefix, path, r);
    return true;
}

/* Answers req, or hands it to an I/O loop (returns true); sets *route
 * for the metrics. */
static bool dispatch(const struct handlers_env *env, FCGX_Request *req, int *route)
{
    const char *method = http_param(req, "REQUEST_METHOD");
    struct route r;
    if (!match_route(env, req, &r)) {
        http_error(req, 400, "Request path is missing or invalid", NULL);
        return false;
    }
    *route = r.id;
    if (r.id == ROUTE_NOT_FOUND) {
        http_error(req, 404, "No such route", NULL);
        return false;
    }
    if (!method || strcmp(method, r.allow) != 0) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Allow: %s\r\n", r.allow);
        char msg[64];
        snprintf(msg, sizeof msg, "Method not allowed: use %s", r.allow);
        http_error(req, 405, msg, hdr);
        return false;
    }
    const char *user = identity(env, req);
    if (r.admin && !user) {
        http_error(req, 401, "Authentication required", NULL);
        return false;
    }
    if (user && strlen(user) > CONN_NAME_MAX) {
        http_error(req, 400, "User name is longer than 128 bytes", NULL);
        return false;
    }
    switch (r.id) {
    case ROUTE_ADMIN_STREAM:
        return open_stream(env, req, CONN_ADMIN, user, false);
    case ROUTE_DISPLAY_STREAM:
        if (r.bad_name) {
            http_error(req, 400,
                           "Invalid display name: use 1-64 characters of A-Z a-z 0-9 . _ -", NULL);
            return false;
        }
        return open_display(env, req, r.name);
    case ROUTE_DISCONNECT:
        handle_disconnect(env, req);
        return false;
    case ROUTE_STATS:
        handle_stats(env, req);
        return false;
    case ROUTE_TEST:
        handle_test(env, req, user);
        return false;
    case ROUTE_PUBLISH:
        handle_publish(env, req);
        return false;
    case ROUTE_ACK:
        handle_ack(env, req);
        return false;
    case ROUTE_CLOSED:
        handle_closed(env, req);
        return false;
    case ROUTE_METRICS:
        handle_metrics(env, req);
        return false;
    case ROUTE_HEALTH:
        handle_health(env, req);
        return false;
    case ROUTE_CONNECTION:
        if (r.bad_name)
            http_error(req, 404, "No live connection with that id", NULL);
        else
            handle_close_connection(env, req, r.name);
        return false;
    case ROUTE_NOT_FOUND:
        break;
    }
    return false;
}
