/* fuzz_body.h -- the part every request-body target shares: the body as the
 * handler gets it, through body_parse, with what that promises
 * checked.  A route's target (fuzz_body_<route>.c) then hands the object to
 * its body_<route> and checks that function's promises. */
#ifndef SSE_FUZZ_BODY_H
#define SSE_FUZZ_BODY_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "body.h"
#include "routes.h"

/* routes.h: "nesting at most 32 deep", with json-c's way of counting (see
 * fuzz_json_depth). */
#define FUZZ_BODY_MAX_DEPTH 32

/* How deep o goes, counted as json-c counts against its limit: every value
 * on the way down is a level, the innermost scalar too ({"a":1} is 2,
 * {"a":[]} is 2, {} is 1). */
static inline int fuzz_json_depth(struct json_object *o)
{
    int max = 0;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v) {
            (void)k;
            int d = fuzz_json_depth(v);         /* NULL is JSON null: 1 */
            if (d > max)
                max = d;
        }
    } else if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++) {
            int d = fuzz_json_depth(json_object_array_get_idx(o, i));
            if (d > max)
                max = d;
        }
    }
    return max + 1;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF. */
static inline bool fuzz_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t more;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            more = 1, min = 0x80, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2, min = 0x800, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += more + 1;
    }
    return true;
}

static inline bool fuzz_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 8259 JSON, written out again: a recursive descent over the bytes
 * (UTF-8 is checked apart), with the API's two further rules: a \u escape
 * of a surrogate comes as a high one followed by a low one, never alone,
 * and no object has a key twice (compared as decoded).  Returns the end of
 * the value at s, or NULL; *depth gets the depth as fuzz_json_depth counts
 * it. */
static const char *fuzz_rfc_value(const char *s, const char *end, int level, int *depth);

static inline const char *fuzz_rfc_ws(const char *s, const char *end)
{
    while (s < end && fuzz_is_space(*s))
        s++;
    return s;
}

/* The four hex digits at s as a number, or -1. */
static inline long fuzz_hex4(const char *s, const char *end)
{
    long v = 0;
    for (int i = 0; i < 4; i++, s++) {
        if (s == end || !*s || !strchr("0123456789abcdefABCDEF", *s))
            return -1;
        v = v * 16 + (*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
    }
    return v;
}

/* A string at s; with out, its decoded bytes go to *out (malloc'd, caller
 * frees) and their count to *outlen. */
static inline const char *fuzz_rfc_string(const char *s, const char *end, char **out,
                                          size_t *outlen)
{
    size_t n = 0;
    char *d = NULL;
    if (out) {
        d = malloc((size_t)(end - s) * 2 + 1);
        if (!d)
            abort();
    }
    if (s == end || *s++ != '"')
        goto bad;
    while (s < end) {
        unsigned char c = (unsigned char)*s++;
        if (c == '"') {
            if (out) {
                *out = d;
                *outlen = n;
            }
            return s;
        }
        if (c < 0x20)
            goto bad;
        if (c != '\\') {
            if (d)
                d[n++] = (char)c;
            continue;
        }
        if (s == end)
            goto bad;
        c = (unsigned char)*s++;
        if (c == 'u') {
            long u = fuzz_hex4(s, end);
            if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
                goto bad;
            s += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                long lo = end - s >= 6 && s[0] == '\\' && s[1] == 'u' ? fuzz_hex4(s + 2, end) : -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    goto bad;
                s += 6;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (d) {                        /* as UTF-8 (compared, never printed) */
                if (u < 0x80) {
                    d[n++] = (char)u;
                } else if (u < 0x800) {
                    d[n++] = (char)(0xc0 | (u >> 6));
                    d[n++] = (char)(0x80 | (u & 0x3f));
                } else if (u < 0x10000) {
                    d[n++] = (char)(0xe0 | (u >> 12));
                    d[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
                    d[n++] = (char)(0x80 | (u & 0x3f));
                } else {
                    d[n++] = (char)(0xf0 | (u >> 18));
                    d[n++] = (char)(0x80 | ((u >> 12) & 0x3f));
                    d[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
                    d[n++] = (char)(0x80 | (u & 0x3f));
                }
            }
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            goto bad;
        } else if (d) {
            d[n++] = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r'
                   : c == 't' ? '\t' : (char)c;
        }
    }
bad:
    free(d);
    return NULL;
}

static inline const char *fuzz_rfc_number(const char *s, const char *end)
{
#define DIGIT(p) ((p) < end && *(p) >= '0' && *(p) <= '9')
    if (s < end && *s == '-')
        s++;
    if (s < end && *s == '0')
        s++;
    else if (DIGIT(s))
        while (DIGIT(s))
            s++;
    else
        return NULL;
    if (s < end && *s == '.') {
        s++;
        if (!DIGIT(s))
            return NULL;
        while (DIGIT(s))
            s++;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-'))
            s++;
        if (!DIGIT(s))
            return NULL;
        while (DIGIT(s))
            s++;
    }
    return s;
#undef DIGIT
}

static const char *fuzz_rfc_value(const char *s, const char *end, int level, int *depth)
{
    s = fuzz_rfc_ws(s, end);
    if (s == end)
        return NULL;
    if (level + 1 > *depth)
        *depth = level + 1;             /* as fuzz_json_depth counts */
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        bool obj = *s == '{';
        if (level > 1000)
            return NULL;                /* deeper than anyone accepts */
        s = fuzz_rfc_ws(s + 1, end);
        if (s < end && *s == close)
            return s + 1;
        char **keys = NULL;             /* this object's keys so far */
        size_t *lens = NULL, nkeys = 0;
        const char *ret = NULL;
        for (;;) {
            if (obj) {
                char *k;
                size_t klen;
                s = fuzz_rfc_string(fuzz_rfc_ws(s, end), end, &k, &klen);
                if (!s)
                    break;
                for (size_t i = 0; i < nkeys && s; i++)
                    if (lens[i] == klen && memcmp(keys[i], k, klen) == 0)
                        s = NULL;       /* a key twice */
                keys = realloc(keys, (nkeys + 1) * sizeof *keys);
                lens = realloc(lens, (nkeys + 1) * sizeof *lens);
                if (!keys || !lens)
                    abort();
                keys[nkeys] = k;
                lens[nkeys++] = klen;
                if (!s)
                    break;
                s = fuzz_rfc_ws(s, end);
                if (s == end || *s++ != ':')
                    break;
            }
            s = fuzz_rfc_value(s, end, level + 1, depth);
            if (!s)
                break;
            s = fuzz_rfc_ws(s, end);
            if (s == end)
                break;
            if (*s == close) {
                ret = s + 1;
                break;
            }
            if (*s++ != ',')
                break;
        }
        for (size_t i = 0; i < nkeys; i++)
            free(keys[i]);
        free(keys);
        free(lens);
        return ret;
    }
    if (*s == '"')
        return fuzz_rfc_string(s, end, NULL, NULL);
    if (*s == '-' || (*s >= '0' && *s <= '9'))
        return fuzz_rfc_number(s, end);
    static const char *const words[] = { "true", "false", "null" };
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(end - s) >= n && memcmp(s, words[i], n) == 0)
            return s + n;
    }
    return NULL;
}

