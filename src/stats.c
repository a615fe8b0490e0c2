/* stats.c -- the stats route's data object. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#include "stats.h"
#include "timeutil.h"

static struct json_object *iso(int64_t ms)
{
    char buf[TIME_ISO_LEN];
    return json_object_new_string(time_iso8601(buf, ms));
}

static struct json_object *connection(const struct conn_info *ci)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(ci->public_id));
    json_object_object_add(o, "type", json_object_new_string(conn_type_name(ci->type)));
    json_object_object_add(o, ci->type == CONN_ADMIN ? "user" : "display",
                           json_object_new_string(ci->name));
    json_object_object_add(o, "connected_at", iso(ci->connected_at_ms));
    json_object_object_add(o, "last_ping", iso(ci->last_ping_ms ? ci->last_ping_ms
                                                                : ci->connected_at_ms));
    json_object_object_add(o, "events_sent", json_object_new_uint64(ci->events_sent));
    return o;
}

struct json_object *stats_render(const struct registry_snapshot *snap, int64_t now_ms,
                                 uint64_t events_last_hour)
{
    struct json_object *data = json_object_new_object();
    struct json_object *ids = json_object_new_array_ext((int)snap->count);
    struct json_object *all = json_object_new_array_ext((int)snap->count);
    struct json_object *admin = json_object_new_array();
    struct json_object *display = json_object_new_array();
    double age_sum = 0;
    for (size_t i = 0; i < snap->count; i++) {
        const struct conn_info *ci = &snap->conns[i];
        struct json_object *o = connection(ci);
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
    return data;
}
