/* handlers.c -- dispatching FastCGI requests and answering short routes.
 *
 * Runs in the worker threads.  Every answer is a JSON envelope (see
 * API.md); streams are handed to stream.c.  No handler holds the registry
 * mutex while writing: registry calls copy or queue and return first. */
#include "autoconf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "hub.h"
#include "log.h"
#include "body.h"
#include "routes.h"
#include "server_impl.h"
#include "stats.h"
#include "stream.h"
#include "timeutil.h"

#define DISCONNECT_BODY_MAX 4096
#define ACK_BODY_MAX 1024
#define TEST_BODY_MAX 16384
#define PUBLISH_BODY_MAX 65536
#define STREAM_BODY_MAX 4096        /* a GET has none; discard a little */
#define STATS_SNDBUF_FROM (256 * 1024)  /* answers above this widen the send buffer */
#define STATS_SNDBUF_MAX (8 * 1024 * 1024)
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default:  return "Internal Server Error";
    }
}

static const char *error_code(int status)
{
    switch (status) {
    case 400: return "BAD_REQUEST";
    case 401: return "AUTHENTICATION_REQUIRED";
    case 403: return "ACCESS_DENIED";
    case 404: return "NOT_FOUND";
    case 405: return "METHOD_NOT_ALLOWED";
    case 413: return "PAYLOAD_TOO_LARGE";
    case 415: return "UNSUPPORTED_MEDIA_TYPE";
    case 429: return "TOO_MANY_REQUESTS";
    case 503: return "SERVICE_UNAVAILABLE";
    default:  return "INTERNAL_ERROR";
    }
}

/* The status this worker last answered with, for the metrics. */
static _Thread_local int last_status;

/* Writes status, headers and body; takes ownership of body. */
static void reply(FCGX_Stream *out, int status, const char *headers, struct json_object *body)
{
    last_status = status;
    FCGX_FPrintF(out, "Status: %d %s\r\nContent-Type: application/json\r\n"
                      "Cache-Control: no-store\r\n%s\r\n",
                 status, status_text(status), headers ? headers : "");
    size_t len;
    const char *text = json_object_to_json_string_length(body, JSON_FLAGS, &len);
    FCGX_PutStr(text, (int)len, out);
    FCGX_PutChar('\n', out);
    json_object_put(body);
}

void handlers_error(FCGX_Stream *out, int status, const char *message, const char *headers)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(0));
    json_object_object_add(o, "error", json_object_new_string(message));
    json_object_object_add(o, "message", json_object_new_string(message));
    struct json_object *errors = json_object_new_array();
    json_object_array_add(errors, json_object_new_string(message));
    json_object_object_add(o, "errors", errors);
    struct json_object *info = json_object_new_object();
    json_object_object_add(info, "code", json_object_new_string(error_code(status)));
    json_object_object_add(info, "message", json_object_new_string(message));
    json_object_object_add(o, "error_info", info);
    reply(out, status, headers, o);
}

/* 200 with {"success": true, "data": data, "message": message}. */
static void reply_ok(FCGX_Stream *out, struct json_object *data, const char *message)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "message", json_object_new_string(message));
    reply(out, 200, NULL, o);
}

static const char *param(FCGX_Request *req, const char *name)
{
    return FCGX_GetParam(name, req->envp);
}

/* A refusal the client should retry later: 429 or 503 with Retry-After. */
static void refuse(FCGX_Request *req, int status, const char *message)
{
    char hdr[64];
    snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", RETRY_AFTER_SECONDS);
    handlers_error(req->out, status, message, hdr);
}

static void unavailable(FCGX_Request *req, const char *message)
{
    refuse(req, 503, message);
}

/* Reads the request body, at most max bytes, into *buf (caller frees).
 * Returns 0, or an HTTP status (400, 413, 500) after answering it. */
