/* stats.c -- the stats route's data object. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stats.h"
#include "timeutil.h"

static struct json_object *iso(int64_t ms)
{
    char buf[TIME_ISO_LEN];
    return json_object_new_string(time_iso8601(buf, ms));
}

bool stats_is_stale(const struct conn_info *ci, int64_t now_ms, int64_t heartbeat_ms)
{
    int64_t since = ci->last_ack_ms ? ci->last_ack_ms : ci->connected_at_ms;
    return ci->ack && now_ms - since >= CONN_STALE_BEATS * heartbeat_ms;
}

/* The fields a live and a closed connection share. */
static void add_identity(struct json_object *o, const char *id, enum conn_type type,
                         const char *name, const char *client)
{
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "type", json_object_new_string(conn_type_name(type)));
    json_object_object_add(o, type == CONN_ADMIN ? "user" : "display",
                           json_object_new_string(name));
    json_object_object_add(o, "client", client[0] ? json_object_new_string(client) : NULL);
}

static void jw_iso(struct jw *w, int64_t ms)
{
    char buf[TIME_ISO_LEN];
    jw_str(w, time_iso8601(buf, ms));
}

/* One connection object.  Every name here is JSON-escaped. */
static void write_connection(struct jw *w, const struct conn_info *ci, bool stale)
{
    jw_lit(w, "{\"id\":");
    jw_str(w, ci->public_id);
    jw_lit(w, ci->type == CONN_ADMIN ? ",\"type\":\"admin\",\"user\":"
                                     : ",\"type\":\"display\",\"display\":");
    jw_str(w, ci->name);
    jw_lit(w, ",\"client\":");
    jw_str(w, ci->client[0] ? ci->client : NULL);
    jw_lit(w, ",\"connected_at\":");
    jw_iso(w, ci->connected_at_ms);
    jw_lit(w, ",\"last_ping\":");
    jw_iso(w, ci->last_ping_ms ? ci->last_ping_ms : ci->connected_at_ms);
    jw_lit(w, stale ? ",\"state\":\"stale\",\"ack\":" : ",\"state\":\"live\",\"ack\":");
    jw_bool(w, ci->ack);
    jw_lit(w, ",\"last_ack\":");
    if (ci->last_ack_ms)
        jw_iso(w, ci->last_ack_ms);
    else
        jw_lit(w, "null");
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
    jw_lit(w, "}");
}

/* Emits a json-c object's compact text. */
static void write_object(struct jw *w, struct json_object *o)
{
    size_t len;
    const char *text = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    jw_raw(w, text, len);
    json_object_put(o);
}

static struct json_object *reason_totals(const uint64_t totals[CLOSE_REASONS], uint64_t *sum)
{
    struct json_object *o = json_object_new_object();
    *sum = 0;
    for (int r = CLOSE_CLIENT_CLOSED; r < CLOSE_REASONS; r++) {
        json_object_object_add(o, conn_reason_name((enum close_reason)r),
                               json_object_new_uint64(totals[r]));
        *sum += totals[r];
    }
    return o;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const struct conn_info *const *)a)->name,
                  (*(const struct conn_info *const *)b)->name);
}

struct json_object *stats_roster(const struct registry_snapshot *snap,
                                 const struct displays *expected, int64_t now_ms,
                                 int64_t heartbeat_ms)
{
    size_t nd = 0;
    const struct conn_info **live = malloc((snap->count ? snap->count : 1) * sizeof *live);
    struct json_object *out = json_object_new_array();
    if (!live)
        return out;
    for (size_t i = 0; i < snap->count; i++)
        if (snap->conns[i].type == CONN_DISPLAY)
            live[nd++] = &snap->conns[i];
    qsort(live, nd, sizeof *live, by_name);
    size_t j = 0;
    for (size_t i = 0; i < displays_count(expected); i++) {
        const char *name = displays_name(expected, i);
        while (j < nd && strcmp(live[j]->name, name) < 0)
            j++;
        const struct conn_info *ci = j < nd && strcmp(live[j]->name, name) == 0 ? live[j] : NULL;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "display", json_object_new_string(name));
        json_object_object_add(o, "state", json_object_new_string(
            !ci ? "missing" : stats_is_stale(ci, now_ms, heartbeat_ms) ? "stale" : "connected"));
        json_object_object_add(o, "id", ci ? json_object_new_string(ci->public_id) : NULL);
        json_object_array_add(out, o);
    }
    free(live);
    return out;
}

