/* sha256.h -- SHA-256 (FIPS 180-4), for display keys: a key is kept and
 * compared only as its digest, so the plain key need not stay in memory
 * and a comparison takes the same time whatever the key's length.
 *
 * Pure: no I/O, no locks. */
#ifndef SSE_SHA256_H
#define SSE_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* Writes the digest of len bytes at data into out. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* True if a and b are equal; takes the same time whichever bytes differ. */
bool sha256_equal(const uint8_t a[SHA256_LEN], const uint8_t b[SHA256_LEN]);

#endif
