/* routes.c -- route matching and stream queries (pure). */
#include "autoconf.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "percent.h"
#include "routes.h"


const char *routes_path(const char *document_uri, const char *script_name,
                        const char *path_info, const char *request_uri,
                        char *buf, size_t cap)
{
    if (cap == 0)
        return NULL;
    if (document_uri && *document_uri) {
        if (strlen(document_uri) >= cap)
            return NULL;
        strcpy(buf, document_uri);
        return buf;
    }
    if (script_name && *script_name) {
        size_t a = strlen(script_name);
        size_t b = path_info ? strlen(path_info) : 0;
        if (a + b >= cap)
            return NULL;
        memcpy(buf, script_name, a);
        memcpy(buf + a, path_info ? path_info : "", b);
        buf[a + b] = '\0';
        return buf;
    }
    if (request_uri && *request_uri) {
        size_t o = 0;
        for (const char *p = request_uri; *p && *p != '?' && *p != '#'; p++) {
            char c = *p;
            if (c == '%') {
                int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);
                if (hi < 0 || lo < 0)
                    return NULL;
                c = (char)(hi * 16 + lo);
                if (c == '\0')
                    return NULL;
                p += 2;
            }
            if (o + 1 >= cap)
                return NULL;
            buf[o++] = c;
        }
        buf[o] = '\0';
        return o ? buf : NULL;
    }
    return NULL;
}

bool routes_valid_name(const char *s, size_t len)
{
    if (len < 1 || len > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

void routes_match(const char *prefix, const char *path, struct route *r)
{
    /* A route either is its suffix, or (named) starts with it and ends in a
     * name, which is checked here: the handler answers a bad one. */
    static const struct {
        const char *suffix;
        enum route_id id;
        const char *allow;
        bool admin;
        bool named;
    } table[] = {
        { "/admin", ROUTE_ADMIN_STREAM, "GET", true, false },
        { "/disconnect", ROUTE_DISCONNECT, "POST", false, false },
        { "/stats", ROUTE_STATS, "GET", true, false },
        { "/test", ROUTE_TEST, "POST", true, false },
        { "/publish", ROUTE_PUBLISH, "POST", true, false },
        { "/ack", ROUTE_ACK, "POST", false, false },
        { "/closed", ROUTE_CLOSED, "GET", true, false },
        { "/metrics", ROUTE_METRICS, "GET", true, false },
        { "/health", ROUTE_HEALTH, "GET", false, false },
        { "/display/", ROUTE_DISPLAY_STREAM, "GET", false, true },
        { "/connections/", ROUTE_CONNECTION, "DELETE", true, true },
    };
    memset(r, 0, sizeof *r);
    r->id = ROUTE_NOT_FOUND;
    size_t plen = strlen(prefix);
    if (strncmp(path, prefix, plen) != 0)
        return;
    const char *rest = path + plen;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        size_t slen = strlen(table[i].suffix);
        if (table[i].named ? strncmp(rest, table[i].suffix, slen) != 0
                           : strcmp(rest, table[i].suffix) != 0)
            continue;
        r->id = table[i].id;
        r->allow = table[i].allow;
        r->admin = table[i].admin;
        if (table[i].named) {
            const char *name = rest + slen;
            size_t n = strlen(name);
            if (routes_valid_name(name, n))
                memcpy(r->name, name, n + 1);
            else
                r->bad_name = true;
        }
        return;
    }
}

bool routes_decimal(const char *s, unsigned long long *v)
{
    unsigned long long n = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (n > (ULLONG_MAX - d) / 10)
            return false;               /* past 64 bits */
        n = n * 10 + d;
    }
    *v = n;
    return true;
}

/* A flag's value: 1/true or 0/false.  Returns 0, or -1 for anything else. */
static int parse_flag(const char *val, long vn, bool *out)
{
    if (vn >= 0 && (strcmp(val, "1") == 0 || strcmp(val, "true") == 0))
        *out = true;
    else if (vn >= 0 && (strcmp(val, "0") == 0 || strcmp(val, "false") == 0))
        *out = false;
    else
        return -1;
    return 0;
}

/* Calls fn(ctx, key, value, value length or -1 if it cannot be decoded) for
 * each key=value of a query string (NULL allowed; %XX and '+' decoded; keys
 * that cannot be decoded skipped).  Stops at fn's first -1 and returns it. */
static int each_param(const char *qs, int (*fn)(void *ctx, const char *key, const char *val,
                                                long vn, const char **err),
                      void *ctx, const char **err)
{
    while (qs && *qs) {
        size_t plen = strcspn(qs, "&");
        size_t klen = strcspn(qs, "=&");
        char key[32], val[QUERY_VALUE_MAX + 1];
        const char *v = klen < plen ? qs + klen + 1 : qs + plen;
        size_t vlen = (size_t)(qs + plen - v);
        if (percent_decode(qs, klen, true, key, sizeof key) > 0 &&
            fn(ctx, key, val, percent_decode(v, vlen, true, val, sizeof val), err) < 0)
            return -1;
        qs += plen;
        if (*qs == '&')
            qs++;
    }
    return 0;
}

