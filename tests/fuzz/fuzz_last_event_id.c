/* fuzz_last_event_id.c -- routes_decimal, the parser of the Last-Event-ID
 * header (and of ?lastEventId= and Content-Length), against a reference:
 * one or more ASCII digits, nothing else, and a value that fits in 64 bits.
 * Input: the header value (up to the first NUL: FastCGI params hold none). */
#include "autoconf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "routes.h"

FUZZ_TARGET(last_event_id)
{
    struct fuzz_input in = { data, size };
    size_t n;
    char *s = fuzz_field(&in, &n);
    if (!s)
        s = strdup("");                     /* libFuzzer's empty input */
    n = strlen(s);
    bool digits = n > 0;
    unsigned long long want = 0;
    bool fits = true;
    for (size_t i = 0; i < n && digits; i++) {
        if (s[i] < '0' || s[i] > '9') {
            digits = false;
            break;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (want > (ULLONG_MAX - d) / 10)
            fits = false;
        else if (fits)
            want = want * 10 + d;
    }
    unsigned long long got = 12345;
    bool ok = routes_decimal(s, &got);
    FUZZ_CHECK(ok == (digits && fits));
    if (ok)
        FUZZ_CHECK(got == want);
    else
        FUZZ_CHECK(got == 12345);           /* untouched on failure */
    free(s);
    return 0;
}