/* True if needle occurs in the len bytes of buf. */
static inline bool fuzz_find(const char *buf, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, needle, n) == 0)
            return true;
    return false;
}

/* True if buf is one JSON object (RFC 8259) with blanks around it;
 * *depth gets its nesting. */
static inline bool fuzz_rfc_object(const char *buf, size_t len, int *depth)
{
    const char *end = buf + len, *s = fuzz_rfc_ws(buf, end);
    *depth = 0;
    if (s == end || *s != '{')
        return false;
    s = fuzz_rfc_value(s, end, 0, depth);
    return s && fuzz_rfc_ws(s, end) == end;
}

/* body_parse over the input, in an exact-size copy.  Returns the
 * object (caller puts it) or NULL, after checking:
 *   - NULL comes with a message for the 400, an object with *err untouched;
 *   - an empty or blank body, or one with a NUL byte, is refused;
 *   - what is accepted is a JSON object, valid UTF-8, at most 32 deep, and
 *     survives a round trip: serialised (as the handlers forward it) it is
 *     JSON again and parses back to an equal object;
 *   - a JSON object in valid UTF-8, at most 32 deep, is accepted. */
static inline struct json_object *fuzz_body_parse(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    const char *err = NULL;
    struct json_object *root = body_parse(buf, size, &err);

    bool blank = true;
    for (size_t i = 0; i < size && blank; i++)
        blank = fuzz_is_space(buf[i]);
    int depth;
    bool json = fuzz_rfc_object(buf, size, &depth);
    bool utf8 = fuzz_utf8_valid((const unsigned char *)buf, size);
    bool nul = memchr(buf, '\0', size) != NULL;
    /* A string holding \u0000 is refused too (C strings would cut it short);
     * any "\u0000" in the text may be one. */
    bool escaped_nul = fuzz_find(buf, size, "\\u0000");
    if (!root) {
        FUZZ_CHECK(err && *err);
        FUZZ_CHECK(!(json && utf8 && !nul && !escaped_nul && depth <= FUZZ_BODY_MAX_DEPTH));
        free(buf);
        return NULL;
    }
    FUZZ_CHECK(err == NULL);
    FUZZ_CHECK(!blank);
    FUZZ_CHECK(!nul);
    FUZZ_CHECK(json_object_is_type(root, json_type_object));
    FUZZ_CHECK(fuzz_json_depth(root) <= FUZZ_BODY_MAX_DEPTH);
    /* json-c 0.16's JSON_TOKENER_VALIDATE_UTF8 checks only the byte pattern
     * and JSON_TOKENER_STRICT takes NaN, Infinity and "1."; routes.c checks
     * both itself. */
    FUZZ_CHECK(utf8);
    FUZZ_CHECK(json);

    size_t tlen;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &tlen);
    FUZZ_CHECK(text != NULL);
    if (json) {
        int d2;
        FUZZ_CHECK(fuzz_rfc_object(text, tlen, &d2));
        const char *err2 = NULL;
        struct json_object *again = body_parse(text, tlen, &err2);
        FUZZ_CHECK(again != NULL);
        FUZZ_CHECK(json_object_equal(root, again));
        json_object_put(again);
    }
    free(buf);
    return root;
}

/* What opt_string-style lookups see: 0 absent or null, 1 a string (in *s),
 * -1 anything else.  The reference the route checks compare against. */
static inline int fuzz_json_string(struct json_object *root, const char *key, const char **s)
{
    struct json_object *v;
    *s = NULL;
    if (!json_object_object_get_ex(root, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return -1;
    *s = json_object_get_string(v);
    return 1;
}

#endif
