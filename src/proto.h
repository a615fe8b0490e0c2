/* proto.h -- the protocol's own events: what the responder says on a
 * stream besides the events published to it.
 *
 *   connected   first, at once: the stream's token (its secret), public
 *               id, type, client id, ack mode, heartbeat and liveness
 *               thresholds, and (as `id:`) where a reconnect resumes;
 *   ping        on an idle stream every heartbeat; with `seq` when acked;
 *   reset       missed events are no longer kept: reload your state;
 *   superseded, shutdown, closed
 *               the last word to a stream the server ends, with why.
 *
 * Each is one EventSource event whose data is a JSON object with a
 * `message` and a `timestamp`, written into the caller's buffer: pure (no
 * heap, no I/O, no locks), so the I/O loops build them on their stack. */
#ifndef SSE_PROTO_H
#define SSE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

/* Room for any protocol event with the longest names. */
#define PROTO_EVENT_MAX 1024

/* `connected` for c, with heartbeat_ms, retry_ms (the `retry:` line) and
 * the cluster node that holds it (NULL: not a cluster), stamped now_ms.
 * Returns its length, or -1 if cap is too small. */
long proto_connected(char *dst, size_t cap, const struct conn *c, const char *node,
                     int64_t heartbeat_ms, unsigned retry_ms, int64_t now_ms);

/* `ping`, with "seq": seq unless seq is 0. */
long proto_ping(char *dst, size_t cap, uint64_t seq, int64_t now_ms);

/* `reset`. */
long proto_reset(char *dst, size_t cap, int64_t now_ms);

/* The farewell for a stream the server ends with reason: `shutdown`,
 * `superseded`, or `closed` with the reason (admin_closed, ack_timeout,
 * disconnect_route).  Returns 0 for the reasons where nobody is left to
 * read it (the client is gone, too slow, ...), else as above. */
long proto_farewell(char *dst, size_t cap, enum close_reason reason, int64_t now_ms);

#endif
