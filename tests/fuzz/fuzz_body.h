/* fuzz_body.h -- the part every request-body target shares: the body as the
 * handler gets it, through routes_parse_body, with what that promises
 * checked.  A route's target (fuzz_body_<route>.c) then hands the object to
 * its routes_<route>_body and checks that function's promises. */
#ifndef SSE_FUZZ_BODY_H
#define SSE_FUZZ_BODY_H

#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "routes.h"

#define FUZZ_BODY_MAX_DEPTH 32          /* routes.h: "nesting at most 32 deep" */

/* Containers nested in o, o included; 0 for a scalar. */
static inline int fuzz_json_depth(struct json_object *o)
{
    int max = 0;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v) {
            (void)k;
            int d = v ? fuzz_json_depth(v) : 0;
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++) {
            struct json_object *v = json_object_array_get_idx(o, i);
            int d = v ? fuzz_json_depth(v) : 0;
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
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

/* routes_parse_body over the input, in an exact-size copy.  Returns the
 * object (caller puts it) or NULL, after checking:
 *   - NULL comes with a message for the 400, an object with *err untouched;
 *   - an empty or blank body, or one with a NUL byte, is refused;
 *   - what is accepted is a JSON object, valid UTF-8, at most 32 deep, and
 *     survives a round trip: serialised and parsed again it is equal. */
static inline struct json_object *fuzz_body_parse(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    const char *err = NULL;
    struct json_object *root = routes_parse_body(buf, size, &err);

    bool blank = true;
    for (size_t i = 0; i < size && blank; i++)
        blank = fuzz_is_space(buf[i]);
    if (!root) {
        FUZZ_CHECK(err && *err);
        free(buf);
        return NULL;
    }
    FUZZ_CHECK(err == NULL);
    FUZZ_CHECK(!blank);
    FUZZ_CHECK(!memchr(buf, '\0', size));
    FUZZ_CHECK(json_object_is_type(root, json_type_object));
    /* json-c 0.16's JSON_TOKENER_VALIDATE_UTF8 checks only the byte pattern:
     * it takes overlong forms, surrogates and code points past U+10FFFF. */
    FUZZ_KNOWN(fuzz_utf8_valid((const unsigned char *)buf, size),
               "routes_parse_body accepts invalid UTF-8");
    FUZZ_CHECK(fuzz_json_depth(root) <= FUZZ_BODY_MAX_DEPTH);

    size_t tlen;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &tlen);
    FUZZ_CHECK(text != NULL);
    const char *err2 = NULL;
    struct json_object *again = routes_parse_body(text, tlen, &err2);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(json_object_equal(root, again));
    json_object_put(again);
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
