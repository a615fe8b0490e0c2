/* metrics.h -- counters and latency histograms for GET /metrics.
 *
 * Lock-free: every counter is atomic, so any thread may count at any time.
 * Rendering reads them one by one (a scrape is not one atomic snapshot;
 * Prometheus does not need one). */
#ifndef SSE_METRICS_H
#define SSE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

#define METRICS_ROUTES 12           /* route ids 0..11 (see routes.h) */

struct metrics;

/* Returns zeroed metrics, or NULL when out of memory. */
struct metrics *metrics_create(void);

/* NULL does nothing. */
void metrics_free(struct metrics *m);

/* One request on route (enum route_id) answered with status after
 * elapsed_us microseconds. */
void metrics_request(struct metrics *m, int route, int status, int64_t elapsed_us);

enum metrics_counter {
    METRIC_EVENTS_PUBLISHED,        /* broadcasts (publish and test) */
    METRIC_EVENTS_SENT,             /* events written and flushed to streams */
    METRIC_EVENTS_DROPPED,          /* queued for a stream that ended before it got them */
    METRIC_HEARTBEAT_FAILURES,      /* heartbeats whose write or flush failed */
    METRIC_STREAMS_OPENED,
    METRIC_STREAMS_REFUSED,         /* 409, 429 and 503 on stream routes */
    METRIC_PACE_GIVEUPS,            /* marks left unread for PACE_WAIT_MS (stream.c) */
    METRIC_REQUESTS_INCOMPLETE,     /* connections closed before their request was whole (intake.c) */
    METRIC_REQUESTS_INVALID,        /* connections closed for records that are no request */
    METRIC_COUNTERS
};

void metrics_add(struct metrics *m, enum metrics_counter which, uint64_t n);

/* Live gauges the caller reads from the registry and the server. */
struct metrics_gauges {
    size_t admin_live, admin_stale, display_live, display_stale;
    size_t streams;                 /* handed over, not yet answered in full */
    double uptime_seconds;
    const uint64_t *closed_by_reason;   /* CLOSE_REASONS entries */
};

/* Renders everything in the Prometheus text format (version 0.0.4) into a
 * new string (caller frees), or NULL when out of memory. */
char *metrics_render(struct metrics *m, const struct metrics_gauges *g, size_t *len);

#endif