static int read_body(FCGX_Request *req, size_t max, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    /* No length, or -1 (a chunked request, as Caddy passes it): read to the
     * end of FastCGI stdin, within max. */
    const char *cl = param(req, "CONTENT_LENGTH");
    unsigned long long declared = 0;
    bool have_cl = cl && *cl && strcmp(cl, "-1") != 0;
    if (have_cl) {
        if (!routes_decimal(cl, &declared)) {
            handlers_error(req->out, 400, "Invalid Content-Length", NULL);
            return 400;
        }
        if (declared > max) {
            /* Refused without reading: finishing the request closes it. */
            char msg[96];
            snprintf(msg, sizeof msg, "Request body is larger than %zu bytes", max);
            handlers_error(req->out, 413, msg, NULL);
            return 413;
        }
    }
    char *b = malloc(max + 1);
    if (!b) {
        handlers_error(req->out, 500, "Out of memory", NULL);
        return 500;
    }
    size_t got = 0;
    for (;;) {
        int n = FCGX_GetStr(b + got, (int)(max + 1 - got), req->in);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got > max)
            break;
    }
    if (got > max) {
        free(b);
        char msg[96];
        snprintf(msg, sizeof msg, "Request body is larger than %zu bytes", max);
        handlers_error(req->out, 413, msg, NULL);
        return 413;
    }
    if (FCGX_GetError(req->in) || (have_cl && got != declared)) {
        free(b);
        handlers_error(req->out, 400, "Request body does not match its Content-Length", NULL);
        return 400;
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}

/* Reads and parses a JSON object body for a POST route; answers the error
 * itself (415, 413, 400) and returns NULL on any. */
static struct json_object *json_body(FCGX_Request *req, size_t max)
{
    if (!body_content_type_ok(param(req, "CONTENT_TYPE"))) {
        handlers_error(req->out, 415, "Content-Type must be application/json or text/plain", NULL);
        return NULL;
    }
    char *buf;
    size_t len;
    if (read_body(req, max, &buf, &len) != 0)
        return NULL;
    const char *err = NULL;
    struct json_object *root = body_parse(buf, len, &err);
    free(buf);
    if (!root)
        handlers_error(req->out, 400, err, NULL);
    return root;
}

/* The authenticated user, or NULL.  Only REMOTE_USER, set by the web
 * server, counts; HTTP_* params come from the client and never do. */
static const char *identity(struct server *s, FCGX_Request *req)
{
    const char *u = param(req, "REMOTE_USER");
    if (u && *u)
        return u;
    return s->opt.auth == AUTH_NONE ? "admin" : NULL;
}

static struct json_object *stamp_now(void)
{
    char buf[TIME_ISO_LEN];
    return json_object_new_string(time_iso8601(buf, time_now_ms()));
}

/* Publishes one event: data gets a timestamp (a non-object is wrapped as
 * {"data": value}).  Takes ownership of data.  Returns 0 with *out filled,
 * or HUB_NOMEM / HUB_UNAVAILABLE. */
static int broadcast(struct server *s, const char *name, struct json_object *data,
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
    int rc = hub_publish(s->hub, &ev, out);
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
        unavailable(req, hub_error(rc));
    else
        handlers_error(req->out, 500, hub_error(rc), NULL);
}

