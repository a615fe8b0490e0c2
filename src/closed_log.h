/* closed_log.h -- the last closed connections, each with why it closed,
 * and the totals per reason since the start.
 *
 * A ring of compact entries (see closed_log.c), in one allocation.  Not
 * thread safe: the registry calls it with its mutex held. */
#ifndef SSE_CLOSED_LOG_H
#define SSE_CLOSED_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

struct closed_log;

/* A log that keeps the last `capacity` (at least 1) closed connections.
 * Returns NULL when out of memory. */
struct closed_log *closed_log_create(size_t capacity);

/* NULL does nothing. */
void closed_log_free(struct closed_log *lg);

/* Adds c, closed with reason at closed_ms (wall clock), over the oldest
 * entry once the log is full, and counts it in the totals.  A name too
 * long for an entry is kept in a block of its own; if that cannot be
 * allocated, the entry's names read as "". */
void closed_log_add(struct closed_log *lg, const struct conn *c, enum close_reason reason,
                    int64_t closed_ms);

/* The same from what stats shows of a connection (another node's, with
 * its node). */
void closed_log_add_info(struct closed_log *lg, const struct conn_info *ci,
                         enum close_reason reason, int64_t closed_ms);

/* Copies the log, newest first, into *out (caller frees) and the totals
 * into totals.  Returns the number of entries, or -1 when out of memory. */
long closed_log_copy(const struct closed_log *lg, struct closed_info **out,
                     uint64_t totals[CLOSE_REASONS]);

/* The totals per reason since the start. */
void closed_log_totals(const struct closed_log *lg, uint64_t totals[CLOSE_REASONS]);

#endif
