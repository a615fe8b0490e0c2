/* fuzz_routes.c -- route matching: routes_path over the FastCGI params as
 * nginx and lighttpd send them, routes_match, routes_valid_name and
 * body_content_type_ok.
 *
 * Input: three control bytes, then NUL-separated fields
 *     split  encode  cap | prefix \0 path \0 query \0 content-type
 *                          \0 DOCUMENT_URI \0 SCRIPT_NAME \0 PATH_INFO \0 REQUEST_URI
 * (missing fields are empty).  Checked:
 *   1. the raw params: routes_path equals a reference written from its
 *      comment in routes.h, within a buffer of exactly cap bytes (cap from
 *      the third byte: 0-63, or ROUTE_PATH_MAX; 0 only with FUZZ_STRICT=1
 *      while the finding below is open);
 *   2. one logical path sent the three ways a server can send it -- nginx
 *      (DOCUMENT_URI, decoded), lighttpd (SCRIPT_NAME + PATH_INFO split at
 *      the first byte), REQUEST_URI only (%-encoded where the second byte's
 *      bits say, with the query string) -- gives the same path and the same
 *      route, as docs/api.md requires;
 *   3. routes_match equals a reference of the route table under the prefix;
 *   4. the Content-Type check ignores parameters and letter case. */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "body.h"
#include "routes.h"

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* routes.h, written out again: the path or NULL, in out (at least cap bytes). */
static const char *ref_path(const char *d, const char *s, const char *pi, const char *r,
                            size_t cap, char *out)
{
    if (d && *d) {
        size_t n = strlen(d);
        return n < cap ? memcpy(out, d, n + 1) : NULL;
    }
    if (s && *s) {
        size_t n = strlen(s) + (pi ? strlen(pi) : 0);
        if (n >= cap)
            return NULL;
        strcpy(out, s);
        strcat(out, pi ? pi : "");
        return out;
    }
    if (!r || !*r)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; r[i] && r[i] != '?' && r[i] != '#'; i++) {
        int c = (unsigned char)r[i];
        if (c == '%') {
            int hi = hexval(r[i + 1]), lo = hi < 0 ? -1 : hexval(r[i + 2]);
            if (hi < 0 || lo < 0 || hi * 16 + lo == 0)
                return NULL;
            c = hi * 16 + lo;
            i += 2;
        }
        if (o + 1 >= cap)
            return NULL;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return o ? out : NULL;
}

/* The route table of docs/api.md, written out
 * again.  A route added to src/routes.c goes here too: this target reports
 * the difference within seconds. */
static void ref_match(const char *prefix, const char *path, struct route *r)
{
    static const struct {
        const char *path;
        enum route_id id;
        const char *method;
        bool admin;
    } fixed[] = {
        { "/admin", ROUTE_ADMIN_STREAM, "GET", true },
        { "/disconnect", ROUTE_DISCONNECT, "POST", false },
        { "/stats", ROUTE_STATS, "GET", true },
        { "/test", ROUTE_TEST, "POST", true },
        { "/publish", ROUTE_PUBLISH, "POST", true },
        { "/ack", ROUTE_ACK, "POST", false },
        { "/closed", ROUTE_CLOSED, "GET", true },
        { "/metrics", ROUTE_METRICS, "GET", true },
        { "/health", ROUTE_HEALTH, "GET", false },
    }, named[] = {                      /* then a name: display, public id */
        { "/display/", ROUTE_DISPLAY_STREAM, "GET", false },
        { "/connections/", ROUTE_CONNECTION, "DELETE", true },
    };
    memset(r, 0, sizeof *r);
    size_t pl = strlen(prefix);
    if (strncmp(path, prefix, pl) != 0)
        return;
    const char *rest = path + pl;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(rest, fixed[i].path) == 0) {
            r->id = fixed[i].id;
            r->allow = fixed[i].method;
            r->admin = fixed[i].admin;
            return;
        }
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t k = strlen(named[i].path);
        if (strncmp(rest, named[i].path, k) != 0)
            continue;
        const char *name = rest + k;
        size_t n = strlen(name);
        bool ok = n >= 1 && n <= NAME_MAX_LEN &&
                  strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789._-") == n;
        r->id = named[i].id;
        r->allow = named[i].method;
        r->admin = named[i].admin;
        r->bad_name = !ok;
        if (ok)
            memcpy(r->name, name, n + 1);
        return;
    }
}

static bool same_route(const struct route *a, const struct route *b)
{
    return a->id == b->id && a->admin == b->admin && a->bad_name == b->bad_name &&
           (a->allow && b->allow ? strcmp(a->allow, b->allow) == 0 : a->allow == b->allow) &&
           strcmp(a->name, b->name) == 0;
}

static void check_match(const char *prefix, const char *path, struct route *r)
{
    struct route want;
    memset(r, 0x5a, sizeof *r);         /* every field must be written */
    routes_match(prefix, path, r);
    FUZZ_CHECK(memchr(r->name, 0, sizeof r->name) != NULL);
    ref_match(prefix, path, &want);
    FUZZ_CHECK(same_route(r, &want));
    FUZZ_CHECK((r->id == ROUTE_NOT_FOUND) == (r->allow == NULL));
}

