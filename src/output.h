/* output.h -- one stream's output: framed, buffered, written without
 * blocking, and its events counted once they are written.
 *
 * A stream's response is FastCGI STDOUT records (fcgi_record.c) in its
 * output buffer (c->io.out, capped: a stream that falls further behind is
 * a slow consumer).  output_flush() writes what the socket takes; an event
 * counts as sent once its last byte is written (the marks in c->io).
 *
 * Called by the stream's I/O loop only (c->io is the loop thread's). */
#ifndef SSE_OUTPUT_H
#define SSE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "event.h"

/* Output a stream may fall behind by before it is a slow consumer, and its
 * buffer's cap: one more batch of events past that. */
#define OUTPUT_MAX (1024 * 1024)
#define OUTPUT_CAP (OUTPUT_MAX + 128 * 1024)

/* Makes c's output empty, capped at OUTPUT_CAP. */
void output_init(struct conn *c);

/* Frames len bytes as STDOUT records.  Returns 0, or -1 if the output is
 * past its cap or memory ran out (nothing appended). */
int output_stdout(struct conn *c, const char *data, size_t len);

/* A protocol event's text from proto.c, len as proto.c returned it (-1:
 * it could not be built).  Returns 0 or -1. */
int output_proto(struct conn *c, const char *text, long len);

/* Frames n broadcast events, to be counted as sent once written, and drops
 * the references (all of them, even on failure).  Returns 0 or -1. */
int output_events(struct conn *c, struct event **evs, size_t n);

/* Ends the response as FCGX_Finish_r does (status 0, REQUEST_COMPLETE).
 * Returns 0 or -1. */
int output_end(struct conn *c);

/* Broadcast events framed whose last byte is not written yet: what c would
 * lose if it ended now (its queue aside). */
uint64_t output_unsent_events(const struct conn *c);

/* True while some of c's output waits for the socket. */
bool output_waiting(const struct conn *c);

/* Bytes waiting for the socket. */
size_t output_pending(const struct conn *c);

/* What a flush did. */
struct output_flushed {
    uint64_t events;                /* events whose last byte went out now */
    bool started_waiting;           /* output now waits: watch for EPOLLOUT */
    bool stopped_waiting;           /* all written after a wait: stop watching */
};

/* Writes what c's socket takes, without blocking, and counts bytes and
 * events sent on c.  c->io.stalled_since is when the output last stopped
 * moving (0 while nothing waits).  Returns 0 (with *f filled), or -1 if
 * the socket failed (EPIPE, ECONNRESET: the web server is gone). */
int output_flush(struct conn *c, int64_t now_mono_ms, struct output_flushed *f);

#endif
