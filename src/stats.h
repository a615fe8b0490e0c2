/* stats.h -- the JSON of the stats answers, the closed log and the pushed
 * monitor, from snapshots.
 *
 * Pure: works on copies (registry snapshots, a roster), takes no locks,
 * does no I/O; it writes through a JSON writer (jsonw.h), so a stats
 * answer of 20,000 connections is streamed, never built in memory. */
#ifndef SSE_STATS_H
#define SSE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "jsonw.h"
#include "registry.h"

/* One expected display (--displays) and what became of it. */
struct stats_roster_entry {
    const char *display;
    enum { ROSTER_MISSING, ROSTER_CONNECTED, ROSTER_STALE } state;
    char id[PUBLIC_ID_LEN + 1];     /* its stream's public id; "" if missing */
    int64_t last_seen_ms;           /* the last time it was known there; 0: never */
};

/* The expected displays, by name, and how many are in each state. */
struct stats_roster {
    struct stats_roster_entry *v;
    size_t n;
    size_t connected, stale, missing;
};

/* What every stats answer is made of. */
struct stats_view {
    const struct registry_snapshot *snap;   /* counts, and the list or a page */
    int64_t now_ms;                         /* wall clock */
    uint64_t events_last_hour;
    int64_t heartbeat_ms;
    const struct stats_roster *roster;      /* NULL: no --displays */
    bool stamp;                             /* a "timestamp" member too (events) */
    /* More members after the counts (a cluster's nodes), or NULL. */
    void (*extra)(void *ctx, struct jw *w);
    void *extra_ctx;
};

/* GET stats: the `data` object with every connection (snap holds them all)
 * into w (not flushed).  Returns 0, or -1 when out of memory (nothing
 * written). */
int stats_write(struct jw *w, const struct stats_view *v);

/* GET stats?summary=1, and the monitor's `summary` event: the counts
 * only. */
void stats_write_summary(struct jw *w, const struct stats_view *v);

/* GET stats?limit=...: the counts, the page in snap (newest first),
 * `page` {offset, limit, total}, and the roster when there is one. */
void stats_write_page(struct jw *w, const struct stats_view *v, size_t offset, size_t limit,
                      size_t total);

/* One connection object, as every list shows it; with a `seq` member
 * unless seq is 0 (the monitor's changes). */
void stats_write_connection(struct jw *w, const struct conn_info *ci, uint64_t seq);

/* One closed connection, as GET closed and the monitor show it; with `seq`
 * unless 0. */
void stats_write_closed(struct jw *w, const struct conn_info *ci, enum close_reason reason,
                        int64_t closed_ms, uint64_t seq);

/* GET closed: the `data` object from the log (newest first) and the
 * totals per reason. */
void stats_write_closed_log(struct jw *w, const struct closed_info *closed, size_t n,
                            const uint64_t totals[CLOSE_REASONS]);

/* About how many bytes stats_write writes for snap (an upper bound for
 * usual names): for sizing buffers. */
size_t stats_size_hint(const struct registry_snapshot *snap);

/* What a writer of ours wrote, parsed by json-c (for tests and small
 * answers): fn(w, arg) writes one JSON value.  Returns a new object
 * (caller puts it), or NULL when out of memory. */
struct json_object *stats_render(void (*fn)(struct jw *w, const void *arg), const void *arg);

#endif
