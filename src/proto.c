/* proto.c -- the protocol's own events (see proto.h). */
#include "autoconf.h"

#include "jsonw.h"
#include "proto.h"
#include "sse.h"
#include "timeutil.h"

#define PROTO_DATA_MAX 512          /* a protocol event's JSON data */

/* A protocol event's data: {"message":...,<members>,"timestamp":...}.
 * begin() opens it; member() adds ,"key": before a value; finish() adds
 * the timestamp and encodes the event into dst. */
struct proto {
    struct jw w;
    char data[PROTO_DATA_MAX];
};

static void begin(struct proto *p, const char *message)
{
    jw_init(&p->w, p->data, sizeof p->data, NULL, NULL);
    jw_lit(&p->w, "{\"message\":");
    jw_str(&p->w, message);
}

static void member(struct proto *p, const char *key)
{
    jw_lit(&p->w, ",");
    jw_key(&p->w, key);
}

/* Encodes event `name` with an `id:` line unless id is 0 and a `retry:`
 * line unless retry_ms is 0.  Returns the length, or -1 if it did not fit. */
static long finish(struct proto *p, char *dst, size_t cap, const char *name, uint64_t id,
                   unsigned retry_ms, int64_t now_ms)
{
    char stamp[TIME_ISO_LEN];
    member(p, "timestamp");
    jw_str(&p->w, time_iso8601(stamp, now_ms));
    jw_lit(&p->w, "}");
    if (p->w.overflow)
        return -1;
    struct sse_event ev = { .id = id, .name = name, .data = p->w.buf, .data_len = p->w.len,
                            .retry_ms = retry_ms };
    long n = sse_encode(dst, cap, &ev);
    return n > 0 && (size_t)n < cap ? n : -1;
}

long proto_connected(char *dst, size_t cap, const struct conn *c, const char *node,
                     int64_t heartbeat_ms, unsigned retry_ms, int64_t now_ms)
{
    struct proto p;
    begin(&p, "SSE connection established");
    member(&p, "connection_id");
    jw_str(&p.w, c->token);
    member(&p, "connection_type");
    jw_str(&p.w, conn_type_name(c->type));
    member(&p, "public_id");
    jw_str(&p.w, c->public_id);
    member(&p, "ack");
    jw_bool(&p.w, c->ack);
    member(&p, "monitor");
    jw_bool(&p.w, c->monitor);
    member(&p, "heartbeat_ms");
    jw_i64(&p.w, heartbeat_ms);
    member(&p, "stale_after_heartbeats");
    jw_u64(&p.w, CONN_STALE_BEATS);
    member(&p, "close_after_heartbeats");
    jw_u64(&p.w, CONN_CLOSE_BEATS);
    member(&p, "client");
    jw_str(&p.w, c->client[0] ? c->client : NULL);
    if (node) {
        member(&p, "node");
        jw_str(&p.w, node);
    }
    return finish(&p, dst, cap, "connected", c->start_id, retry_ms, now_ms);
}

long proto_ping(char *dst, size_t cap, uint64_t seq, int64_t now_ms)
{
    struct proto p;
    begin(&p, "keep-alive");
    if (seq) {
        member(&p, "seq");
        jw_u64(&p.w, seq);
    }
    return finish(&p, dst, cap, "ping", 0, 0, now_ms);
}

long proto_reset(char *dst, size_t cap, int64_t now_ms)
{
    struct proto p;
    begin(&p, "Missed events are no longer available: reload");
    return finish(&p, dst, cap, "reset", 0, 0, now_ms);
}

long proto_farewell(char *dst, size_t cap, enum close_reason reason, int64_t now_ms)
{
    const char *name = "closed", *message;
    switch (reason) {
    case CLOSE_SHUTDOWN:
        name = "shutdown";
        message = "Server shutting down";
        break;
    case CLOSE_SUPERSEDED:
        name = "superseded";
        message = "Replaced by a newer connection";
        break;
    case CLOSE_ADMIN_CLOSED:
        message = "Closed by an administrator";
        break;
    case CLOSE_ACK_TIMEOUT:
        message = "No acknowledgement of the last heartbeats";
        break;
    case CLOSE_DISCONNECT_ROUTE:
        message = "Disconnected on request";
        break;
    default:
        return 0;
    }
    struct proto p;
    begin(&p, message);
    member(&p, "reason");
    jw_str(&p.w, conn_reason_name(reason));
    return finish(&p, dst, cap, name, 0, 0, now_ms);
}
