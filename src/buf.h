/* buf.h -- one growable byte buffer with a cap.
 *
 * DESIGN
 * Every buffer that grows with its input (a stream's unwritten output, the
 * metrics text, the stats objects kept for by_type) is one of these, and
 * each says at init how large it may ever grow: an input that would pass
 * the cap is refused, not allocated (as curl's dynbuf does).  Bytes are
 * appended at the end and may be consumed from the front (an output
 * buffer written to a socket piece by piece); consumed space is reused
 * before the buffer grows.  A buffer that has nothing in it holds no
 * memory until the next append.
 *
 * A failed append (cap or memory) leaves the contents as they were and
 * marks the buffer failed; later appends are refused too, until
 * buf_reset(), so a writer that cannot check every call checks once at
 * the end.  The held bytes are always followed by a NUL (not counted).
 *
 * Members are read-only outside buf.c.  Not thread safe: one owner. */
#ifndef SSE_BUF_H
#define SSE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;                 /* NULL until the first append */
    size_t off;                 /* bytes consumed from the front */
    size_t len;                 /* bytes held from data[0]: the unread are data[off..len) */
    size_t cap;                 /* bytes allocated (without the NUL's) */
    size_t max;                 /* len never passes this */
    bool failed;                /* an append was refused: see above */
};

/* An empty buffer that will hold at most max bytes.  Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Frees what b holds and makes it empty and usable again (max is kept,
 * failed cleared). */
void buf_reset(struct buf *b);

/* Appends n bytes.  Returns 0, or -1 if they would pass the cap or memory
 * ran out, or b had already failed (then nothing is appended and b is
 * marked failed). */
int buf_append(struct buf *b, const void *p, size_t n);

/* Appends printf-formatted text; returns as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes room for n more bytes at the end and returns where they go (the
 * caller writes them, then calls buf_commit(b, n)), or NULL as buf_append
 * fails. */
char *buf_room(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);

/* Makes room for exactly n more bytes if there is not room for them:
 * for a caller that knows what is coming (no rounding up as appends do).
 * Returns 0, or -1 as buf_append. */
int buf_reserve(struct buf *b, size_t n);

/* Drops n bytes (at most what is unread) from the front.  Once all is
 * consumed the buffer frees its memory. */
void buf_consume(struct buf *b, size_t n);

/* The bytes not yet consumed. */
static inline size_t buf_unread(const struct buf *b)
{
    return b->len - b->off;
}

static inline const char *buf_unread_data(const struct buf *b)
{
    return b->data ? b->data + b->off : "";
}

/* Hands the contents (from the front, NUL-terminated; NULL if empty) to
 * the caller, who frees them; b is left empty.  *len gets their length. */
char *buf_take(struct buf *b, size_t *len);

#endif
