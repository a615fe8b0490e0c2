/* stats.h -- rendering the stats route's data object.  Pure: works on a
 * registry snapshot, takes no locks, does no I/O. */
#ifndef SSE_STATS_H
#define SSE_STATS_H

#include <stdint.h>

#include <json-c/json.h>

#include "registry.h"

/* Builds the `data` object of GET stats from snap at wall time now_ms.
 * Returns a new object (caller puts it), or NULL when out of memory. */
struct json_object *stats_render(const struct registry_snapshot *snap, int64_t now_ms,
                                 uint64_t events_last_hour);

#endif
