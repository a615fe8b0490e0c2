/* buf.c -- a growable byte buffer with a cap (see buf.h). */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_FIRST 1024              /* the first allocation, at least */

void buf_init(struct buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

void buf_reset(struct buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}

/* Makes room for n more bytes after the unread ones, sliding them down or
 * growing to at least `want` bytes (never past the cap).  Returns 0, or -1
 * (b marked failed) at the cap or out of memory. */
static int make_room(struct buf *b, size_t n, size_t want)
{
    if (b->failed)
        return -1;
    size_t unread = b->len - b->off;
    if (n > b->max - unread) {
        b->failed = true;
        return -1;
    }
    if (b->data && b->len + n <= b->cap)
        return 0;
    if (b->off) {                   /* slide the unread down before growing */
        memmove(b->data, b->data + b->off, unread);
        b->len = unread;
        b->off = 0;
        b->data[b->len] = '\0';
        if (b->len + n <= b->cap)
            return 0;
    }
    size_t cap = b->len + n > want ? b->len + n : want;
    if (cap > b->max)
        cap = b->max;
    char *p = realloc(b->data, cap + 1);
    if (!p) {
        b->failed = true;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

char *buf_room(struct buf *b, size_t n)
{
    /* Growing by doubling: appends cost amortised constant time. */
    if (make_room(b, n, b->cap ? 2 * b->cap : BUF_FIRST) < 0)
        return NULL;
    return b->data + b->len;
}

int buf_reserve(struct buf *b, size_t n)
{
    return make_room(b, n, 0);
}

void buf_commit(struct buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return b->failed ? -1 : 0;
    char *dst = buf_room(b, n);
    if (!dst)
        return -1;
    memcpy(dst, p, n);
    buf_commit(b, n);
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return -1;
    /* Try what is free at the end first: most lines fit. */
    size_t room = b->data ? b->cap - b->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->data + b->len : NULL, room ? room + 1 : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return -1;
    }
    if ((size_t)n <= room && room && (size_t)n <= b->max - (b->len - b->off)) {
        buf_commit(b, (size_t)n);
        return 0;
    }
    if (room)
        b->data[b->len] = '\0';    /* what did not fit is not ours */
    char *dst = buf_room(b, (size_t)n);
    if (!dst)
        return -1;
    va_start(ap, fmt);
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_commit(b, (size_t)n);
    return 0;
}

void buf_consume(struct buf *b, size_t n)
{
    size_t unread = b->len - b->off;
    b->off += n < unread ? n : unread;
    if (b->off == b->len) {
        bool failed = b->failed;
        buf_reset(b);               /* nothing left: no memory kept */
        b->failed = failed;
    }
}

char *buf_take(struct buf *b, size_t *len)
{
    size_t unread = b->len - b->off;
    char *p = b->data;
    if (p && b->off)
        memmove(p, p + b->off, unread + 1);
    *len = unread;
    if (p && !unread) {
        free(p);
        p = NULL;
    }
    buf_init(b, b->max);
    return p;
}
