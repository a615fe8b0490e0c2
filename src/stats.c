/* stats.c -- the JSON of the stats answers (see stats.h). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stats.h"
#include "timeutil.h"

/* A whole answer built in memory (stats_render, for tests). */
#define ANSWER_TEXT_MAX (512 * 1024 * 1024)

static void jw_iso(struct jw *w, int64_t ms)
{
    char buf[TIME_ISO_LEN];
    jw_str(w, time_iso8601(buf, ms));
}

/* An ISO time, or null for 0. */
static void jw_iso_or_null(struct jw *w, int64_t ms)
{
    if (ms)
        jw_iso(w, ms);
    else
        jw_lit(w, "null");
}

/* "id", "type", "user" or "display", "client": what a live and a closed
 * connection share.  Every name here is JSON-escaped. */
static void write_identity(struct jw *w, const struct conn_info *ci)
{
    jw_lit(w, "{\"id\":");
    jw_str(w, ci->public_id);
    jw_lit(w, ci->type == CONN_ADMIN ? ",\"type\":\"admin\",\"user\":"
                                     : ",\"type\":\"display\",\"display\":");
    jw_str(w, ci->name);
    jw_lit(w, ",\"client\":");
    jw_str(w, ci->client[0] ? ci->client : NULL);
    if (ci->node[0]) {
        jw_lit(w, ",\"node\":");
        jw_str(w, ci->node);
    }
}

static void write_seq(struct jw *w, uint64_t seq)
{
    if (!seq)
        return;
    jw_lit(w, ",\"seq\":");
    jw_u64(w, seq);
}

void stats_write_connection(struct jw *w, const struct conn_info *ci, uint64_t seq)
{
    write_identity(w, ci);
    jw_lit(w, ",\"connected_at\":");
    jw_iso(w, ci->connected_at_ms);
    jw_lit(w, ",\"last_ping\":");
    jw_iso(w, ci->last_ping_ms ? ci->last_ping_ms : ci->connected_at_ms);
    jw_lit(w, ci->stale ? ",\"state\":\"stale\",\"ack\":" : ",\"state\":\"live\",\"ack\":");
    jw_bool(w, ci->ack);
    jw_lit(w, ",\"last_ack\":");
    jw_iso_or_null(w, ci->last_ack_ms);
    jw_lit(w, ",\"last_ack_rtt_ms\":");
    if (ci->last_ack_rtt_ms >= 0)
        jw_i64(w, ci->last_ack_rtt_ms);
    else
        jw_lit(w, "null");
    jw_lit(w, ",\"events_queued\":");
    jw_u64(w, ci->events_queued);
    jw_lit(w, ",\"events_sent\":");
    jw_u64(w, ci->events_sent);
    /* Queued, neither written nor waiting: none while the connection lives
     * (a consumer that falls behind is dropped whole, not its events). */
    uint64_t pending = ci->events_sent + ci->queue_depth;
    jw_lit(w, ",\"events_dropped\":");
    jw_u64(w, ci->events_queued > pending ? ci->events_queued - pending : 0);
    jw_lit(w, ",\"queue_depth\":");
    jw_u64(w, ci->queue_depth);
    jw_lit(w, ",\"bytes_sent\":");
    jw_u64(w, ci->bytes_sent);
    write_seq(w, seq);
    jw_lit(w, "}");
}

void stats_write_closed(struct jw *w, const struct conn_info *ci, enum close_reason reason,
                        int64_t closed_ms, uint64_t seq)
{
    write_identity(w, ci);
    jw_lit(w, ",\"opened_at\":");
    jw_iso(w, ci->connected_at_ms);
    jw_lit(w, ",\"closed_at\":");
    jw_iso(w, closed_ms);
    char secs[32];
    snprintf(secs, sizeof secs, "%.3f", (double)(closed_ms - ci->connected_at_ms) / 1000.0);
    jw_lit(w, ",\"duration_seconds\":");
    jw_lit(w, secs);
    jw_lit(w, ",\"events_sent\":");
    jw_u64(w, ci->events_sent);
    jw_lit(w, ",\"bytes_sent\":");
    jw_u64(w, ci->bytes_sent);
    jw_lit(w, ",\"reason\":");
    jw_str(w, conn_reason_name(reason));
    write_seq(w, seq);
    jw_lit(w, "}");
}

