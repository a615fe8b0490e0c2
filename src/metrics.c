/* metrics.c -- counters and latency histograms for GET /metrics. */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"
#include "routes.h"

/* The whole text, at most (some 20 KiB in practice). */
#define METRICS_TEXT_MAX (1024 * 1024)

/* Upper bounds of the latency buckets, in microseconds. */
static const int64_t bucket_us[] = { 500, 1000, 2500, 5000, 10000, 25000, 50000,
                                     100000, 250000, 500000, 1000000 };
#define NBUCKETS (sizeof bucket_us / sizeof bucket_us[0])

/* Status codes counted one by one; anything else is "other". */
static const int codes[] = { 200, 400, 401, 404, 405, 409, 413, 415, 429, 500, 503 };
#define NCODES (sizeof codes / sizeof codes[0])

static const char *const route_names[METRICS_ROUTES] = {
    [ROUTE_NOT_FOUND] = "not_found",
    [ROUTE_ADMIN_STREAM] = "admin_stream",
    [ROUTE_DISPLAY_STREAM] = "display_stream",
    [ROUTE_DISCONNECT] = "disconnect",
    [ROUTE_STATS] = "stats",
    [ROUTE_TEST] = "test",
    [ROUTE_PUBLISH] = "publish",
    [ROUTE_ACK] = "ack",
    [ROUTE_CLOSED] = "closed",
    [ROUTE_CONNECTION] = "connection",
    [ROUTE_METRICS] = "metrics",
    [ROUTE_HEALTH] = "health",
};

static const char *const counter_names[METRIC_COUNTERS][2] = {
    [METRIC_EVENTS_PUBLISHED] = { "sse_events_published_total", "Events broadcast (publish and test routes)." },
    [METRIC_EVENTS_SENT] = { "sse_events_sent_total", "Events written and flushed to streams." },
    [METRIC_EVENTS_DROPPED] = { "sse_events_dropped_total", "Events queued for a stream that it never got (it ended first)." },
    [METRIC_HEARTBEAT_FAILURES] = { "sse_heartbeat_write_failures_total", "Heartbeats whose write or flush failed." },
    [METRIC_STREAMS_OPENED] = { "sse_streams_opened_total", "Streams opened." },
    [METRIC_STREAMS_REFUSED] = { "sse_streams_refused_total", "Streams refused with 409, 429 or 503." },
    [METRIC_PACE_GIVEUPS] = { "sse_pace_giveups_total",
                              "Broadcast slices written without waiting: the web server left "
                              "the last slice's mark unread for 50 ms." },
    [METRIC_REQUESTS_INCOMPLETE] = { "sse_requests_incomplete_total",
                                     "Connections closed before their request was whole: "
                                     "--request-timeout passed, the peer stopped sending, or "
                                     "1024 newer ones were waiting." },
    [METRIC_REQUESTS_INVALID] = { "sse_requests_invalid_total",
                                  "Connections closed for records that are not one FastCGI "
                                  "request as web servers send it." },
};

struct route_stats {
    atomic_uint_fast64_t by_code[NCODES + 1];
    atomic_uint_fast64_t buckets[NBUCKETS];     /* cumulative on render */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

struct metrics {
    struct route_stats routes[METRICS_ROUTES];
    atomic_uint_fast64_t counters[METRIC_COUNTERS];
};

struct metrics *metrics_create(void)
{
    return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_request(struct metrics *m, int route, int status, int64_t elapsed_us)
{
    if (route < 0 || route >= METRICS_ROUTES)
        route = ROUTE_NOT_FOUND;
    struct route_stats *r = &m->routes[route];
    size_t c = 0;
    while (c < NCODES && codes[c] != status)
        c++;
    atomic_fetch_add_explicit(&r->by_code[c], 1, memory_order_relaxed);
    if (elapsed_us < 0)
        elapsed_us = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        if (elapsed_us <= bucket_us[b]) {
            atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
            break;
        }
    }
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, (uint64_t)elapsed_us, memory_order_relaxed);
}

