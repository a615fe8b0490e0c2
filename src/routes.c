/* routes.c -- route matching and request-body parsing (pure). */
#include "autoconf.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "routes.h"

#define BODY_MAX_DEPTH 32

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

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
                int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
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

/* Decodes a query component (%XX, '+') of len bytes into out (cap bytes
 * with NUL).  Returns the decoded length, or -1 if it does not fit, has a
 * bad escape or decodes to a NUL. */
static long query_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
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

int routes_stream_query(const char *qs, struct stream_query *q, const char **err)
{
    memset(q, 0, sizeof *q);
    if (!qs)
        return 0;
    while (*qs) {
        size_t plen = strcspn(qs, "&");
        size_t klen = strcspn(qs, "=&");
        char key[32], val[NAME_MAX_LEN * 3 + 1];
        const char *v = klen < plen ? qs + klen + 1 : qs + plen;
        size_t vlen = (size_t)(qs + plen - v);
        long kn = query_decode(qs, klen, key, sizeof key);
        if (kn > 0) {
            long vn = query_decode(v, vlen, val, sizeof val);
            if (strcmp(key, "ack") == 0) {
                if (vn >= 0 && (strcmp(val, "1") == 0 || strcmp(val, "true") == 0))
                    q->ack = true;
                else if (vn >= 0 && (strcmp(val, "0") == 0 || strcmp(val, "false") == 0))
                    q->ack = false;
                else {
                    *err = "ack must be 1, 0, true or false";
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
        }
        qs += plen;
        if (*qs == '&')
            qs++;
    }
    return 0;
}

bool routes_json_content_type(const char *ct)
{
    if (!ct || !*ct)
        return true;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; \t");
    return (n == 16 && strncasecmp(ct, "application/json", n) == 0) ||
           (n == 10 && strncasecmp(ct, "text/plain", n) == 0);
}

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

struct json_object *routes_parse_body(const char *buf, size_t len, const char **err)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i == len) {
        *err = "Request body is empty";
        return NULL;
    }
    if (memchr(buf, '\0', len)) {
        *err = "Request body contains a NUL byte";
        return NULL;
    }
    if ((*err = scan_body((const unsigned char *)buf, len)))
        return NULL;
    struct json_tokener *tok = json_tokener_new_ex(BODY_MAX_DEPTH);
    if (!tok) {
        *err = "Out of memory";
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
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
    if (!json_object_is_type(root, json_type_object)) {
        *err = "Request body must be a JSON object";
        json_object_put(root);
        return NULL;
    }
    if ((*err = check_values(root))) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* Looks up key; returns 0 with *out NULL if absent or null, 0 with the
 * string if it is one, -1 if it is anything else. */
static int opt_string(struct json_object *root, const char *key, const char **out)
{
    struct json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(root, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return -1;
    *out = json_object_get_string(v);
    return 0;
}

/* An optional string field that must also be a valid name. */
static int opt_name(struct json_object *root, const char *key, const char **out)
{
    if (opt_string(root, key, out) < 0)
        return -1;
    if (*out && !routes_valid_name(*out, strlen(*out)))
        return -1;
    return 0;
}

int routes_disconnect_body(struct json_object *root, const char **id, const char **err)
{
    struct json_object *v;
    if (!json_object_object_get_ex(root, "connection_id", &v) || !v) {
        *err = "connection_id is required";
        return -1;
    }
    if (!json_object_is_type(v, json_type_string)) {
        *err = "connection_id must be a string";
        return -1;
    }
    if (json_object_get_string_len(v) == 0) {
        *err = "connection_id must not be empty";
        return -1;
    }
    *id = json_object_get_string(v);
    return 0;
}

int routes_ack_body(struct json_object *root, const char **id, unsigned long long *seq,
                    const char **err)
{
    if (routes_disconnect_body(root, id, err) < 0)
        return -1;
    struct json_object *v;
    if (!json_object_object_get_ex(root, "seq", &v) || !json_object_is_type(v, json_type_int)) {
        *err = "seq must be an integer of at least 1";
        return -1;
    }
    int64_t n = json_object_get_int64(v);      /* saturates: INT64_MAX is "too big" */
    if (n < 1 || n == INT64_MAX) {
        *err = "seq must be an integer of at least 1";
        return -1;
    }
    *seq = (unsigned long long)n;
    return 0;
}

int routes_test_body(struct json_object *root, struct test_request *t, const char **err)
{
    if (opt_name(root, "type", &t->type) < 0) {
        *err = "type must be 1-64 characters of A-Z a-z 0-9 . _ -";
        return -1;
    }
    if (!t->type)
        t->type = "test_event";
    if (opt_string(root, "message", &t->message) < 0) {
        *err = "message must be a string";
        return -1;
    }
    if (t->message && strlen(t->message) > MESSAGE_MAX_LEN) {
        *err = "message is longer than 1024 bytes";
        return -1;
    }
    return 0;
}

int routes_publish_body(struct json_object *root, struct publish_request *p, const char **err)
{
    const char *target;
    memset(p, 0, sizeof *p);
    if (opt_name(root, "event", &p->event) < 0 || !p->event) {
        *err = "event is required: 1-64 characters of A-Z a-z 0-9 . _ -";
        return -1;
    }
    json_object_object_get_ex(root, "data", &p->data);
    if (opt_string(root, "target", &target) < 0) {
        *err = "target must be \"admin\", \"display\" or \"all\"";
        return -1;
    }
    if (!target || strcmp(target, "all") == 0) {
        p->target = -1;
    } else if (strcmp(target, "admin") == 0) {
        p->target = CONN_ADMIN;
    } else if (strcmp(target, "display") == 0) {
        p->target = CONN_DISPLAY;
    } else {
        *err = "target must be \"admin\", \"display\" or \"all\"";
        return -1;
    }
    if (opt_name(root, "display", &p->display) < 0) {
        *err = "display must be 1-64 characters of A-Z a-z 0-9 . _ -";
        return -1;
    }
    if (opt_string(root, "user", &p->user) < 0 || (p->user && !*p->user)) {
        *err = "user must be a non-empty string";
        return -1;
    }
    if (p->display && p->target == CONN_ADMIN) {
        *err = "display cannot be combined with target \"admin\"";
        return -1;
    }
    if (p->user && p->target == CONN_DISPLAY) {
        *err = "user cannot be combined with target \"display\"";
        return -1;
    }
    if (p->display && p->user) {
        *err = "give display or user, not both";
        return -1;
    }
    return 0;
}