static bool open_stream(struct server *s, FCGX_Request *req, enum conn_type type,
                        const char *name)
{
    struct stream_query q;
    const char *err;
    if (routes_stream_query(param(req, "QUERY_STRING"), &q, &err) < 0) {
        handlers_error(req->out, 400, err, NULL);
        return false;
    }
    char *body;
    size_t len;
    if (read_body(req, STREAM_BODY_MAX, &body, &len) != 0)
        return false;
    free(body);
    if (atomic_load(&s->stopping)) {
        unavailable(req, "Server is shutting down");
        return false;
    }
    struct conn *c = conn_create(type, name, q.client, q.ack);
    if (!c) {
        unavailable(req, "Cannot create a connection now");
        return false;
    }
    stream_assign(s->loops, c);        /* before it is reachable */
    const char *addr = param(req, "REMOTE_ADDR");
    if (addr) {
        /* Copied, not printed: through snprintf, every stream opened
         * took its worker's stack a page deeper. */
        size_t n = strnlen(addr, sizeof c->addr - 1);
        memcpy(c->addr, addr, n);
        c->addr[n] = '\0';
    }
    /* EventSource sends Last-Event-ID itself; pages that build their own
     * reconnects pass ?lastEventId=.  An id we cannot read means a reset. */
    const char *hdr = param(req, "HTTP_LAST_EVENT_ID");
    bool resume = q.has_last_event_id || (hdr && *hdr);
    unsigned long long last_id = q.last_event_id;
    if (!q.has_last_event_id && resume && !routes_decimal(hdr, &last_id))
        last_id = 0;                        /* never issued: a reset */
    struct hub_resume from = { .resume = resume, .last_id = last_id };
    int superseded = hub_subscribe(s->hub, c, &from);
    if (superseded < 0) {
        conn_free(c);
        metrics_add(s->metrics, METRIC_STREAMS_REFUSED, 1);
        switch (superseded) {
        case REGISTRY_USER_LIMIT:
            refuse(req, 429, "Too many streams for this user");
            break;
        case REGISTRY_ADDRESS_LIMIT:
            refuse(req, 429, "Too many streams from this address");
            break;
        case REGISTRY_FULL:
            unavailable(req, "Too many connections");
            break;
        default:
            unavailable(req, hub_error(superseded));
            break;
        }
        return false;
    }
    metrics_add(s->metrics, METRIC_STREAMS_OPENED, 1);
    last_status = 200;
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

static bool display_known(struct server *s, const char *name)
{
    pthread_mutex_lock(&s->displays_mu);
    bool ok = !s->displays || displays_contains(s->displays, name);
    pthread_mutex_unlock(&s->displays_mu);
    return ok;
}

static void handle_disconnect(struct server *s, FCGX_Request *req)
{
    struct json_object *root = json_body(req, DISCONNECT_BODY_MAX);
    if (!root)
        return;
    const char *id, *err;
    if (body_disconnect(root, &id, &err) < 0) {
        handlers_error(req->out, 400, err, NULL);
        json_object_put(root);
        return;
    }
    bool removed = token_is_wellformed(id, strlen(id)) &&
                   hub_close_token(s->hub, id, CLOSE_DISCONNECT_ROUTE);
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "connection_id", json_object_new_string(id));
    json_object_object_add(data, "disconnected", json_object_new_boolean(removed));
    json_object_put(root);
    reply_ok(req->out, data, removed ? "Connection closed" : "Connection not found or already closed");
}

static void handle_ack(struct server *s, FCGX_Request *req)
{
    struct json_object *root = json_body(req, ACK_BODY_MAX);
    if (!root)
        return;
    const char *id, *err;
    unsigned long long seq;
    if (body_ack(root, &id, &seq, &err) < 0) {
        handlers_error(req->out, 400, err, NULL);
        json_object_put(root);
        return;
    }
    int64_t rtt = token_is_wellformed(id, strlen(id)) ? hub_ack(s->hub, id, seq) : -2;
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "connection_id", json_object_new_string(id));
    json_object_object_add(data, "seq", json_object_new_uint64(seq));
    json_object_object_add(data, "acked", json_object_new_boolean(rtt >= 0));
    if (rtt >= 0)
        json_object_object_add(data, "rtt_ms", json_object_new_int64(rtt));
    json_object_put(root);
    reply_ok(req->out, data, rtt >= 0 ? "Acknowledged"
                             : rtt == -1 ? "No such heartbeat" : "Connection not found");
}

static void handle_closed(struct server *s, FCGX_Request *req)
{
    struct closed_info *log;
    uint64_t totals[CLOSE_REASONS];
    long n = hub_closed(s->hub, &log, totals);
    if (n < 0) {
        handlers_error(req->out, 500, "Out of memory", NULL);
        return;
    }
    struct json_object *data = stats_render_closed(log, (size_t)n, totals);
    free(log);
    reply_ok(req->out, data, "Recently closed connections");
}

static void handle_close_connection(struct server *s, FCGX_Request *req, const char *id)
{
    if (!hub_close_public_id(s->hub, id, CLOSE_ADMIN_CLOSED)) {
        handlers_error(req->out, 404, "No live connection with that id", NULL);
        return;
    }
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "id", json_object_new_string(id));
    json_object_object_add(data, "closed", json_object_new_boolean(1));
    reply_ok(req->out, data, "Connection closed");
}

