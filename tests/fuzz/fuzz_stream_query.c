/* fuzz_stream_query.c -- a stream's QUERY_STRING (?ack=1&monitor=1&
 * client=<id>&lastEventId=<n>): routes_stream_query against a reference written from
 * routes.h and docs/api.md.  Input: the query string (up to the
 * first NUL: FastCGI params hold none).
 *
 * The reference has the two limits of the implementation that the contract
 * does not state: a key longer than 31 bytes decoded is never one of ours,
 * and a value longer than 192 bytes decoded is refused (no valid client or
 * ack is that long; a lastEventId that long has leading zeros). */
#include "autoconf.h"

#include <limits.h>
#include <string.h>

#include "fuzz.h"
#include "routes.h"

#define KEY_MAX 31
#define VALUE_MAX (NAME_MAX_LEN * 3)

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* application/x-www-form-urlencoded decoding of s[0..n) into out (max + 1
 * bytes).  Returns the length, or -1: bad escape, a NUL, longer than max. */
static long decode(const char *s, size_t n, char *out, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                return -1;
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (c == 0 || o == max)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

static bool decimal(const char *s, unsigned long long *out)
{
    unsigned long long n = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9 || n > (ULLONG_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

/* A flag's value: 1/true or 0/false, else -1. */
static int flag(long vn, const char *val, bool *out)
{
    if (vn >= 0 && (strcmp(val, "1") == 0 || strcmp(val, "true") == 0))
        *out = true;
    else if (vn >= 0 && (strcmp(val, "0") == 0 || strcmp(val, "false") == 0))
        *out = false;
    else
        return -1;
    return 0;
}

static int ref_query(const char *qs, struct stream_query *q)
{
    memset(q, 0, sizeof *q);
    while (qs && *qs) {
        size_t plen = strcspn(qs, "&");
        const char *eq = memchr(qs, '=', plen);
        size_t klen = eq ? (size_t)(eq - qs) : plen;
        const char *v = eq ? eq + 1 : qs + plen;
        size_t vlen = (size_t)(qs + plen - v);
        char key[KEY_MAX + 1], val[VALUE_MAX + 1];
        long kn = decode(qs, klen, key, KEY_MAX);
        long vn = decode(v, vlen, val, VALUE_MAX);
        if (kn > 0 && strcmp(key, "ack") == 0) {
            if (flag(vn, val, &q->ack) < 0)
                return -1;
        } else if (kn > 0 && strcmp(key, "monitor") == 0) {
            if (flag(vn, val, &q->monitor) < 0)
                return -1;
        } else if (kn > 0 && strcmp(key, "client") == 0) {
            if (vn < 0 || !routes_valid_name(val, (size_t)vn))
                return -1;
            strcpy(q->client, val);
        } else if (kn > 0 && strcmp(key, "lastEventId") == 0) {
            if (vn < 0 || !decimal(val, &q->last_event_id))
                return -1;
            q->has_last_event_id = true;
        }
        qs += plen;
        if (*qs == '&')
            qs++;
    }
    return 0;
}

static bool same(const struct stream_query *a, const struct stream_query *b)
{
    return a->ack == b->ack && a->monitor == b->monitor && strcmp(a->client, b->client) == 0 &&
           a->has_last_event_id == b->has_last_event_id &&
           a->last_event_id == b->last_event_id;
}

static int run(const char *qs, struct stream_query *q)
{
    const char *err = NULL;
    memset(q, 0xa5, sizeof *q);             /* every field must be written */
    int rc = routes_stream_query(qs, q, &err);
    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK(rc == 0 ? err == NULL : err && *err);
    if (rc == 0) {
        FUZZ_CHECK(memchr(q->client, '\0', sizeof q->client) != NULL);
        FUZZ_CHECK(!q->client[0] || routes_valid_name(q->client, strlen(q->client)));
        FUZZ_CHECK(q->has_last_event_id || q->last_event_id == 0);
    }
    return rc;
}

FUZZ_TARGET(stream_query)
{
    struct fuzz_input in = { data, size };
    size_t n;
    char *qs = fuzz_field(&in, &n);
    if (!qs)
        qs = strdup("");                    /* libFuzzer's empty input */
    struct stream_query got, want, more;

    int rc = run(qs, &got);
    FUZZ_CHECK(rc == ref_query(qs, &want));
    if (rc == 0)
        FUZZ_CHECK(same(&got, &want));

    /* an unknown parameter, even a broken one, changes nothing */
    char *longer = fuzz_with_unknown_param(qs, n);
    FUZZ_CHECK(run(longer, &more) == rc);
    if (rc == 0)
        FUZZ_CHECK(same(&got, &more));
    free(longer);

    if (!n) {
        FUZZ_CHECK(run(NULL, &more) == 0);
        FUZZ_CHECK(same(&got, &more) && !got.ack && !got.has_last_event_id);
    }
    free(qs);
    return 0;
}