struct json_object *stats_render_closed(const struct closed_info *closed, size_t n,
                                        const uint64_t totals[CLOSE_REASONS])
{
    struct json_object *list = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++) {
        const struct closed_info *ci = &closed[i];
        struct json_object *o = json_object_new_object();
        add_identity(o, ci->public_id, ci->type, ci->name, ci->client);
        json_object_object_add(o, "opened_at", iso(ci->opened_ms));
        json_object_object_add(o, "closed_at", iso(ci->closed_ms));
        char secs[32];
        snprintf(secs, sizeof secs, "%.3f", (double)(ci->closed_ms - ci->opened_ms) / 1000.0);
        json_object_object_add(o, "duration_seconds", json_object_new_double_s(atof(secs), secs));
        json_object_object_add(o, "events_sent", json_object_new_uint64(ci->events_sent));
        json_object_object_add(o, "bytes_sent", json_object_new_uint64(ci->bytes_sent));
        json_object_object_add(o, "reason", json_object_new_string(conn_reason_name(ci->reason)));
        json_object_array_add(list, o);
    }
    uint64_t sum;
    struct json_object *data = json_object_new_object();
    json_object_object_add(data, "capacity", json_object_new_int(REGISTRY_CLOSED_MAX));
    json_object_object_add(data, "closed", list);
    json_object_object_add(data, "totals", reason_totals(totals, &sum));
    json_object_object_add(data, "closed_total", json_object_new_uint64(sum));
    return data;
}

static void grow_emit(void *ctx, const char *data, size_t len)
{
    buf_append(ctx, data, len);
}

/* Room for one connection object: some 330 bytes with short names. */
#define OBJECT_BYTES 384
/* The text of every connection object, at most (20,000 take some 8 MB). */
#define OBJECTS_TEXT_MAX (256 * 1024 * 1024)
/* A whole answer built in memory (stats_render, for tests and small answers). */
#define ANSWER_TEXT_MAX (512 * 1024 * 1024)

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
                           const bool *stale, char *buf, struct jw *out)
{
    r->out = out;
    struct jw w;
    jw_init(&w, buf, JW_STREAM_BUF, tee_emit, r);
    for (size_t i = 0; i < snap->count; i++) {
        if (i)
            jw_raw(&w, ",", 1);
        r->start[i] = r->text.len + w.len;
        write_connection(&w, &snap->conns[i], stale[i]);
    }
    jw_flush(&w);
    r->start[snap->count] = r->text.len + 1;
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
                       const struct rendered *r, const bool *stale, enum conn_type type)
{
    jw_lit(w, "[");
    bool first = true;
    for (size_t i = 0, j; i < snap->count; i = j) {
        j = i + 1;
        if (snap->conns[i].type != type)
            continue;
        while (j < snap->count && snap->conns[j].type == type)
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
            write_connection(w, &snap->conns[k], stale[k]);
        }
    }
    jw_lit(w, "]");
}

size_t stats_size_hint(const struct registry_snapshot *snap)
{
    /* Each object twice, and its public id once more. */
    return snap->count * (2 * OBJECT_BYTES + PUBLIC_ID_LEN + 3) + 4096;
}