/* {"client_closed": n, ...} for every reason, zeros included; returns their sum. */
static uint64_t write_reason_totals(struct jw *w, const uint64_t totals[CLOSE_REASONS])
{
    uint64_t sum = 0;
    jw_lit(w, "{");
    for (int r = CLOSE_CLIENT_CLOSED; r < CLOSE_REASONS; r++) {
        if (r != CLOSE_CLIENT_CLOSED)
            jw_lit(w, ",");
        jw_key(w, conn_reason_name((enum close_reason)r));
        jw_u64(w, totals[r]);
        sum += totals[r];
    }
    jw_lit(w, "}");
    return sum;
}

void stats_write_closed_log(struct jw *w, const struct closed_info *closed, size_t n,
                            const uint64_t totals[CLOSE_REASONS])
{
    jw_lit(w, "{\"capacity\":");
    jw_u64(w, REGISTRY_CLOSED_MAX);
    jw_lit(w, ",\"closed\":[");
    for (size_t i = 0; i < n; i++) {
        const struct closed_info *c = &closed[i];
        struct conn_info ci = { .type = c->type, .connected_at_ms = c->opened_ms,
                                .events_sent = c->events_sent, .bytes_sent = c->bytes_sent };
        memcpy(ci.public_id, c->public_id, sizeof ci.public_id);
        memcpy(ci.name, c->name, sizeof ci.name);
        memcpy(ci.client, c->client, sizeof ci.client);
        memcpy(ci.node, c->node, sizeof ci.node);
        if (i)
            jw_lit(w, ",");
        stats_write_closed(w, &ci, c->reason, c->closed_ms, 0);
    }
    jw_lit(w, "],\"totals\":");
    uint64_t sum = write_reason_totals(w, totals);
    jw_lit(w, ",\"closed_total\":");
    jw_u64(w, sum);
    jw_lit(w, "}");
}

static void write_roster(struct jw *w, const struct stats_roster *r)
{
    static const char *const states[] = { "missing", "connected", "stale" };
    jw_lit(w, "[");
    for (size_t i = 0; i < r->n; i++) {
        const struct stats_roster_entry *e = &r->v[i];
        jw_lit(w, i ? ",{\"display\":" : "{\"display\":");
        jw_str(w, e->display);
        jw_lit(w, ",\"state\":");
        jw_str(w, states[e->state]);
        jw_lit(w, ",\"id\":");
        jw_str(w, e->id[0] ? e->id : NULL);
        jw_lit(w, ",\"last_seen\":");
        jw_iso_or_null(w, e->last_seen_ms);
        jw_lit(w, "}");
    }
    jw_lit(w, "]");
}

