/* fuzz_stats_query.c -- the stats route's QUERY_STRING (?summary=1&limit=N&
 * offset=N&type=admin|display&state=live|stale&q=TEXT): routes_stats_query
 * against what routes.h and docs/api.md promise.  Input: the query string
 * (up to the first NUL: FastCGI params hold none).
 *
 * Promises: an answer of 0 or -1 with a message on -1 only; on 0 every
 * field in range (limit 1..STATS_PAGE_MAX, type and state one of theirs,
 * q NUL-terminated and at most STATS_TEXT_MAX bytes), `paged` set exactly
 * when a paging key was given, a page without limit= given the default;
 * an unknown parameter, even a broken one, changes nothing; the same
 * query parsed twice gives the same answer. */
#include "autoconf.h"

#include <string.h>

#include "conn.h"
#include "fuzz.h"
#include "routes.h"

static int run(const char *qs, struct stats_query *q)
{
    const char *err = NULL;
    memset(q, 0xa5, sizeof *q);             /* every field must be written */
    int rc = routes_stats_query(qs, q, &err);
    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK(rc == 0 ? err == NULL : err && *err);
    if (rc == 0) {
        FUZZ_CHECK(q->limit >= 1 && q->limit <= STATS_PAGE_MAX);
        FUZZ_CHECK(q->type == -1 || q->type == CONN_ADMIN || q->type == CONN_DISPLAY);
        FUZZ_CHECK(q->state == -1 || q->state == 0 || q->state == 1);
        FUZZ_CHECK(memchr(q->text, '\0', sizeof q->text) != NULL);
        FUZZ_CHECK(strlen(q->text) <= STATS_TEXT_MAX);
        FUZZ_CHECK(q->paged || (q->offset == 0 && q->type == -1 && q->state == -1 && !q->text[0] &&
                                q->limit == STATS_PAGE_DEFAULT));
    }
    return rc;
}

static bool same(const struct stats_query *a, const struct stats_query *b)
{
    return a->summary == b->summary && a->paged == b->paged && a->limit == b->limit &&
           a->offset == b->offset && a->type == b->type && a->state == b->state &&
           strcmp(a->text, b->text) == 0;
}

/* Whether qs names a paging key (undecoded: enough for keys of plain
 * letters, and the check runs one way only). */
static bool names_paging_key(const char *qs)
{
    static const char *const keys[] = { "limit=", "offset=", "type=", "state=", "q=" };
    for (const char *p = qs; p && *p; p += strcspn(p, "&"), p += *p == '&') {
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            if (strncmp(p, keys[i], strlen(keys[i])) == 0)
                return true;
    }
    return false;
}

FUZZ_TARGET(stats_query)
{
    struct fuzz_input in = { data, size };
    size_t n;
    char *qs = fuzz_field(&in, &n);
    if (!qs)
        qs = strdup("");                    /* libFuzzer's empty input */
    struct stats_query got, again, more;

    int rc = run(qs, &got);
    FUZZ_CHECK(run(qs, &again) == rc);
    if (rc == 0) {
        FUZZ_CHECK(same(&got, &again));
        if (names_paging_key(qs))
            FUZZ_CHECK(got.paged);
    }

    char *longer = fuzz_with_unknown_param(qs, n);
    FUZZ_CHECK(run(longer, &more) == rc);
    if (rc == 0)
        FUZZ_CHECK(same(&got, &more));
    free(longer);

    if (!n) {
        FUZZ_CHECK(run(NULL, &more) == 0);
        FUZZ_CHECK(same(&got, &more) && !got.summary && !got.paged);
    }
    free(qs);
    return 0;
}
