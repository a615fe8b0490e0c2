/* filter.h -- who a published event is for.
 *
 * A filter is what a publisher names as the audience of an event: every
 * stream, or only admin or display streams, only one user's admin
 * streams, or only one display.  The registry applies it to live streams;
 * the history keeps it with each event so that a reconnecting stream gets
 * back exactly what it would have got.  Pure. */
#ifndef SSE_FILTER_H
#define SSE_FILTER_H

#include <stdbool.h>

#include "conn.h"

/* NULL strings match everything. */
struct filter {
    int type;                       /* -1: both, else enum conn_type */
    const char *user;               /* admin connections of this user only */
    const char *display;            /* display connections of this name only */
};

/* True if a connection of this type and name (user or display) is reached
 * by f (NULL: everyone). */
bool filter_matches(const struct filter *f, enum conn_type type, const char *name);

#endif