static void handle_metrics(struct server *s, FCGX_Request *req)
{
    struct registry_snapshot snap;
    if (hub_snapshot(s->hub, &snap) < 0) {
        handlers_error(req->out, 500, "Out of memory", NULL);
        return;
    }
    struct metrics_gauges g = {
        .streams = server_streams(s),
        .uptime_seconds = (double)(time_mono_ms() - s->started_mono_ms) / 1000.0,
        .closed_by_reason = snap.closed_by_reason,
    };
    int64_t now = time_now_ms();
    for (size_t i = 0; i < snap.count; i++) {
        bool stale = stats_is_stale(&snap.conns[i], now, s->opt.heartbeat_ms);
        if (snap.conns[i].type == CONN_ADMIN)
            *(stale ? &g.admin_stale : &g.admin_live) += 1;
        else
            *(stale ? &g.display_stale : &g.display_live) += 1;
    }
    size_t len;
    char *text = metrics_render(s->metrics, &g, &len);
    registry_snapshot_release(&snap);
    if (!text) {
        handlers_error(req->out, 500, "Out of memory", NULL);
        return;
    }
    last_status = 200;
    FCGX_PutS("Status: 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Cache-Control: no-store\r\n\r\n", req->out);
    FCGX_PutStr(text, (int)len, req->out);
    free(text);
}

static void handle_health(struct server *s, FCGX_Request *req)
{
    bool stopping = atomic_load(&s->stopping);
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "status", json_object_new_string(stopping ? "stopping" : "ok"));
    json_object_object_add(data, "version", json_object_new_string(PACKAGE_VERSION));
    json_object_object_add(data, "uptime_seconds",
                           json_object_new_int64((time_mono_ms() - s->started_mono_ms) / 1000));
    json_object_object_add(data, "connections", json_object_new_uint64(registry_count(s->reg)));
    if (stopping) {
        json_object_put(data);
        unavailable(req, "Server is shutting down");
        return;
    }
    reply_ok(req->out, data, "OK");
}

static void emit_fcgx(void *ctx, const char *data, size_t len)
{
    FCGX_PutStr(data, (int)len, ctx);
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

static void handle_stats(struct server *s, FCGX_Request *req)
{
    struct registry_snapshot snap;
    if (hub_snapshot(s->hub, &snap) < 0) {
        handlers_error(req->out, 500, "Out of memory", NULL);
        return;
    }
    /* Streamed from the snapshot: the registry lock is long released, and
     * no tree of 10,000 objects is built. */
    uint64_t events = window_sum(s->win, window_clock());
    char *buf = malloc(JW_STREAM_BUF);
    if (!buf) {
        registry_snapshot_release(&snap);
        handlers_error(req->out, 500, "Out of memory", NULL);
        return;
    }
    last_status = 200;
    widen_send_buffer(req->ipcFd, stats_size_hint(&snap));
    FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n"
              "Cache-Control: no-store\r\n\r\n", req->out);
    /* The roster is built under the lock, and written after it: a web
     * server that reads the answer slowly must not hold up display streams
     * opening (display_known) or a reload. */
    int64_t now = time_now_ms();
    pthread_mutex_lock(&s->displays_mu);
    struct json_object *roster =
        s->displays ? stats_roster(&snap, s->displays, now, s->opt.heartbeat_ms) : NULL;
    pthread_mutex_unlock(&s->displays_mu);
    struct jw w;
    jw_init(&w, buf, JW_STREAM_BUF, emit_fcgx, req->out);
    jw_lit(&w, "{\"success\":true,\"data\":");
    int rc = stats_write(&w, &snap, now, events, s->opt.heartbeat_ms, roster);
    if (rc < 0)
        jw_lit(&w, "null");
    jw_lit(&w, ",\"message\":\"SSE connection statistics\"}\n");
    jw_flush(&w);
    free(buf);
    registry_snapshot_release(&snap);
}