/* The members every stats answer has (the summary), after "{". */
static void write_counts(struct jw *w, const struct stats_view *v)
{
    const struct registry_snapshot *s = v->snap;
    char num[32];
    jw_lit(w, "\"total_connections\":");
    jw_u64(w, s->count);
    jw_lit(w, ",\"admin_connections\":");
    jw_u64(w, s->admin_count);
    jw_lit(w, ",\"display_connections\":");
    jw_u64(w, s->display_count);
    jw_lit(w, ",\"stale_connections\":");
    jw_u64(w, s->stale_count);
    double age = s->count ? ((double)v->now_ms * (double)s->count - (double)s->connected_at_sum_ms)
                                / 1000.0 / (double)s->count : 0.0;
    snprintf(num, sizeof num, "%.1f", age > 0 ? age : 0.0);
    jw_lit(w, ",\"average_connection_age_seconds\":");
    jw_lit(w, num);
    jw_lit(w, ",\"events_sent_last_hour\":");
    jw_u64(w, v->events_last_hour);
    jw_lit(w, ",\"closed_by_reason\":");
    uint64_t closed_total = write_reason_totals(w, s->closed_by_reason);
    jw_lit(w, ",\"closed_total\":");
    jw_u64(w, closed_total);
    snprintf(num, sizeof num, "%.3g", (double)v->heartbeat_ms / 1000.0);
    jw_lit(w, ",\"heartbeat_seconds\":");
    jw_lit(w, num);
    jw_lit(w, ",\"stale_after_heartbeats\":");
    jw_u64(w, CONN_STALE_BEATS);
    jw_lit(w, ",\"close_after_heartbeats\":");
    jw_u64(w, CONN_CLOSE_BEATS);
    jw_lit(w, ",\"roster\":");
    if (v->roster) {
        jw_lit(w, "{\"expected\":");
        jw_u64(w, v->roster->n);
        jw_lit(w, ",\"connected\":");
        jw_u64(w, v->roster->connected);
        jw_lit(w, ",\"stale\":");
        jw_u64(w, v->roster->stale);
        jw_lit(w, ",\"missing\":");
        jw_u64(w, v->roster->missing);
        jw_lit(w, "}");
    } else {
        jw_lit(w, "null");
    }
    jw_lit(w, ",\"seq\":");
    jw_u64(w, s->seq);
    if (v->extra)
        v->extra(v->extra_ctx, w);
    if (v->stamp) {
        jw_lit(w, ",\"timestamp\":");
        jw_iso(w, v->now_ms);
    }
}

void stats_write_summary(struct jw *w, const struct stats_view *v)
{
    jw_lit(w, "{");
    write_counts(w, v);
    jw_lit(w, "}");
}

void stats_write_page(struct jw *w, const struct stats_view *v, size_t offset, size_t limit,
                      size_t total)
{
    jw_lit(w, "{");
    write_counts(w, v);
    jw_lit(w, ",\"connections\":[");
    for (size_t i = 0; i < v->snap->nconns; i++) {
        if (i)
            jw_lit(w, ",");
        stats_write_connection(w, &v->snap->conns[i], 0);
    }
    jw_lit(w, "],\"page\":{\"offset\":");
    jw_u64(w, offset);
    jw_lit(w, ",\"limit\":");
    jw_u64(w, limit);
    jw_lit(w, ",\"total\":");
    jw_u64(w, total);
    jw_lit(w, "}");
    if (v->roster) {
        jw_lit(w, ",\"expected_displays\":");
        write_roster(w, v->roster);
    }
    jw_lit(w, "}");
}

static void grow_emit(void *ctx, const char *data, size_t len)
{
    buf_append(ctx, data, len);
}

/* Room for one connection object: some 330 bytes with short names. */
#define OBJECT_BYTES 384
/* The text of every connection object, at most (20,000 take some 8 MB). */
#define OBJECTS_TEXT_MAX (256 * 1024 * 1024)

/* The connection objects, each rendered once: `connections` and the
 * by_type lists repeat the same text, so the second copy is a memcpy. */
struct rendered {
    struct buf text;            /* the objects in snapshot order, comma-separated */
    size_t *start;              /* start[i]: offset of object i; start[count]: end + 1 */
    struct jw *out;             /* where they go as they are rendered */
};

static void tee_emit(void *ctx, const char *data, size_t len)
{
    struct rendered *r = ctx;
    grow_emit(&r->text, data, len);
    jw_raw(r->out, data, len);
}

/* Writes the objects, comma-separated, to out as they are rendered (the
 * body of `connections`: the answer begins before the rendering ends),
 * keeping their text in r. */
