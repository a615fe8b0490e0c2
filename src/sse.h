/* sse.h -- the EventSource wire format (WHATWG HTML, "server-sent events").
 *
 * Pure formatting: no I/O, no locks, no allocation.  An event is
 *     [retry: <ms>\n] [id: <id>\n] [event: <name>\n] data: <line>\n ... \n
 * Data containing CR, LF or CRLF is split into several data lines, which the
 * client joins again with LF. */
#ifndef SSE_SSE_H
#define SSE_SSE_H

#include <stddef.h>
#include <stdint.h>

struct sse_event {
    uint64_t id;            /* 0: no id line */
    const char *name;       /* NULL: no event line (the client sees "message") */
    const char *data;       /* may be NULL for an empty data line */
    size_t data_len;
    unsigned retry_ms;      /* 0: no retry line */
};

/* Encodes ev into dst (cap bytes, NUL-terminated when it fits).  With dst
 * NULL and cap 0 it only measures.  Returns the encoded length without the
 * NUL, like snprintf; a result >= cap means dst was too small and holds
 * nothing useful.  Returns -1 if the name is empty or holds CR, LF or NUL
 * (a name cannot be split over lines). */
long sse_encode(char *dst, size_t cap, const struct sse_event *ev);

#endif
