/* window.h -- a sliding one-hour count of events, in O(1) memory.
 *
 * One bucket per second of the last hour; a bucket is reused when its second
 * comes round again.  Thread safe: every call takes the window's own mutex
 * (never the registry's). */
#ifndef SSE_WINDOW_H
#define SSE_WINDOW_H

#include <stdint.h>

#define WINDOW_SECONDS 3600

struct window;

/* The clock the server's window runs on: monotonic seconds.  Whoever adds
 * and whoever sums use it. */
int64_t window_clock(void);

/* Returns a new, empty window, or NULL when out of memory. */
struct window *window_create(void);

/* NULL does nothing. */
void window_free(struct window *w);

/* Counts n events at second `now` (any monotonic or wall clock in seconds,
 * used consistently).  A time earlier than the newest seen is counted in the
 * newest second. */
void window_add(struct window *w, int64_t now, uint64_t n);

/* Events counted in the WINDOW_SECONDS seconds ending at `now`. */
uint64_t window_sum(struct window *w, int64_t now);

#endif
