/* stats.h -- rendering the stats route's data object.  Pure: works on a
 * registry snapshot, takes no locks, does no I/O. */
#ifndef SSE_STATS_H
#define SSE_STATS_H

#include <stdint.h>

#include <json-c/json.h>

#include "displays.h"
#include "jsonw.h"
#include "registry.h"

/* The roster of expected displays: [{"display", "state", "id"}] for every
 * name in expected, by name, from snap at wall time now_ms.  A new array
 * (empty when out of memory). */
struct json_object *stats_roster(const struct registry_snapshot *snap,
                                 const struct displays *expected, int64_t now_ms,
                                 int64_t heartbeat_ms);

/* Writes the `data` object of GET stats for snap at wall time now_ms into
 * w (not flushed).  heartbeat_ms judges acked connections stale (no ack for
 * CONN_STALE_BEATS heartbeats); roster (from stats_roster, or NULL if none) becomes
 * `expected_displays` and is put either way.  Returns 0, or -1 when out of
 * memory (nothing written). */
int stats_write(struct jw *w, const struct registry_snapshot *snap, int64_t now_ms,
                uint64_t events_last_hour, int64_t heartbeat_ms, struct json_object *roster);

/* About how many bytes stats_write writes for snap (an upper bound for
 * usual names): for sizing buffers. */
size_t stats_size_hint(const struct registry_snapshot *snap);

/* The same as a json-c object (for tests and small answers): returns a new
 * object (caller puts it), or NULL when out of memory. */
struct json_object *stats_render(const struct registry_snapshot *snap, int64_t now_ms,
                                 uint64_t events_last_hour, int64_t heartbeat_ms,
                                 const struct displays *expected);

/* Builds the `data` object of GET closed from the log (newest first) and
 * the totals per reason.  Returns a new object (caller puts it). */
struct json_object *stats_render_closed(const struct closed_info *closed, size_t n,
                                        const uint64_t totals[CLOSE_REASONS]);

/* True if an acked connection has not acked for CONN_STALE_BEATS heartbeats. */
bool stats_is_stale(const struct conn_info *ci, int64_t now_ms, int64_t heartbeat_ms);

#endif
