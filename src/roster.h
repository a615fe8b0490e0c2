/* roster.h -- what became of each expected display (--displays): which
 * are connected, stale or missing, and when each was last seen. */
#ifndef SSE_ROSTER_H
#define SSE_ROSTER_H

#include <stdint.h>

#include "displays.h"
#include "hub.h"
#include "stats.h"

/* Fills *out with every name of d, in order, from the hub's live streams
 * (O(1) a name) and what d remembers of the others.  A live display's
 * last_seen is its stream's last ack (acked) or last heartbeat.  Strings
 * point into d, which the caller keeps until roster_free().  Returns 0, or
 * -1 when out of memory (*out empty). */
int roster_build(struct hub *h, const struct displays *d, struct stats_roster *out);

/* Frees what roster_build() made.  Safe on an empty roster. */
void roster_free(struct stats_roster *r);

#endif
