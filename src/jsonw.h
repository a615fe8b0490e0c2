/* jsonw.h -- a small JSON writer: streaming for large answers (stats),
 * bounded for small ones (the stream loops' protocol events).
 *
 * Output goes through the caller's buffer.  Streaming, it is handed to an
 * emit callback whenever the buffer fills, so a document of any size is
 * written without being built in memory (JW_STREAM_BUF is a good size).
 * Bounded (no callback), the document must fit the buffer: from the first
 * write that does not fit on, everything is dropped and the writer
 * flagged.  Pure: no I/O of its own, no locks, no allocation.  The caller
 * writes well-formed JSON (keys before values, commas); the writer escapes
 * strings. */
#ifndef SSE_JSONW_H
#define SSE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void jw_emit_fn(void *ctx, const char *data, size_t len);

#define JW_STREAM_BUF 16384

struct jw {
    jw_emit_fn *emit;               /* NULL: bounded */
    void *ctx;
    char *buf;                      /* the caller's, cap bytes */
    size_t cap, len;
    bool overflow;                  /* bounded: something did not fit */
};

/* Starts a writer over buf (cap bytes, which the caller owns and keeps
 * until the last call).  With emit, output is handed to emit(ctx, ...) as
 * buf fills and on jw_flush(); without (NULL), it stays in buf: w->len
 * bytes, not NUL-terminated, and not to be used if w->overflow. */
void jw_init(struct jw *w, char *buf, size_t cap, jw_emit_fn *emit, void *ctx);

/* Hands what is buffered to emit.  Bounded: does nothing. */
void jw_flush(struct jw *w);

/* What does not fit in the buffer: flushes, or hands big runs over whole;
 * bounded, flags the overflow. */
void jw_raw_slow(struct jw *w, const char *s, size_t n);

/* Inline: a stats answer makes some twenty calls per connection, and a
 * literal's strlen folds to a constant here. */
static inline void jw_raw(struct jw *w, const char *s, size_t n)
{
    if (n <= w->cap - w->len) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    } else {
        jw_raw_slow(w, s, n);
    }
}

static inline void jw_lit(struct jw *w, const char *s) /* jw_raw of a C string */
{
    jw_raw(w, s, strlen(s));
}

void jw_str(struct jw *w, const char *s);       /* quoted and escaped; NULL: null */
void jw_key(struct jw *w, const char *key);     /* "key": */
void jw_u64(struct jw *w, uint64_t v);
void jw_i64(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);

#endif