int stats_write(struct jw *w, const struct registry_snapshot *snap, int64_t now_ms,
                uint64_t events_last_hour, int64_t heartbeat_ms, struct json_object *roster)
{
    bool *stale = malloc(snap->count ? snap->count : 1);
    struct rendered objs;
    buf_init(&objs.text, OBJECTS_TEXT_MAX);
    /* Room for the usual objects at once: one allocation, no regrowth.  If
     * even that fails, the lists are rendered anew (see write_list). */
    buf_reserve(&objs.text, snap->count * OBJECT_BYTES + 1);
    objs.start = malloc((snap->count + 1) * sizeof *objs.start);
    char *buf = malloc(JW_STREAM_BUF);
    if (!stale || !objs.start || !buf) {
        rendered_free(&objs);
        free(buf);
        free(stale);
        json_object_put(roster);
        return -1;
    }
    double age_sum = 0;
    size_t nstale = 0;
    for (size_t i = 0; i < snap->count; i++) {
        const struct conn_info *ci = &snap->conns[i];
        stale[i] = stats_is_stale(ci, now_ms, heartbeat_ms);
        nstale += stale[i];
        int64_t age = now_ms - ci->connected_at_ms;
        age_sum += age > 0 ? (double)age / 1000.0 : 0;
    }
    char num[32];
    jw_lit(w, "{\"total_connections\":");
    jw_u64(w, snap->count);
    jw_lit(w, ",\"admin_connections\":");
    jw_u64(w, snap->admin_count);
    jw_lit(w, ",\"display_connections\":");
    jw_u64(w, snap->display_count);
    snprintf(num, sizeof num, "%.1f", snap->count ? age_sum / (double)snap->count : 0.0);
    jw_lit(w, ",\"average_connection_age_seconds\":");
    jw_lit(w, num);
    jw_lit(w, ",\"events_sent_last_hour\":");
    jw_u64(w, events_last_hour);
    jw_lit(w, ",\"active_connection_ids\":[");
    for (size_t i = 0; i < snap->count; i++) {
        if (i)
            jw_lit(w, ",");
        jw_str(w, snap->conns[i].public_id);
    }
    jw_lit(w, "],\"connections\":[");
    render_objects(&objs, snap, stale, buf, w);
    free(buf);
    jw_lit(w, "],\"connection_details\":{\"by_type\":{\"admin\":");
    write_list(w, snap, &objs, stale, CONN_ADMIN);
    jw_lit(w, ",\"display\":");
    write_list(w, snap, &objs, stale, CONN_DISPLAY);
    rendered_free(&objs);
    jw_lit(w, "}},\"stale_connections\":");
    jw_u64(w, nstale);
    uint64_t closed_total;
    jw_lit(w, ",\"closed_by_reason\":");
    write_object(w, reason_totals(snap->closed_by_reason, &closed_total));
    jw_lit(w, ",\"closed_total\":");
    jw_u64(w, closed_total);
    snprintf(num, sizeof num, "%.3g", (double)heartbeat_ms / 1000.0);
    jw_lit(w, ",\"heartbeat_seconds\":");
    jw_lit(w, num);
    jw_lit(w, ",\"stale_after_heartbeats\":");
    jw_u64(w, CONN_STALE_BEATS);
    jw_lit(w, ",\"close_after_heartbeats\":");
    jw_u64(w, CONN_CLOSE_BEATS);
    if (roster) {
        jw_lit(w, ",\"expected_displays\":");
        write_object(w, roster);
    }
    jw_lit(w, "}");
    free(stale);
    return 0;
}

struct json_object *stats_render(const struct registry_snapshot *snap, int64_t now_ms,
                                 uint64_t events_last_hour, int64_t heartbeat_ms,
                                 const struct displays *expected)
{
    struct buf g;
    buf_init(&g, ANSWER_TEXT_MAX);
    char *buf = malloc(JW_STREAM_BUF);
    if (!buf)
        return NULL;
    struct jw w;
    jw_init(&w, buf, JW_STREAM_BUF, grow_emit, &g);
    int rc = stats_write(&w, snap, now_ms, events_last_hour, heartbeat_ms,
                         expected ? stats_roster(snap, expected, now_ms, heartbeat_ms) : NULL);
    jw_flush(&w);
    free(buf);
    struct json_object *o = rc == 0 && !g.failed ? json_tokener_parse(buf_unread_data(&g)) : NULL;
    buf_reset(&g);
    return o;
}