static void render_objects(struct rendered *r, const struct registry_snapshot *snap,
                           char *buf, struct jw *out)
{
    r->out = out;
    struct jw w;
    jw_init(&w, buf, JW_STREAM_BUF, tee_emit, r);
    for (size_t i = 0; i < snap->nconns; i++) {
        if (i)
            jw_raw(&w, ",", 1);
        r->start[i] = r->text.len + w.len;
        stats_write_connection(&w, &snap->conns[i], 0);
    }
    jw_flush(&w);
    r->start[snap->nconns] = r->text.len + 1;
}

static void rendered_free(struct rendered *r)
{
    buf_reset(&r->text);
    free(r->start);
}

/* A JSON array of the connections of one type: each run of neighbours
 * of that type, with the commas between them, in one piece; rendered
 * anew if the text could not be kept (out of memory). */
static void write_list(struct jw *w, const struct registry_snapshot *snap,
                       const struct rendered *r, enum conn_type type)
{
    jw_lit(w, "[");
    bool first = true;
    for (size_t i = 0, j; i < snap->nconns; i = j) {
        j = i + 1;
        if (snap->conns[i].type != type)
            continue;
        while (j < snap->nconns && snap->conns[j].type == type)
            j++;
        if (!first)
            jw_lit(w, ",");
        first = false;
        if (!r->text.failed) {
            jw_raw(w, r->text.data + r->start[i], r->start[j] - 1 - r->start[i]);
            continue;
        }
        for (size_t k = i; k < j; k++) {
            if (k > i)
                jw_lit(w, ",");
            stats_write_connection(w, &snap->conns[k], 0);
        }
    }
    jw_lit(w, "]");
}

size_t stats_size_hint(const struct registry_snapshot *snap)
{
    /* Each object twice, and its public id once more. */
    return snap->nconns * (2 * OBJECT_BYTES + PUBLIC_ID_LEN + 3) + 4096;
}

int stats_write(struct jw *w, const struct stats_view *v)
{
    const struct registry_snapshot *snap = v->snap;
    struct rendered objs;
    buf_init(&objs.text, OBJECTS_TEXT_MAX);
    /* Room for the usual objects at once: one allocation, no regrowth.  If
     * even that fails, the lists are rendered anew (see write_list). */
    buf_reserve(&objs.text, snap->nconns * OBJECT_BYTES + 1);
    objs.start = malloc((snap->nconns + 1) * sizeof *objs.start);
    char *buf = malloc(JW_STREAM_BUF);
    if (!objs.start || !buf) {
        rendered_free(&objs);
        free(buf);
        return -1;
    }
    jw_lit(w, "{");
    write_counts(w, v);
    jw_lit(w, ",\"active_connection_ids\":[");
    for (size_t i = 0; i < snap->nconns; i++) {
        if (i)
            jw_lit(w, ",");
        jw_str(w, snap->conns[i].public_id);
    }
    jw_lit(w, "],\"connections\":[");
    render_objects(&objs, snap, buf, w);
    free(buf);
    jw_lit(w, "],\"connection_details\":{\"by_type\":{\"admin\":");
    write_list(w, snap, &objs, CONN_ADMIN);
    jw_lit(w, ",\"display\":");
    write_list(w, snap, &objs, CONN_DISPLAY);
    rendered_free(&objs);
    jw_lit(w, "}}");
    if (v->roster) {
        jw_lit(w, ",\"expected_displays\":");
        write_roster(w, v->roster);
    }
    jw_lit(w, "}");
    return 0;
}

struct json_object *stats_render(void (*fn)(struct jw *w, const void *arg), const void *arg)
{
    struct buf g;
    buf_init(&g, ANSWER_TEXT_MAX);
    char *buf = malloc(JW_STREAM_BUF);
    if (!buf)
        return NULL;
    struct jw w;
    jw_init(&w, buf, JW_STREAM_BUF, grow_emit, &g);
    fn(&w, arg);
    jw_flush(&w);
    free(buf);
    struct json_object *o = !g.failed ? json_tokener_parse(buf_unread_data(&g)) : NULL;
    buf_reset(&g);
    return o;
}
