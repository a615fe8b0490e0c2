/* history.h -- recent broadcast events, for streams that reconnect with
 * Last-Event-ID.
 *
 * A bounded ring (by count and by age) of encoded events with the filter
 * each was sent with.  Not thread safe: the server serialises every call
 * with its publish lock, which also orders ids, so a reconnecting stream
 * that is replayed and then registered under that lock misses nothing and
 * gets nothing twice. */
#ifndef SSE_HISTORY_H
#define SSE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "event.h"
#include "filter.h"

struct history;

enum history_result {
    HISTORY_OK,                 /* *out holds every missed event that matches */
    HISTORY_RESET               /* some may be lost: the client must reload */
};

/* A history of at most max events no older than max_age_ms, whose ids
 * start after first_id - 1 (events before it are "lost").  max 0 keeps
 * nothing.  Returns NULL when out of memory. */
struct history *history_create(size_t max, int64_t max_age_ms, uint64_t first_id);

/* Drops every reference.  NULL does nothing. */
void history_free(struct history *h);

/* Appends e (a reference is taken) with id and the filter it was sent with
 * (copied; NULL: everyone) at wall time now_ms.  Ids must increase.  Returns
 * 0, or -1 when out of memory (the event is then counted as lost). */
int history_add(struct history *h, uint64_t id, struct event *e,
                const struct filter *f, int64_t now_ms);

/* The events after last_id that a connection of this type and name would
 * have received, oldest first, into *out (caller unrefs each and frees the
 * array; *n may be 0).  HISTORY_RESET (with *out NULL) if an event after
 * last_id that it would have received has been dropped (events for others
 * do not count), or if last_id was never issued. */
enum history_result history_since(struct history *h, uint64_t last_id, enum conn_type type,
                                  const char *name, int64_t now_ms,
                                  struct event ***out, size_t *n);

/* The id of the newest event added, or first_id - 1. */
uint64_t history_last_id(const struct history *h);

#endif
