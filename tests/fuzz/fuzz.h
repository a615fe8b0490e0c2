/* fuzz.h -- what every fuzz target in tests/fuzz shares.
 *
 * A target is one file, fuzz_<name>.c, with one entry point written
 *
 *     FUZZ_TARGET(name) { ...; return 0; }
 *
 * and one line FUZZ_TARGET_DEF(name, dict) in targets.def.  Built by
 * tests/fuzz/run-fuzz with clang -fsanitize=fuzzer, the entry point is
 * LLVMFuzzerTestOneInput and the file is a libFuzzer target of its own.  Built
 * with -DFUZZ_REPLAY (by make check, with the normal compiler) it is
 * fuzz_<name>() and replay.c calls it over the target's corpus and
 * regressions, so every input that ever crashed a target stays a test.
 *
 * A target checks what the code promises with FUZZ_CHECK, which prints the
 * broken promise and aborts: libFuzzer and the replay both count that as a
 * crash, the same as a sanitizer report.  FUZZ_KNOWN marks a promise that
 * src/ is known to break until it is fixed (see below). */
#ifndef SSE_FUZZ_H
#define SSE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FUZZ_REPLAY
#define FUZZ_TARGET(name)                                              \
    int fuzz_##name(const uint8_t *data, size_t size);                 \
    int fuzz_##name(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name)                                              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);      \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

#define FUZZ_CHECK(cond)                                               \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf(stderr, "%s:%d: broken promise: %s\n",             \
                    __FILE__, __LINE__, #cond);                        \
            abort();                                                   \
        }                                                              \
    } while (0)

/* A promise src/ is known to break, reported and not fixed yet:
 * printed once per place, counted as a crash only with FUZZ_STRICT=1 in the
 * environment, so one open finding does not hide the others or fail every
 * make check.  When src/ is fixed, make it a FUZZ_CHECK.  fuzz_strict()
 * gates the inputs of an open finding that is a memory error (a sanitizer,
 * not a check, would report it). */
static inline int fuzz_strict(void)
{
    const char *s = getenv("FUZZ_STRICT");
    return s && s[0] == '1';
}

#define FUZZ_KNOWN(cond, finding)                                      \
    do {                                                               \
        static int seen_;                                              \
        if (!(cond)) {                                                 \
            if (!seen_++ || fuzz_strict())                             \
                fprintf(stderr, "%s:%d: known open finding: %s: %s\n", \
                        __FILE__, __LINE__, finding, #cond);           \
            if (fuzz_strict())                                         \
                abort();                                               \
        }                                                              \
    } while (0)

/* Input split into fields at NUL bytes: FastCGI params are C strings, so a
 * NUL is the one byte no param can hold and splitting there loses nothing.
 * fuzz_field() returns the next field as a fresh NUL-terminated heap copy
 * (exactly len + 1 bytes, so ASan sees any read past it), or NULL when the
 * input is used up; *len gets its length.  The caller frees. */
struct fuzz_input {
    const uint8_t *p;
    size_t left;
};

static inline char *fuzz_field(struct fuzz_input *in, size_t *len)
{
    if (len)
        *len = 0;
    if (!in->p)
        return NULL;
    const uint8_t *nul = in->left ? memchr(in->p, '\0', in->left) : NULL;
    size_t n = nul ? (size_t)(nul - in->p) : in->left;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, in->p, n);
    s[n] = '\0';
    if (len)
        *len = n;
    if (nul) {
        in->p = nul + 1;
        in->left -= n + 1;
    } else {
        in->p = NULL;                   /* the last field: no more after it */
        in->left = 0;
    }
    return s;
}

/* An exact-size heap copy of bytes (ASan catches reads one past the end,
 * which a pointer into libFuzzer's own buffer would not always show). */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    else
        s[0] = '\0';
    return s;
}

/* qs (n bytes) with a parameter no parser knows appended, broken escapes
 * and empty pairs included: a query parser must answer it as it answers
 * qs.  The caller frees. */
static inline char *fuzz_with_unknown_param(const char *qs, size_t n)
{
    static const char junk[] = "&x%zz=%zz&&";
    char *s = malloc(n + sizeof junk);
    if (!s)
        abort();
    memcpy(s, qs, n);
    memcpy(s + n, junk, sizeof junk);
    return s;
}

#endif