void metrics_add(struct metrics *m, enum metrics_counter which, uint64_t n)
{
    atomic_fetch_add_explicit(&m->counters[which], n, memory_order_relaxed);
}

char *metrics_render(struct metrics *m, const struct metrics_gauges *g, size_t *len)
{
    struct buf b;
    buf_init(&b, METRICS_TEXT_MAX);
    buf_printf(&b, "# HELP sse_connections Live streams by type and state.\n"
            "# TYPE sse_connections gauge\n"
            "sse_connections{type=\"admin\",state=\"live\"} %zu\n"
            "sse_connections{type=\"admin\",state=\"stale\"} %zu\n"
            "sse_connections{type=\"display\",state=\"live\"} %zu\n"
            "sse_connections{type=\"display\",state=\"stale\"} %zu\n",
        g->admin_live, g->admin_stale, g->display_live, g->display_stale);
    buf_printf(&b, "# HELP sse_streams_open Streams not yet answered in full (live, or ending).\n"
            "# TYPE sse_streams_open gauge\nsse_streams_open %zu\n", g->streams);
    buf_printf(&b, "# HELP sse_uptime_seconds Seconds since start.\n"
            "# TYPE sse_uptime_seconds gauge\nsse_uptime_seconds %.3f\n", g->uptime_seconds);
    buf_printf(&b, "# HELP sse_connections_closed_total Streams closed, by reason.\n"
            "# TYPE sse_connections_closed_total counter\n");
    for (int r = CLOSE_CLIENT_CLOSED; r < CLOSE_REASONS; r++)
        buf_printf(&b, "sse_connections_closed_total{reason=\"%s\"} %llu\n",
            conn_reason_name((enum close_reason)r), (unsigned long long)g->closed_by_reason[r]);
    for (int c = 0; c < METRIC_COUNTERS; c++)
        buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counter_names[c][0],
            counter_names[c][1], counter_names[c][0], counter_names[c][0],
            (unsigned long long)atomic_load(&m->counters[c]));
    buf_printf(&b, "# HELP sse_requests_total Requests answered, by route and status.\n"
            "# TYPE sse_requests_total counter\n");
    for (int r = 0; r < METRICS_ROUTES; r++)
        for (size_t c = 0; c <= NCODES; c++) {
            uint64_t n = atomic_load(&m->routes[r].by_code[c]);
            if (!n)
                continue;
            if (c < NCODES)
                buf_printf(&b, "sse_requests_total{route=\"%s\",code=\"%d\"} %llu\n", route_names[r],
                    codes[c], (unsigned long long)n);
            else
                buf_printf(&b, "sse_requests_total{route=\"%s\",code=\"other\"} %llu\n", route_names[r],
                    (unsigned long long)n);
        }
    buf_printf(&b, "# HELP sse_request_duration_seconds Time to answer a request (streams: to hand-over).\n"
            "# TYPE sse_request_duration_seconds histogram\n");
    for (int r = 0; r < METRICS_ROUTES; r++) {
        uint64_t cum = 0;
        for (size_t k = 0; k < NBUCKETS; k++) {
            cum += atomic_load(&m->routes[r].buckets[k]);
            buf_printf(&b, "sse_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                route_names[r], (double)bucket_us[k] / 1e6, (unsigned long long)cum);
        }
        uint64_t count = atomic_load(&m->routes[r].count);
        buf_printf(&b, "sse_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                "sse_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                "sse_request_duration_seconds_count{route=\"%s\"} %llu\n",
            route_names[r], (unsigned long long)count, route_names[r],
            (double)atomic_load(&m->routes[r].sum_us) / 1e6, route_names[r],
            (unsigned long long)count);
    }
    if (b.failed) {
        buf_reset(&b);
        return NULL;
    }
    return buf_take(&b, len);
}
