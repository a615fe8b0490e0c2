/* percent.h -- hex digits and %XX decoding, for query strings, paths, the
 * Redis URL, display keys and JSON escapes. */
#ifndef SSE_PERCENT_H
#define SSE_PERCENT_H

#include <stdbool.h>
#include <stddef.h>

/* The value of a hex digit (either case), or -1. */
static inline int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the n bytes of s, %XX escapes (and '+' as a space when
 * plus_is_space: a query component), into out (cap bytes with the NUL).
 * Returns the decoded length, or -1 on a bad escape, a decoded NUL byte,
 * or no room. */
long percent_decode(const char *s, size_t n, bool plus_is_space, char *out, size_t cap);

#endif
