/* token.h -- connection secrets and public ids.
 *
 * A connection has two names: its token, a random version-4 UUID that only
 * the stream's own client ever sees and that authorises the disconnect route,
 * and a public id shown in stats.  Both come from getrandom(2).  Thread safe. */
#ifndef SSE_TOKEN_H
#define SSE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_LEN 36          /* 8-4-4-4-12 hex digits and dashes */
#define PUBLIC_ID_LEN 18      /* "c-" and 16 hex digits */

/* Fills out with a fresh random UUID v4 and a NUL.  Returns 0, or -1 if the
 * kernel's random source failed (out is then an empty string). */
int token_new(char out[TOKEN_LEN + 1]);

/* Fills out with a fresh public id "c-<16 hex>" and a NUL.  Returns 0 or -1
 * as token_new. */
int token_public_id(char out[PUBLIC_ID_LEN + 1]);

/* True if s has the exact shape of a token (36 characters, lower-case hex,
 * dashes at 8, 13, 18, 23).  Says nothing of whether it is live. */
bool token_is_wellformed(const char *s, size_t len);

/* Compares two TOKEN_LEN strings in time independent of where they differ. */
bool token_equal(const char *a, const char *b);

#endif