static int stream_param(void *ctx, const char *key, const char *val, long vn, const char **err)
{
    struct stream_query *q = ctx;
    if (strcmp(key, "ack") == 0) {
        if (parse_flag(val, vn, &q->ack) < 0) {
            *err = "ack must be 1, 0, true or false";
            return -1;
        }
    } else if (strcmp(key, "monitor") == 0) {
        if (parse_flag(val, vn, &q->monitor) < 0) {
            *err = "monitor must be 1, 0, true or false";
            return -1;
        }
    } else if (strcmp(key, "client") == 0) {
        if (vn < 0 || !routes_valid_name(val, (size_t)vn)) {
            *err = "client must be 1-64 characters of A-Z a-z 0-9 . _ -";
            return -1;
        }
        memcpy(q->client, val, (size_t)vn + 1);
    } else if (strcmp(key, "lastEventId") == 0) {
        if (vn < 0 || !routes_decimal(val, &q->last_event_id)) {
            *err = "lastEventId must be a decimal event id";
            return -1;
        }
        q->has_last_event_id = true;
    }
    return 0;
}

int routes_stream_query(const char *qs, struct stream_query *q, const char **err)
{
    memset(q, 0, sizeof *q);
    return each_param(qs, stream_param, q, err);
}

static int stats_param(void *ctx, const char *key, const char *val, long vn, const char **err)
{
    struct stats_query *q = ctx;
    unsigned long long n;
    if (strcmp(key, "summary") == 0) {
        if (parse_flag(val, vn, &q->summary) < 0) {
            *err = "summary must be 1, 0, true or false";
            return -1;
        }
    } else if (strcmp(key, "limit") == 0) {
        if (vn < 0 || !routes_decimal(val, &n) || n < 1 || n > STATS_PAGE_MAX) {
            *err = "limit must be a number from 1 to 1000";
            return -1;
        }
        q->limit = (size_t)n;
        q->paged = true;
    } else if (strcmp(key, "offset") == 0) {
        if (vn < 0 || !routes_decimal(val, &n) || n > SIZE_MAX / 2) {
            *err = "offset must be a number of at least 0";
            return -1;
        }
        q->offset = (size_t)n;
        q->paged = true;
    } else if (strcmp(key, "type") == 0) {
        if (vn >= 0 && strcmp(val, "admin") == 0)
            q->type = CONN_ADMIN;
        else if (vn >= 0 && strcmp(val, "display") == 0)
            q->type = CONN_DISPLAY;
        else {
            *err = "type must be admin or display";
            return -1;
        }
        q->paged = true;
    } else if (strcmp(key, "state") == 0) {
        if (vn >= 0 && strcmp(val, "live") == 0)
            q->state = 0;
        else if (vn >= 0 && strcmp(val, "stale") == 0)
            q->state = 1;
        else {
            *err = "state must be live or stale";
            return -1;
        }
        q->paged = true;
    } else if (strcmp(key, "q") == 0) {
        if (vn < 0 || vn > STATS_TEXT_MAX) {
            *err = "q must be at most 128 characters (and no NUL)";
            return -1;
        }
        memcpy(q->text, val, (size_t)vn + 1);
        q->paged = true;
    }
    return 0;
}

int routes_stats_query(const char *qs, struct stats_query *q, const char **err)
{
    memset(q, 0, sizeof *q);
    q->type = q->state = -1;
    q->limit = STATS_PAGE_DEFAULT;
    return each_param(qs, stats_param, q, err);
}

long routes_query_value(const char *qs, const char *name, char *out, size_t cap)
{
    long found = ROUTES_QUERY_ABSENT;
    size_t nlen = strlen(name);
    char key[32];
    if (cap)
        out[0] = '\0';
    while (qs && *qs) {
        size_t plen = strcspn(qs, "&");
        size_t klen = strcspn(qs, "=&");
        const char *v = klen < plen ? qs + klen + 1 : qs + plen;
        if (percent_decode(qs, klen, true, key, sizeof key) == (long)nlen && memcmp(key, name, nlen) == 0) {
            found = percent_decode(v, (size_t)(qs + plen - v), true, out, cap);
            if (found < 0) {
                found = ROUTES_QUERY_BAD;
                if (cap)
                    out[0] = '\0';
            }
        }
        qs += plen;
        if (*qs == '&')
            qs++;
    }
    return found;
}