/* routes_path into a buffer of exactly cap bytes that ends where its heap
 * block ends, so ASan sees a write past it -- for cap 0 too, where malloc(0)
 * would not do (ASan lets a write into malloc(0) pass).  *base is the
 * block, for free(). */
static const char *path_in(const char *d, const char *s, const char *pi, const char *r,
                           size_t cap, char **base)
{
    *base = malloc(cap + 1);
    if (!*base)
        abort();
    char *buf = *base + 1;
    const char *p = routes_path(d, s, pi, r, buf, cap);
    FUZZ_CHECK(p == NULL || p == buf);
    if (p)
        FUZZ_CHECK(memchr(p, '\0', cap) != NULL);
    return p;
}

static const char *nonempty(const char *s)
{
    return *s ? s : NULL;
}

FUZZ_TARGET(routes)
{
    if (size < 3)
        return 0;
    unsigned split = data[0], encode = data[1], capsel = data[2];
    struct fuzz_input in = { data + 3, size - 3 };
    char *f[8];
    size_t len[8];
    for (int i = 0; i < 8; i++) {
        f[i] = fuzz_field(&in, &len[i]);
        if (!f[i]) {
            f[i] = strdup("");
            len[i] = 0;
        }
    }
    const char *prefix = f[0], *path = f[1], *query = f[2], *ctype = f[3];
    char *ref = malloc(ROUTE_PATH_MAX + 1);
    char *buf;
    struct route r, r2;

    /* 1. raw params, empty ones absent or present-but-empty by the cap byte */
    size_t cap = capsel & 0x80 ? ROUTE_PATH_MAX : capsel & 0x3f;
    bool absent = capsel & 0x40;
    const char *d = absent ? nonempty(f[4]) : f[4], *s = absent ? nonempty(f[5]) : f[5],
               *pi = absent ? nonempty(f[6]) : f[6], *ru = absent ? nonempty(f[7]) : f[7];
    const char *got = path_in(d, s, pi, ru, cap, &buf);
    const char *want = ref_path(d, s, pi, ru, cap, ref);
    FUZZ_CHECK((got == NULL) == (want == NULL));
    if (got) {
        FUZZ_CHECK(strcmp(got, want) == 0);
        check_match(prefix, got, &r);
    }
    free(buf);

    /* 2. one path, three servers */
    size_t plen = len[1];
    if (plen > 0) {
        char *uri = malloc(plen * 3 + len[2] + 2);
        size_t o = 0;
        for (size_t i = 0; i < plen; i++) {
            unsigned char c = (unsigned char)path[i];
            if (c == '%' || c == '?' || c == '#' || (encode >> (i % 7) & 1)) {
                const char *hex = encode & 0x80 ? "0123456789ABCDEF" : "0123456789abcdef";
                uri[o++] = '%';
                uri[o++] = hex[c >> 4];
                uri[o++] = hex[c & 15];
            } else {
                uri[o++] = (char)c;
            }
        }
        if (len[2]) {
            uri[o++] = '?';
            memcpy(uri + o, query, len[2]);
            o += len[2];
        }
        uri[o] = '\0';
        size_t k = split % (plen + 1);
        char *script = strndup(path, k);
        char *b1, *b2, *b3;
        const char *nginx = path_in(path, path, NULL, uri, ROUTE_PATH_MAX, &b1);
        const char *lighttpd = path_in(NULL, script, nonempty(path + k), uri, ROUTE_PATH_MAX, &b2);
        const char *plain = path_in(NULL, NULL, NULL, uri, ROUTE_PATH_MAX, &b3);
        bool fits = plen < ROUTE_PATH_MAX;
        FUZZ_CHECK((nginx != NULL) == fits);
        FUZZ_CHECK((lighttpd != NULL) == fits);
        FUZZ_CHECK((plain != NULL) == fits);
        if (fits) {
            FUZZ_CHECK(strcmp(nginx, path) == 0);
            FUZZ_CHECK(strcmp(lighttpd, path) == 0);
            FUZZ_CHECK(strcmp(plain, path) == 0);
            check_match(prefix, nginx, &r);
            check_match(prefix, lighttpd, &r2);
            FUZZ_CHECK(same_route(&r, &r2));
            check_match(prefix, plain, &r2);
            FUZZ_CHECK(same_route(&r, &r2));
        }
        free(b1);
        free(b2);
        free(b3);
        free(script);
        free(uri);
    }
    check_match(prefix, path, &r);

    /* 3. names: the display name check is the route's */
    FUZZ_CHECK(routes_valid_name(path, plen) ==
               (plen >= 1 && plen <= NAME_MAX_LEN &&
                strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789._-") == plen));

    /* 4. Content-Type: parameters and letter case do not matter */
    bool ct = body_content_type_ok(ctype);
    if (len[3] > 0) {
        char *with = malloc(len[3] + 16);
        strcpy(with, ctype);
        strcat(with, "; charset=utf-8");
        FUZZ_CHECK(body_content_type_ok(with) == ct);
        for (size_t i = 0; i < len[3]; i++)
            with[i] = (char)toupper((unsigned char)ctype[i]);
        with[len[3]] = '\0';
        FUZZ_CHECK(body_content_type_ok(with) == ct);
        free(with);
    }
    if (!ctype[0])
        FUZZ_CHECK(body_content_type_ok(NULL) && ct);

    free(ref);
    for (int i = 0; i < 8; i++)
        free(f[i]);
    return 0;
}
