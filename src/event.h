/* event.h -- an encoded event shared by every queue it is broadcast to.
 *
 * An event is encoded once, when it is published, and then referenced from
 * the queue of each connection that should receive it; the last reference
 * frees it.  Reference counting is atomic: any thread may ref or unref. */
#ifndef SSE_EVENT_H
#define SSE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sse.h"

struct event;

/* Encodes ev into a new event with one reference.  Returns NULL on a bad
 * name (see sse_encode) or when out of memory. */
struct event *event_create(const struct sse_event *ev);

/* Adds a reference; returns e. */
struct event *event_ref(struct event *e);

/* Drops a reference, freeing the event with the last.  NULL does nothing. */
void event_unref(struct event *e);

/* Whether e is a published event (it has an id), which the counts of
 * events queued, sent and dropped are about; the pushed monitor's own
 * events (summary, changes, resync) have none and count nowhere. */
bool event_published(const struct event *e);

/* How many of the n events of v are published ones. */
size_t event_count_published(struct event *const *v, size_t n);

/* The encoded bytes (NUL-terminated) and their length. */
const char *event_text(const struct event *e);
size_t event_len(const struct event *e);

#endif
