/* token.c -- connection secrets and public ids from getrandom(2). */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "token.h"

static const char hex[] = "0123456789abcdef";

/* Fills buf completely from the kernel.  getrandom never returns short reads
 * for <= 256 bytes once the pool is ready, but EINTR is still possible. */
static int random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int token_new(char out[TOKEN_LEN + 1])
{
    unsigned char b[16];
    if (random_bytes(b, sizeof b) < 0) {
        out[0] = '\0';
        return -1;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);     /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);     /* RFC 4122 variant */
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0f];
    }
    *p = '\0';
    return 0;
}

int token_public_id(char out[PUBLIC_ID_LEN + 1])
{
    unsigned char b[8];
    if (random_bytes(b, sizeof b) < 0) {
        out[0] = '\0';
        return -1;
    }
    char *p = out;
    *p++ = 'c';
    *p++ = '-';
    for (int i = 0; i < 8; i++) {
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0f];
    }
    *p = '\0';
    return 0;
}

bool token_is_wellformed(const char *s, size_t len)
{
    if (len != TOKEN_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

bool token_equal(const char *a, const char *b)
{
    unsigned char diff = 0;
    for (size_t i = 0; i < TOKEN_LEN; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}
