/* jsonw.h -- a small streaming JSON writer for large answers (stats).
 *
 * Output goes through a 16 KiB buffer to an emit callback, so a document of
 * any size is written without being built in memory.  Pure: no I/O of its
 * own, no locks.  The caller writes well-formed JSON (keys before values,
 * commas with jw_sep); the writer escapes strings. */
#ifndef SSE_JSONW_H
#define SSE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void jw_emit_fn(void *ctx, const char *data, size_t len);

struct jw {
    jw_emit_fn *emit;
    void *ctx;
    size_t len;
    char buf[16384];
};

void jw_init(struct jw *w, jw_emit_fn *emit, void *ctx);

/* Hands what is buffered to emit. */
void jw_flush(struct jw *w);

/* What does not fit in the buffer: flushes, or hands big runs over whole. */
void jw_raw_slow(struct jw *w, const char *s, size_t n);

/* Inline: a stats answer makes some twenty calls per connection, and a
 * literal's strlen folds to a constant here. */
static inline void jw_raw(struct jw *w, const char *s, size_t n)
{
    if (n <= sizeof w->buf - w->len) {
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
