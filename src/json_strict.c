/* json_strict.c -- strict JSON (see json_strict.h). */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "percent.h"

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


/* The code unit of a \uXXXX escape at p[i] (p[i] == '\\'), or -1 if there
 * is none there. */
static long escape_unit(const unsigned char *p, size_t len, size_t i)
{
    if (i + 5 >= len || p[i] != '\\' || p[i + 1] != 'u')
        return -1;
    long v = 0;
    for (size_t k = i + 2; k < i + 6; k++) {
        int h = hex_value(p[k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Skips the escape at p[*i] (a backslash inside a string).  A \u escape of
 * a surrogate must be a high one followed at once by a low one: json-c
 * turns a lone one into U+FFFD, which a publish would then broadcast as if
 * it had been sent.  Returns false if the escape is not one JSON has. */
static bool scan_escape(const unsigned char *p, size_t len, size_t *i)
{
    if (*i + 1 >= len)
        return false;
    if (p[*i + 1] != 'u') {
        if (!memchr("\"\\/bfnrt", p[*i + 1], 8))
            return false;
        *i += 1;
        return true;
    }
    long u = escape_unit(p, len, *i);
    if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
        return false;                       /* not hex, or a low surrogate alone */
    if (u >= 0xd800 && u <= 0xdbff) {
        long lo = escape_unit(p, len, *i + 6);
        if (lo < 0xdc00 || lo > 0xdfff)
            return false;                   /* a high surrogate without its low one */
        *i += 6;
    }
    *i += 5;
    return true;
}

/* The keys of each object in the order its '{' comes (what the scanner
 * counted, to compare with what json-c kept: fewer means a key came twice). */
struct key_counts {
    size_t *n;
    size_t len, cap;
};

/* Checks what json-c lets through: bytes that are not UTF-8, raw control
 * characters in strings, escapes JSON does not have (lone surrogates
 * among them), numbers JSON does not have, bare words other than true,
 * false and null (NaN, Infinity), and outside strings any byte JSON does
 * not have there (json-c takes single-quoted keys: {'a':1}).  Counts the
 * keys of every object into kc, and refuses containers nested deeper than
 * max_depth.  The structure is json-c's to judge.  Returns NULL or the
 * reason. */
static const char *scan_body(const unsigned char *p, size_t len, int max_depth,
                             struct key_counts *kc)
{
    bool in_string = false, after_string = false;
    size_t stack[64];                       /* open containers: object index + 1, or 0 */
    int depth = 0;
    if (max_depth > (int)(sizeof stack / sizeof *stack))
        max_depth = (int)(sizeof stack / sizeof *stack);
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
            if (c == '\\' && !scan_escape(p, len, &i))
                return "Malformed JSON: invalid escape in a string";
            if (c == '"') {
                in_string = false;
                after_string = true;
            }
            continue;
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
        } else if (c == '{' || c == '[') {
            if (depth >= max_depth)
                return "Malformed JSON: nested too deeply";
            size_t slot = 0;
            if (c == '{') {
                if (kc->len == kc->cap) {
                    size_t cap = kc->cap ? kc->cap * 2 : 16;
                    size_t *v = realloc(kc->n, cap * sizeof *v);
                    if (!v)
                        return "Out of memory";
                    kc->n = v;
                    kc->cap = cap;
                }
                kc->n[kc->len++] = 0;
                slot = kc->len;
            }
            stack[depth++] = slot;
        } else if (c == '}' || c == ']') {
            if (depth > 0)
                depth--;
        } else if (c == ':') {
            if (after_string && depth > 0 && stack[depth - 1])
                kc->n[stack[depth - 1] - 1]++;
        } else if (!memchr(", \t\r\n", c, 5)) {
            return "Malformed JSON";
        }
        if (!memchr(" \t\r\n", c, 4))
            after_string = c == '"' && !in_string;
    }
    return NULL;
}

/* True if some object of o (at any depth) has fewer members than the scanner
 * counted keys for it: json-c keeps the last of a repeated key.  Objects
 * are met in the order of their '{' (json-c keeps members in the order they
 * came, a repeated one where it first was), so the first object that lost
 * a member is found before any whose place that loss shifted. */
static bool lost_keys(struct json_object *o, const struct key_counts *kc, size_t *next)
{
    switch (json_object_get_type(o)) {
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            if (lost_keys(json_object_array_get_idx(o, i), kc, next))
                return true;
        return false;
    case json_type_object: {
        size_t mine = (*next)++;
        if (mine >= kc->len || kc->n[mine] != (size_t)json_object_object_length(o))
            return true;
        json_object_object_foreach(o, key, val) {
            (void)key;
            if (lost_keys(val, kc, next))
                return true;
        }
        return false;
    }
    default:
        return false;
    }
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
    struct key_counts kc = { 0 };
    struct json_object *root = NULL;
    if ((*err = scan_body((const unsigned char *)buf, len, max_depth, &kc)))
        goto fail;
    struct json_tokener *tok = json_tokener_new_ex(max_depth);
    if (!tok) {
        *err = "Out of memory";
        goto fail;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, buf, (int)len);
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
        goto fail;
    }
    if (jerr != json_tokener_success || !root) {
        *err = jerr == json_tokener_error_depth ? "Malformed JSON: nested too deeply"
             : jerr == json_tokener_error_parse_utf8_string ? "Malformed JSON: invalid UTF-8"
             : "Malformed JSON";
        goto fail;
    }
    for (; used < len; used++) {
        char c = buf[used];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            *err = "Malformed JSON: trailing data after the object";
            goto fail;
        }
    }
    if ((*err = check_values(root)))
        goto fail;
    size_t next = 0;
    if (lost_keys(root, &kc, &next)) {
        *err = "Malformed JSON: a key appears twice in one object";
        goto fail;
    }
    free(kc.n);
    return root;
fail:
    free(kc.n);
    json_object_put(root);
    return NULL;
}