static void handle_test(struct server *s, FCGX_Request *req, const char *user)
{
    struct json_object *root = json_body(req, TEST_BODY_MAX);
    if (!root)
        return;
    struct test_request t;
    const char *err;
    if (body_test(root, &t, &err) < 0) {
        handlers_error(req->out, 400, err, NULL);
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
    int rc = broadcast(s, name, data, &f, &done);
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
    reply_ok(req->out, out, "Test event broadcast");
}

static void handle_publish(struct server *s, FCGX_Request *req)
{
    struct json_object *root = json_body(req, PUBLISH_BODY_MAX);
    if (!root)
        return;
    struct publish_request p;
    const char *err;
    if (body_publish(root, &p, &err) < 0) {
        handlers_error(req->out, 400, err, NULL);
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
    int rc = data ? broadcast(s, p.event, data, &f, &done) : HUB_NOMEM;
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
    reply_ok(req->out, out, "Event published");
}

static bool dispatch(struct server *s, FCGX_Request *req, int *route);

bool handlers_dispatch(struct server *s, FCGX_Request *req)
{
    int64_t t0 = time_mono_us();
    int route = ROUTE_NOT_FOUND;
    last_status = 500;
    bool handed = dispatch(s, req, &route);
    metrics_request(s->metrics, route, last_status, time_mono_us() - t0);
    return handed;
}

/* Matches req's path into *r.  Returns false if the path is missing or
 * invalid.  Kept out of line, so the path's 2 KiB buffer is gone from the
 * stack before a handler runs. */
__attribute__((noinline))
static bool match_route(struct server *s, FCGX_Request *req, struct route *r)
{
    char pathbuf[ROUTE_PATH_MAX];
    const char *path = routes_path(param(req, "DOCUMENT_URI"), param(req, "SCRIPT_NAME"),
                                   param(req, "PATH_INFO"), param(req, "REQUEST_URI"),
                                   pathbuf, sizeof pathbuf);
    if (!path)
        return false;
    routes_match(s->opt.prefix, path, r);
    return true;
}

/* Answers req, or hands it to a stream thread (returns true); sets *route
 * for the metrics. */
static bool dispatch(struct server *s, FCGX_Request *req, int *route)
{
    const char *method = param(req, "REQUEST_METHOD");
    struct route r;
    if (!match_route(s, req, &r)) {
        handlers_error(req->out, 400, "Request path is missing or invalid", NULL);
        return false;
    }
    *route = r.id;
    if (r.id == ROUTE_NOT_FOUND) {
        handlers_error(req->out, 404, "No such route", NULL);
        return false;
    }
    if (!method || strcmp(method, r.allow) != 0) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Allow: %s\r\n", r.allow);
        char msg[64];
        snprintf(msg, sizeof msg, "Method not allowed: use %s", r.allow);
        handlers_error(req->out, 405, msg, hdr);
        return false;
    }
    const char *user = identity(s, req);
    if (r.admin && !user) {
        handlers_error(req->out, 401, "Authentication required", NULL);
        return false;
    }
    if (user && strlen(user) > CONN_NAME_MAX) {
        handlers_error(req->out, 400, "User name is longer than 128 bytes", NULL);
        return false;
    }
    switch (r.id) {
    case ROUTE_ADMIN_STREAM:
        return open_stream(s, req, CONN_ADMIN, user);
    case ROUTE_DISPLAY_STREAM:
        if (r.bad_name) {
            handlers_error(req->out, 400,
                           "Invalid display name: use 1-64 characters of A-Z a-z 0-9 . _ -", NULL);
            return false;
        }
        if (!display_known(s, r.name)) {
            handlers_error(req->out, 404, "Unknown display", NULL);
            return false;
        }
        return open_stream(s, req, CONN_DISPLAY, r.name);
    case ROUTE_DISCONNECT:
        handle_disconnect(s, req);
        return false;
    case ROUTE_STATS:
        handle_stats(s, req);
        return false;
    case ROUTE_TEST:
        handle_test(s, req, user);
        return false;
    case ROUTE_PUBLISH:
        handle_publish(s, req);
        return false;
    case ROUTE_ACK:
        handle_ack(s, req);
        return false;
    case ROUTE_CLOSED:
        handle_closed(s, req);
        return false;
    case ROUTE_METRICS:
        handle_metrics(s, req);
        return false;
    case ROUTE_HEALTH:
        handle_health(s, req);
        return false;
    case ROUTE_CONNECTION:
        if (r.bad_name)
            handlers_error(req->out, 404, "No live connection with that id", NULL);
        else
            handle_close_connection(s, req, r.name);
        return false;
    case ROUTE_NOT_FOUND:
        break;
    }
    return false;
}
