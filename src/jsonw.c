/* jsonw.c -- a small streaming JSON writer. */
#include "autoconf.h"

#include <string.h>

#include "jsonw.h"

void jw_init(struct jw *w, char *buf, size_t cap, jw_emit_fn *emit, void *ctx)
{
    w->emit = emit;
    w->ctx = ctx;
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

void jw_flush(struct jw *w)
{
    if (!w->emit)
        return;
    if (w->len)
        w->emit(w->ctx, w->buf, w->len);
    w->len = 0;
}

void jw_raw_slow(struct jw *w, const char *s, size_t n)
{
    if (w->overflow)
        return;
    if (!w->emit) {
        /* Bounded and full: drop this and, with cap at len, all that the
         * inline path would still fit in. */
        w->overflow = true;
        w->cap = w->len;
        return;
    }
    jw_flush(w);
    if (n > w->cap) {
        w->emit(w->ctx, s, n);
        return;
    }
    memcpy(w->buf, s, n);
    w->len = n;
}

void jw_str(struct jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        jw_raw(w, "null", 4);
        return;
    }
    jw_raw(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jw_raw(w, run, (size_t)(s - run));
        char esc[6] = { '\\', (char)c, 0, 0, 0, 0 };
        size_t n = 2;
        switch (c) {
        case '"': case '\\': break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        jw_raw(w, esc, n);
        run = s + 1;
    }
    jw_raw(w, run, (size_t)(s - run));
    jw_raw(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
    jw_str(w, key);
    jw_raw(w, ":", 1);
}

/* Digits by hand: snprintf was most of the time of a big stats answer. */
void jw_u64(struct jw *w, uint64_t v)
{
    char b[20];
    char *p = b + sizeof b;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    jw_raw(w, p, (size_t)(b + sizeof b - p));
}

void jw_i64(struct jw *w, int64_t v)
{
    if (v < 0) {
        jw_raw(w, "-", 1);
        jw_u64(w, (uint64_t)0 - (uint64_t)v);
        return;
    }
    jw_u64(w, (uint64_t)v);
}

void jw_bool(struct jw *w, bool v)
{
    jw_lit(w, v ? "true" : "false");
}
