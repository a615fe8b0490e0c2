/* stats.c -- the stats route's data object. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    return ci->ack && now_ms - since >= 2 * heartbeat_ms;
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

static struct json_object *connection(const struct conn_info *ci, bool stale)
{
    struct json_object *o = json_object_new_object();
    add_identity(o, ci->public_id, ci->type, ci->name, ci->client);
    json_object_object_add(o, "connected_at", iso(ci->connected_at_ms));
    json_object_object_add(o, "last_ping", iso(ci->last_ping_ms ? ci->last_ping_ms
                                                                : ci->connected_at_ms));
    json_object_object_add(o, "state", json_object_new_string(stale ? "stale" : "live"));
    json_object_object_add(o, "ack", json_object_new_boolean(ci->ack));
    json_object_object_add(o, "last_ack", ci->last_ack_ms ? iso(ci->last_ack_ms) : NULL);
    json_object_object_add(o, "last_ack_rtt_ms", ci->last_ack_rtt_ms >= 0
                           ? json_object_new_int64(ci->last_ack_rtt_ms) : NULL);
    json_object_object_add(o, "events_queued", json_object_new_uint64(ci->events_queued));
    json_object_object_add(o, "events_sent", json_object_new_uint64(ci->events_sent));
    /* Queued, neither written nor waiting: none while the connection lives
     * (a consumer that falls behind is dropped whole, not its events). */
    uint64_t pending = ci->events_sent + ci->queue_depth;
    json_object_object_add(o, "events_dropped", json_object_new_uint64(
        ci->events_queued > pending ? ci->events_queued - pending : 0));
    json_object_object_add(o, "queue_depth", json_object_new_int64(ci->queue_depth));
    json_object_object_add(o, "bytes_sent", json_object_new_uint64(ci->bytes_sent));
    return o;
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

/* [{"display", "state", "id"}] for every expected display, by name. */
static struct json_object *roster(const struct registry_snapshot *snap,
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

struct json_object *stats_render(const struct registry_snapshot *snap, int64_t now_ms,
                                 uint64_t events_last_hour, int64_t heartbeat_ms,
                                 const struct displays *expected)
{
    struct json_object *data = json_object_new_object();
    struct json_object *ids = json_object_new_array_ext((int)snap->count);
    struct json_object *all = json_object_new_array_ext((int)snap->count);
    struct json_object *admin = json_object_new_array();
    struct json_object *display = json_object_new_array();
    double age_sum = 0;
    size_t stale = 0;
    for (size_t i = 0; i < snap->count; i++) {
        const struct conn_info *ci = &snap->conns[i];
        bool is_stale = stats_is_stale(ci, now_ms, heartbeat_ms);
        stale += is_stale;
        struct json_object *o = connection(ci, is_stale);
        json_object_array_add(ids, json_object_new_string(ci->public_id));
        json_object_array_add(all, o);
        json_object_array_add(ci->type == CONN_ADMIN ? admin : display, json_object_get(o));
        int64_t age = now_ms - ci->connected_at_ms;
        age_sum += age > 0 ? (double)age / 1000.0 : 0;
    }
    double avg = snap->count ? age_sum / (double)snap->count : 0;
    json_object_object_add(data, "total_connections", json_object_new_uint64(snap->count));
    json_object_object_add(data, "admin_connections", json_object_new_uint64(snap->admin_count));
    json_object_object_add(data, "display_connections",
                           json_object_new_uint64(snap->display_count));
    char avg_text[32];              /* one decimal, not 0.29999999999999999 */
    snprintf(avg_text, sizeof avg_text, "%.1f", avg);
    json_object_object_add(data, "average_connection_age_seconds",
                           json_object_new_double_s(atof(avg_text), avg_text));
    json_object_object_add(data, "events_sent_last_hour",
                           json_object_new_uint64(events_last_hour));
    json_object_object_add(data, "active_connection_ids", ids);
    json_object_object_add(data, "connections", all);
    struct json_object *by_type = json_object_new_object();
    json_object_object_add(by_type, "admin", admin);
    json_object_object_add(by_type, "display", display);
    struct json_object *details = json_object_new_object();
    json_object_object_add(details, "by_type", by_type);
    json_object_object_add(data, "connection_details", details);
    json_object_object_add(data, "stale_connections", json_object_new_uint64(stale));
    uint64_t closed_total;
    json_object_object_add(data, "closed_by_reason",
                           reason_totals(snap->closed_by_reason, &closed_total));
    json_object_object_add(data, "closed_total", json_object_new_uint64(closed_total));
    char hb[32];
    snprintf(hb, sizeof hb, "%.3g", (double)heartbeat_ms / 1000.0);
    json_object_object_add(data, "heartbeat_seconds", json_object_new_double_s(atof(hb), hb));
    if (expected)
        json_object_object_add(data, "expected_displays",
                               roster(snap, expected, now_ms, heartbeat_ms));
    return data;
}
