/* json_strict.c -- strict JSON (see json_strict.h). */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "json_strict.h"

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Skips a number at p[*i] as RFC 8259 spells it (json-c also takes "-01",
 * "1." and more, and writes them back as they came).  Returns false if it
 * is not one. */
static bool scan_number(const unsigned char *p, size_t len, size_t *i)
{
    size_t k = *i;
    if (k < len && p[k] == '-')
        k++;
    if (k < len && p[k] == '0')
        k++;
    else if (k < len && p[k] >= '1' && p[k] <= '9')
        while (k < len && is_digit(p[k]))
            k++;
    else
        return false;
    if (k < len && p[k] == '.') {
        if (++k >= len || !is_digit(p[k]))
            return false;
        while (k < len && is_digit(p[k]))
            k++;
    }
    if (k < len && (p[k] == 'e' || p[k] == 'E')) {
        k++;
        if (k < len && (p[k] == '+' || p[k] == '-'))
            k++;
        if (k >= len || !is_digit(p[k]))
            return false;
        while (k < len && is_digit(p[k]))
            k++;
    }
    if (k < len && (is_digit(p[k]) || p[k] == '.' || ((p[k] | 0x20) >= 'a' && (p[k] | 0x20) <= 'z')))
        return false;                       /* "01", "1.2.3", "1e", "1x" */
    *i = k - 1;
    return true;
}

/* Skips one UTF-8 sequence at p[*i] (c = p[*i] >= 0x80), RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF. */
static bool scan_utf8(const unsigned char *p, size_t len, size_t *i)
{
    unsigned char c = p[*i];
    size_t n;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        n = 1, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3, cp = c & 0x07, min = 0x10000;
    else
        return false;
    if (*i + n >= len)
        return false;
    for (size_t k = 1; k <= n; k++) {
        if ((p[*i + k] & 0xc0) != 0x80)
            return false;
        cp = (cp << 6) | (p[*i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    *i += n;
    return true;
}

/* Checks what json-c lets through: bytes that are not UTF-8, raw control
 * characters in strings, numbers JSON does not have, bare words other than
 * true, false and null (NaN, Infinity), and outside strings any byte JSON
 * does not have there (json-c takes single-quoted keys: {'a':1}).  The
 * structure is json-c's to judge.  Returns NULL or the reason. */
static const char *scan_body(const unsigned char *p, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            if (!scan_utf8(p, len, &i))
                return "Malformed JSON: invalid UTF-8";
            if (!in_string)
                return "Malformed JSON";
        } else if (in_string) {
            if (c < 0x20)
                return "Malformed JSON: control character in a string";
            if (c == '\\')
                i++;                        /* an escape: the next byte is ASCII */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '-' || is_digit(c)) {
            if (!scan_number(p, len, &i))
                return "Malformed JSON: not a JSON number";
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            size_t k = i;
            while (k < len && (((p[k] | 0x20) >= 'a' && (p[k] | 0x20) <= 'z')))
                k++;
            size_t n = k - i;
            if (!((n == 4 && memcmp(p + i, "true", 4) == 0) ||
                  (n == 5 && memcmp(p + i, "false", 5) == 0) ||
                  (n == 4 && memcmp(p + i, "null", 4) == 0)))
                return "Malformed JSON";
            i = k - 1;
        } else if (!memchr("{}[]:, \t\r\n", c, 10)) {
            return "Malformed JSON";
        }
    }
    return NULL;
}

/* Rejects strings holding \u0000, which C strings would cut short (a
 * token or name would be checked short of what was sent).  Returns NULL or
 * the reason. */
static const char *check_values(struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_string:
        if ((size_t)json_object_get_string_len(o) != strlen(json_object_get_string(o)))
            return "Malformed JSON: a string holds \\u0000";
        return NULL;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            const char *e = check_values(json_object_array_get_idx(o, i));
            if (e)
                return e;
        }
        return NULL;
    case json_type_object: {
        json_object_object_foreach(o, key, val) {
            (void)key;
            const char *e = check_values(val);
            if (e)
                return e;
        }
        return NULL;
    }
    default:
        return NULL;
    }
}

struct json_object *json_strict_parse(const char *buf, size_t len, int max_depth,
                                      const char **err)
{
    if ((*err = scan_body((const unsigned char *)buf, len)))
        return NULL;
    struct json_tokener *tok = json_tokener_new_ex(max_depth);
    if (!tok) {
        *err = "Out of memory";
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue && !root) {
        /* A number at the very end waits for what follows it: the end is
         * what follows. */
        root = json_tokener_parse_ex(tok, "", 1);
        if (json_tokener_get_error(tok) == json_tokener_success && root) {
            jerr = json_tokener_success;
            used = len;
        }
    }
    json_tokener_free(tok);
    if (jerr == json_tokener_continue) {
        *err = "Malformed JSON: unexpected end of body";
        json_object_put(root);
        return NULL;
    }
    if (jerr != json_tokener_success || !root) {
        *err = jerr == json_tokener_error_depth ? "Malformed JSON: nested too deeply"
             : jerr == json_tokener_error_parse_utf8_string ? "Malformed JSON: invalid UTF-8"
             : "Malformed JSON";
        json_object_put(root);
        return NULL;
    }
    for (; used < len; used++) {
        char c = buf[used];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            *err = "Malformed JSON: trailing data after the object";
            json_object_put(root);
            return NULL;
        }
    }
    if ((*err = check_values(root))) {
        json_object_put(root);
        return NULL;
    }
    return root;
}
